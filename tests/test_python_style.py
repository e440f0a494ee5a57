"""Every Python file of Groundwork passes ruff, with the configuration of pyproject.toml:
the scripts of .ci/, the migrations, the benchmark, the tests and the tools every generated
repository gets. The configuration refuses what it is there to catch (an unused import, an
unsorted import block, a zip that silently drops items, a line over 150 columns), and holds
the generated tools and the migrations, which run on owners' machines, to Python 3.9."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from support.project import ROOT
from support.tools import run_tool

CHECKED = (".ci", "hooks", "bench", "tests", "template/tools")


def ruff(*args: str, source: str | None = None) -> subprocess.CompletedProcess:
    """ruff, from the test dependencies, in the checkout (so it reads pyproject.toml), without
    writing a cache there."""
    if importlib.util.find_spec("ruff") is None:
        pytest.fail(f"ruff is not installed next to {sys.executable}: run python3 .ci/install_tools.py "
                    "(dependency group `test` of pyproject.toml)")
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *args],
                          cwd=ROOT, input=source, capture_output=True, text=True, timeout=120)


def findings(source: str, as_file: str) -> str:
    """What ruff finds in `source` were it the file `as_file` of the checkout ("" for nothing)."""
    result = ruff("--stdin-filename", as_file, "-", source=source)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout if result.returncode else ""


def test_ruff_finds_nothing_in_groundworks_python():
    result = ruff(*CHECKED)
    assert result.returncode == 0, f"ruff check {' '.join(CHECKED)}:\n{result.stdout}{result.stderr}"


def test_ruff_checks_every_python_file_of_the_repository():
    listed = run_tool("git", "ls-files", "*.py", cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    tracked = set(listed.stdout.split())
    assert {"template/tools/try_alerts.py", "hooks/migrate_0_2_0_adr_numbers.py", ".ci/install_tools.py"} <= tracked
    shown = ruff("--show-files", *CHECKED)
    assert shown.returncode == 0, shown.stderr
    checked = {line.removeprefix(f"{ROOT}/") for line in shown.stdout.split()}
    assert tracked - checked == set(), "Python files the test command's ruff run leaves out"


def test_a_new_test_with_an_unused_import_and_a_lossy_zip_is_refused():
    new_test = (
        "import sys\n"
        "import os\n"
        "\n"
        "\n"
        "def test_pairs():\n"
        "    assert dict(zip(['a', 'b'], [1, 2])) == {'a': 1, 'b': 2}\n"
        f"    assert {'1' * 135} > 0\n"  # 150 columns
        f"    assert {'1' * 136} > 0\n"  # 151
    )
    said = findings(new_test, "tests/test_new.py")
    assert "tests/test_new.py:1:1: I001" in said, said
    assert "tests/test_new.py:1:8: F401 [*] `sys` imported but unused" in said, said
    assert "tests/test_new.py:6:17: B905" in said, said
    assert "tests/test_new.py:7:" not in said, said
    assert "tests/test_new.py:8:151: E501 Line too long (151 > 150)" in said, said


def test_a_generated_tool_keeps_to_python_3_9_which_groundworks_tests_need_not():
    uses_match = (
        "import sys\n"
        "\n"
        "\n"
        "def status(code: int) -> str:\n"
        "    match code:\n"
        "        case 0:\n"
        "            return 'ready'\n"
        "    return sys.argv[0]\n"
    )
    said = findings(uses_match, "template/tools/new_check.py")
    assert "template/tools/new_check.py:5:5: invalid-syntax: Cannot use `match` statement on Python 3.9" in said, said
    assert "hooks/migrate_new.py:5:5: invalid-syntax" in findings(uses_match, "hooks/migrate_new.py")
    assert findings(uses_match, "tests/support/new_helper.py") == "", "tests run on Python 3.11"
