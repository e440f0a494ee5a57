"""Shared fixtures. Renders are session-scoped: each answer set is rendered once per test
session (per xdist worker) and read by many tests."""

from __future__ import annotations

import pytest

from support.project import EXAMPLE_NAMES, Project, example_answers
from support.tools import LINE_TOOLS, LINES, put_checkout_tools_first_on_path, tool_version


def pytest_configure(config):
    put_checkout_tools_first_on_path()


def pytest_report_header(config) -> list[str]:
    """Which Prometheus and Alertmanager each line ran: the versions the rules are proven on."""
    return [
        f"{line} line: " + ", ".join(f"{tool} {tool_version(tool, line) or 'not installed'}" for tool in LINE_TOOLS)
        for line in LINES
    ]


@pytest.fixture(params=LINES)
def prometheus_line(request) -> str:
    """Each line of Prometheus and Alertmanager in turn (support.tools.LINES): a test that runs
    promtool or amtool on generated files proves them on the oldest and the newest."""
    return request.param


@pytest.fixture(scope="session")
def render(copie_session):
    """Render the template (the working tree) with some answers, once per answer set."""
    cache: dict[str, Project] = {}

    def _render(key: str, answers: dict) -> Project:
        if key not in cache:
            result = copie_session.copy(extra_answers=answers)
            assert result.exception is None, f"rendering {key} failed: {result.exception!r}"
            assert result.exit_code == 0
            cache[key] = Project(result.project_dir)
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def defaults_project(render) -> Project:
    return render("defaults", {})


@pytest.fixture(scope="session", params=EXAMPLE_NAMES)
def example_project(request, render) -> Project:
    return render(request.param, example_answers(request.param))


@pytest.fixture(scope="session")
def payments(render) -> Project:
    return render("payments-api", example_answers("payments-api"))


@pytest.fixture(scope="session", params=EXAMPLE_NAMES)
def native_project(request, render) -> Project:
    """Every example with native histograms (histogram_type: native): its rules read them,
    and their tests run on Prometheus 3, the newest line only."""
    return render(f"{request.param}-native", {**example_answers(request.param), "histogram_type": "native"})


@pytest.fixture(scope="session")
def payments_native(render) -> Project:
    return render("payments-api-native", {**example_answers("payments-api"), "histogram_type": "native"})


@pytest.fixture(scope="session", params=["defaults", *EXAMPLE_NAMES])
def any_project(request, render) -> Project:
    """The defaults and every example: properties every generated repository must have."""
    if request.param == "defaults":
        return render("defaults", {})
    return render(request.param, example_answers(request.param))
