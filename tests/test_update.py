"""`copier update` keeps what owners wrote and brings in what the template changed: from
every release, across the migration, when both touch the same line, when a question is
added, when an owner deleted a file, and when an answer changes."""

from __future__ import annotations

import copier
import pytest
from copier.errors import UnsafeTemplateError

from support.markdown import section, tables
from support.project import Project, example_answers
from support.template_versions import TemplateRepo, git, released_versions
from support.terminal import ENTER, ERASE_LINE, next_question, spawn_copier
from support.tools import LINES, run_tool
from support.updates import commit, conflicted_or_rejected, edit, generate, update, update_and_read_message

# Answers every release understands.
SERVICE = {
    "project_name": "Payments API", "project_slug": "payments-api", "owner": "team-payments",
    "tier": 1, "datastores": ["postgresql"], "messaging": ["kafka"],
    "dependencies": "ledger-service: records every money movement\n",
    "goals": "No customer is charged twice.\n", "compliance": ["pci-dss"],
}
OWNER_PROBLEM = "Checkout retries have charged 41 customers twice this quarter."
OWNER_PARAGRAPH = "Payments and refunds are separate entities; a refund points to one payment."
NEW_QUESTION = "on_call_rotation"
NEW_QUESTION_HELP = "How often the on-call engineer changes."


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> TemplateRepo:
    repo = TemplateRepo.build(tmp_path_factory.mktemp("template"))
    repo.add_version(
        "v99.0.0",
        {
            # a line owners often touch, changed by the template
            "template/docs/design.md.jinja": lambda text: text.replace(
                "Environments: development, staging (production-like data shape, synthetic data only), production.",
                "Environments: development, staging (production-like data shape, synthetic data only), canary, production.",
            ),
            # a new question, used by a file
            "copier.yml": lambda text: text + (
                f"\n{NEW_QUESTION}:\n  type: str\n  help: {NEW_QUESTION_HELP}\n  default: weekly\n"
            ),
            "template/README.md.jinja": lambda text: text + "\nOn-call rotation: {{ on_call_rotation }}.\n",
            "template/docs/error-budget-policy.md.jinja": lambda text: text + "\nReviewed with the on-call rotation.\n",
        },
    )
    return repo


def owner_works_on(project: Project) -> None:
    """Fill a prompt, add a paragraph, add an ADR and a runbook note, as owners do."""
    design = project.root / "docs/design.md"
    edit(design, "TODO: what specific pain this solves: who is affected today, how, and what it costs.", OWNER_PROBLEM)
    edit(design, "### Key entities and relationships\n\n", f"### Key entities and relationships\n\n{OWNER_PARAGRAPH}\n\n")
    adr = project.root / "docs/adr/0006-use-idempotency-keys.md"
    adr.parent.mkdir(parents=True, exist_ok=True)
    adr.write_text("# Use idempotency keys on every mutating request\n\nAccepted by team-payments.\n", encoding="utf-8")
    runbook = project.root / "docs/runbooks/datastore-postgresql.md"
    if runbook.exists():
        edit(runbook, "## Escalation\n", "## Escalation\n\n- Owner note: the DBA on call is in #db-oncall.\n")
    commit(project.root, "Owner edits")


def test_the_releases_are_found_in_the_history(template):
    assert list(template.releases)[:2] == ["v0.1.0", "v0.2.0"]
    assert template.versions[-2] == template.current


@pytest.mark.parametrize("release", list(released_versions()))
def test_an_owner_updates_from_a_release_and_keeps_every_edit(template, tmp_path, release):
    project = generate(template, tmp_path / "payments-api", release, SERVICE)
    owner_works_on(project)
    had_runbooks = (project.root / "docs/runbooks").exists()

    update(project.root, template.current)

    design = project.design
    assert OWNER_PROBLEM in section(design, "Problem statement")
    assert OWNER_PARAGRAPH in section(design, "Key entities and relationships")
    assert (project.root / "docs/adr/0006-use-idempotency-keys.md").read_text(encoding="utf-8").startswith("# Use idempotency keys")
    if had_runbooks:
        assert "Owner note: the DBA on call" in project.text("docs/runbooks/datastore-postgresql.md")
    for arrived in ("slo/openslo.yaml", "monitoring/prometheus/slo-rules.yaml", "tools/check_design.py",
                    "docs/runbooks/slo-availability.md", "docs/adr/0005-regional-topology.md"):
        assert (project.root / arrived).is_file(), f"{arrived} did not arrive"
    assert project.answers["_commit"].startswith(template.current)
    assert conflicted_or_rejected(project.root) == []


def test_a_pipeline_keeps_its_freshness_target_across_the_migration(template, tmp_path):
    answers = {"project_name": "Clicks", "project_slug": "clicks", "service_kind": "pipeline", "availability_slo": 99.0}
    project = generate(template, tmp_path / "clicks", "v0.1.0", answers)

    with pytest.raises(UnsafeTemplateError, match="migrations"):
        update(project.root, template.current, unsafe=False)
    assert git("status", "--porcelain", cwd=project.root) == "", "a refused update changes nothing"

    update(project.root, template.current)
    stored = project.answers
    assert stored["freshness_slo"] == 99.0 and "availability_slo" not in stored
    table = tables(section(project.design, "Non-functional requirements"))[0]
    assert table[1][0] == "Freshness" and table[1][2] == "99 %"
    targets = [d["spec"]["objectives"][0]["target"] for d in project.yaml_documents("slo/openslo.yaml") if d["kind"] == "SLO"]
    assert targets == [0.99]


def test_when_owner_and_template_change_the_same_line_the_conflict_is_shown_inline(template, tmp_path):
    project = generate(template, tmp_path / "payments-api", template.current, SERVICE)
    edit(project.root / "docs/design.md", "synthetic data only), production.", "synthetic data only), production, and a sandbox for partners.")
    commit(project.root, "Owner adds a sandbox")

    message = update_and_read_message(project.root, "v99.0.0")

    design = project.design
    assert "<<<<<<< before updating" in design and ">>>>>>> after updating" in design
    assert "a sandbox for partners" in design, "the owner's line is still there"
    assert "canary, production" in design, "the template's line is offered beside it"
    assert conflicted_or_rejected(project.root) == ["docs/design.md"], "no other file conflicts"
    assert "UU docs/design.md" in git("status", "--porcelain", cwd=project.root).splitlines(), "git shows the conflict"
    assert "<<<<<<< before updating" in message and '"both modified"' in message, "the message says how to find it"


def test_an_update_in_a_terminal_asks_only_the_new_question(template, tmp_path):
    """`copier update --skip-answered` at the real prompt: the one question the new release
    added is asked, the owner's typed answer is recorded and used, nothing else is asked."""
    project = generate(template, tmp_path / "payments-api", template.current, SERVICE)
    child = spawn_copier("update", "--skip-answered", "--vcs-ref", "v99.0.0", cwd=project.root)
    asked = []
    question = next_question(child, None)
    while question is not None:
        asked.append(question)
        child.send(ERASE_LINE + "fortnightly" + ENTER)
        question = next_question(child, question)
    child.close()

    assert child.exitstatus == 0, child.before
    assert asked == [NEW_QUESTION_HELP]
    assert project.answers[NEW_QUESTION] == "fortnightly"
    assert project.answers["project_name"] == SERVICE["project_name"], "earlier answers kept"
    assert "On-call rotation: fortnightly." in project.text("README.md")


def test_defaults_answer_a_new_question_without_asking(template, tmp_path):
    project = generate(template, tmp_path / "payments-api", template.current, SERVICE)
    update(project.root, "v99.0.0")
    assert project.answers[NEW_QUESTION] == "weekly"


def test_a_file_the_owner_deleted_is_not_resurrected(template, tmp_path):
    project = generate(template, tmp_path / "payments-api", template.current, SERVICE)
    for relative in ("docs/error-budget-policy.md", "docs/runbooks/dependency-ledger-service.md"):
        (project.root / relative).unlink()
    commit(project.root, "Owner removes what the team does not use")

    update(project.root, "v99.0.0")

    assert not (project.root / "docs/error-budget-policy.md").exists(), "changed by the template, still deleted"
    assert not (project.root / "docs/runbooks/dependency-ledger-service.md").exists()
    assert "On-call rotation" in project.text("README.md"), "the rest of the update arrived"


def test_recopy_regenerates_from_the_recorded_answers(template, tmp_path):
    project = generate(template, tmp_path / "payments-api", template.current, SERVICE)
    (project.root / "docs/runbooks/slo-latency.md").unlink()
    commit(project.root, "Lose a file")

    copier.run_recopy(str(project.root), vcs_ref="v99.0.0", defaults=True, overwrite=True, quiet=True, unsafe=True)

    assert (project.root / "docs/runbooks/slo-latency.md").is_file()
    assert project.answers["project_name"] == "Payments API"
    assert project.answers[NEW_QUESTION] == "weekly"


def changed_files(root) -> set[str]:
    return set(git("diff", "--name-only", "HEAD", cwd=root).splitlines())


def test_changing_an_answer_changes_every_derived_artifact_in_one_diff(template, tmp_path):
    answers = example_answers("payments-api")
    project = generate(template, tmp_path / "payments-api", template.current, answers)
    edit(project.root / "docs/design.md", "### Key entities and relationships\n\n", f"### Key entities and relationships\n\n{OWNER_PARAGRAPH}\n\n")
    commit(project.root, "Owner edit")

    update(project.root, template.current, data={"availability_slo": 99.99})

    assert {
        "docs/design.md", "slo/openslo.yaml", "monitoring/prometheus/slo-rules.yaml",
        "monitoring/prometheus/slo-rules.test.yaml", "docs/error-budget-policy.md", ".copier-answers.yml",
    } <= changed_files(project.root)
    design = project.design
    rows = {row[0]: row for row in tables(section(design, "Non-functional requirements"))[0][1:]}
    assert rows["Availability"][2:] == ["99.99 %", "4.3 min"]
    assert rows["Latency"][2] == "99 %", "other SLOs stay"
    assert OWNER_PARAGRAPH in design
    slo = next(d for d in project.yaml_documents("slo/openslo.yaml") if d["metadata"]["name"] == "payments-api-availability" and d["kind"] == "SLO")
    assert slo["spec"]["objectives"][0]["target"] == 0.9999
    assert "(14.4 * 0.0001)" in project.text("monitoring/prometheus/slo-rules.yaml")
    assert "| Availability | 99.99 % | 4.3 min" in project.text("docs/error-budget-policy.md")
    assert conflicted_or_rejected(project.root) == []
    for line in LINES:
        rule_tests = run_tool("promtool", "test", "rules", "slo-rules.test.yaml", cwd=project.root / "monitoring/prometheus", line=line)
        assert rule_tests.returncode == 0, f"{line} line: {rule_tests.stdout + rule_tests.stderr}"


def test_a_repository_from_before_native_histograms_keeps_classic_ones_until_its_owner_moves(template, tmp_path):
    """From the last release, which had no histogram_type: `copier update --defaults` takes
    classic, so the rules keep reading the buckets the exporter has, and the design still
    asks for a bucket at 400 ms. Answering native later moves every SLI to the native
    histograms in one update, and the request for a bucket goes."""
    last = list(template.releases)[-1]
    project = generate(template, tmp_path / "payments-api", last, example_answers("payments-api"))
    assert "histogram_type" not in project.answers

    update(project.root, template.current)

    assert project.answers["histogram_type"] == "classic"
    rules = project.text("monitoring/prometheus/slo-rules.yaml")
    assert 'http_server_request_duration_seconds_bucket{job="payments-api",le=~"0\\\\.4"}' in rules
    assert "histogram_count(" not in rules and "histogram_fraction(" not in rules
    assert "TODO: add a bucket bound of 0.4 s" in project.design
    assert conflicted_or_rejected(project.root) == []
    commit(project.root, "Update Groundwork")

    update(project.root, template.current, data={"histogram_type": "native"})

    rules = project.text("monitoring/prometheus/slo-rules.yaml")
    assert "_bucket{" not in rules and "_count{" not in rules
    assert 'histogram_fraction(0.4, +Inf, rate(http_server_request_duration_seconds{job="payments-api"}[5m]))' in rules
    assert "add a bucket bound" not in project.design
    assert conflicted_or_rejected(project.root) == []
