"""Owners live with their repository for months: they edit, commit, change an answer or
take a release, and update. Whatever happens, an update never loses or falsifies what an
owner wrote without saying so, and always says what to review."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from copier.errors import UnsafeTemplateError

from support.markdown import section
from support.project import ROOT, Project, copier_cli, example_answers
from support.template_versions import TemplateRepo, git
from support.updates import check_design, commit, conflicted_or_rejected, edit, generate, status, update, update_and_read_message

PAYMENTS = example_answers("payments-api")
TEMPLATE_CHANGE = "v99.0.0"
OWNER_SANDBOX = "synthetic data only), production, and a sandbox for partners."
SANDBOX_LINE = "synthetic data only), production."
LAST_CRITERION = "- [ ] Operable with metrics and runbooks (section 9 and the [runbooks](runbooks/README.md))"
# What the later release changes in the last generated section of the other documents.
LAST_SECTIONS_REWRITTEN = {
    "includes/runbook.jinja": {"traffic and errors)": "traffic and errors)\n- Alert routing: the receivers of `routes.yaml`"},
    "template/README.md.jinja": {"`.copier-answers.yml` by hand.": "`.copier-answers.yml` by hand: Copier owns it."},
    "template/docs/error-budget-policy.md.jinja": {
        "[runbooks](runbooks/README.md).": "[runbooks](runbooks/README.md), [decision records](adr/README.md)."},
    "template/docs/runbooks/README.md.jinja": {
        "- [Disaster recovery](disaster-recovery.md): RTO": "- [Disaster recovery](disaster-recovery.md), rehearsed: RTO"},
    "template/docs/{% if backstage %}index.md{% endif %}.jinja": {"Tier {{ tier }}.": "Tier {{ tier }}; paged through its runbooks."},
}
# The last lines of every document updates reach; owners write below them.
CLOSING = "\n\n---\n\nNotes of your own go below this line; `copier update` keeps them.\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> TemplateRepo:
    """Every release, the working tree, and a later release that rewrites lines owners
    edit, the generated lines next to the prompts they fill and the last generated
    section of every document."""
    repo = TemplateRepo.build(tmp_path_factory.mktemp("template"))
    design = {
        LAST_CRITERION: LAST_CRITERION + "\n- [ ] Reviewed by the security team (section 10)",
        SANDBOX_LINE: "synthetic data only), canary, production.",
        "It calls {{ count(": "It depends on {{ count(",
        "Sizing: instances at peak": "Sizing: replicas at peak",
        '{{ "; the store of record" if c.store_of_record }}': '{{ "; the store of record (the source of truth)" if c.store_of_record }}',
        "return errors or wrong data;": "return errors, timeouts or wrong data;",
    }

    def rewrite(replacements):
        def apply(text):
            for old, new in replacements.items():
                assert text.count(old) == 1, old
                text = text.replace(old, new)
            return text
        return apply

    repo.add_version(TEMPLATE_CHANGE, {
        "template/docs/design.md.jinja": rewrite(design),
        "includes/design/api.jinja": rewrite({"to its clients (section 6).": "to its clients (section 6, with their versioning rules)."}),
        **{path: rewrite(lines) for path, lines in LAST_SECTIONS_REWRITTEN.items()},
    })
    return repo


@pytest.fixture(scope="module")
def payments_repo(template, tmp_path_factory) -> Path:
    """The payments service, generated from the version under test and committed."""
    return generate(template, tmp_path_factory.mktemp("base") / "payments-api", template.current, PAYMENTS).root


@pytest.fixture
def payments(payments_repo, tmp_path) -> Project:
    """A fresh clone-like copy of the payments service for one story."""
    return Project(Path(shutil.copytree(payments_repo, tmp_path / "payments-api", symlinks=True)))


def restore_commands(message: str) -> list[str]:
    return re.findall(r"^\s*git checkout HEAD -- (\S+)$", message, flags=re.M)


def says_what_to_review(message: str) -> None:
    assert re.search(r"^Updated \S+ from Groundwork \S+ to \S+\.$", message, flags=re.M), message
    assert "git status" in message and "python tools/check_design.py" in message
    assert "git add -A && git commit" in message


# --- 1. An answer change no longer generates files the owner edited -----------------------

def test_files_an_answer_change_drops_are_named_with_the_command_that_brings_them_back(payments, template):
    root = payments.root
    edit(root / "docs/runbooks/dependency-fraud-scoring.md", "## Escalation\n", "## Escalation\n\n- Owner note: page #risk-oncall first.\n")
    edit(root / "catalog-info.yaml", "  tags:\n", "  # Owner note: the PagerDuty service is P7X2.\n  tags:\n")
    commit(root, "Owner notes")

    message = update_and_read_message(root, template.current, data={
        "service_kind": "worker", "backstage": False, "datastores": ["postgresql"], "ci": "gitlab",
        "dependencies": "card-processor: authorizes payments\nledger-service: records money movements\n",
        "project_slug": "payments-core",
    })

    says_what_to_review(message)
    deleted = {path for path, code in status(root).items() if code == " D"}
    assert set(restore_commands(message)) == deleted, "every deleted file is named, and only those"
    assert {"docs/runbooks/dependency-fraud-scoring.md", "docs/runbooks/dependency-customer-profile.md",
            "docs/runbooks/datastore-redis.md", "docs/runbooks/slo-availability.md", "docs/runbooks/slo-latency.md",
            "catalog-info.yaml", "mkdocs.yml", "docs/index.md", ".github/workflows/design-checks.yml",
            "monitoring/grafana/payments-api-slos.json"} == deleted

    for path in ("docs/runbooks/dependency-fraud-scoring.md", "catalog-info.yaml"):
        git("checkout", "HEAD", "--", path, cwd=root)
    assert "Owner note: page #risk-oncall first." in payments.text("docs/runbooks/dependency-fraud-scoring.md")
    assert "Owner note: the PagerDuty service is P7X2." in payments.text("catalog-info.yaml")
    commit(root, "Update, keeping the fraud-scoring runbook and the catalog entry")

    again = update_and_read_message(root, template.current)
    says_what_to_review(again)
    assert restore_commands(again) == [], "a file kept as the owner's own is not the template's to remove"
    assert "Owner note: page #risk-oncall first." in payments.text("docs/runbooks/dependency-fraud-scoring.md")
    assert "Owner note: the PagerDuty service is P7X2." in payments.text("catalog-info.yaml")
    assert status(root) == {}, "an update with nothing to change changes nothing"


# --- 2. A changed answer meets an accepted decision ----------------------------------------

def test_an_accepted_decision_is_never_rewritten_and_a_new_record_supersedes_it(payments, template):
    root = payments.root
    store = root / "docs/adr/0003-store-of-record.md"
    platform = root / "docs/adr/0002-deployment-platform.md"
    edit(store, "status: proposed", "status: accepted")
    own = root / "docs/adr/0006-use-idempotency-keys.md"
    own.write_text("---\nstatus: accepted\n---\n\n# Use idempotency keys on every mutating request\n", encoding="utf-8")
    edit(root / "docs/adr/README.md", "| [0005]",
         "| [0006](0006-use-idempotency-keys.md) | Use idempotency keys on every mutating request |\n| [0005]")
    edit(root / "mkdocs.yml", "      - adr/0005-regional-topology.md\n",
         "      - adr/0005-regional-topology.md\n      - adr/0006-use-idempotency-keys.md\n")
    interfaces = root / "docs/adr/0004-interfaces.md"
    interfaces.unlink()
    commit(root, "Accept the store of record; record idempotency keys; drop a proposal")
    accepted, proposed = store.read_bytes(), platform.read_bytes()

    message = update_and_read_message(root, template.current, data={"primary_datastore": "redis", "deployment": "serverless"})

    says_what_to_review(message)
    assert store.read_bytes() == accepted, "the accepted record is untouched"
    assert platform.read_bytes() == proposed, "a proposed record is not rewritten either"
    assert interfaces.is_file(), "a deleted record comes back (MADR marks it rejected instead)"
    assert re.search(r"docs/adr/0003-store-of-record.md\n +records: +Keep the store of record in PostgreSQL\n"
                     r" +the design says: +Keep the store of record in Redis\n", message), message
    assert "docs/adr/0002-deployment-platform.md" in message
    choices = section(payments.design, "Key choices")
    assert "Keep the store of record in Redis" in choices, "the design follows the answer"
    assert conflicted_or_rejected(root) == []

    report = check_design(root).stdout
    assert re.search(r"ADR 0003 decided \"Keep the store of record in Redis\", but docs/adr/0003-store-of-record.md "
                     r"\(accepted\) decided \"Keep the store of record in PostgreSQL\": record the new decision", report), report
    assert "docs/adr/0002-deployment-platform.md (proposed)" in report and "edit the proposal" in report
    assert "0006-use-idempotency-keys.md" not in report, "the owner's own record is logged and on the site"

    # The team records the new decision and supersedes the old one, as MADR does.
    (root / "docs/adr/0007-keep-the-store-of-record-in-redis.md").write_text(
        "---\nstatus: accepted\n---\n\n# Keep the store of record in Redis\n", encoding="utf-8")
    edit(store, "status: accepted", "status: superseded by ADR-0007")
    edit(root / "docs/adr/README.md", "| [0005]",
         "| [0007](0007-keep-the-store-of-record-in-redis.md) | Keep the store of record in Redis |\n| [0005]")
    edit(root / "mkdocs.yml", "      - adr/0006-use-idempotency-keys.md\n",
         "      - adr/0006-use-idempotency-keys.md\n      - adr/0007-keep-the-store-of-record-in-redis.md\n")
    edit(root / "docs/design.md", "- [ADR 0003](adr/0003-store-of-record.md): Keep the store of record in Redis.",
         "- [ADR 0007](adr/0007-keep-the-store-of-record-in-redis.md): Keep the store of record in Redis.")
    edit(platform, "# Deploy on Kubernetes", "# Run on serverless functions or containers")
    assert "0 conflicts, 0 contradictions" in check_design(root).stdout


# --- 3. Many repositories, one loop ----------------------------------------------------------

def readme_update_loop() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- update-loop -->\n```sh\n(.+?)```\n<!-- /update-loop -->", readme, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_readmes_loop_commits_every_file_an_update_adds(template, tmp_path):
    clones = tmp_path / "clones"
    generate(template, clones / "orders-worker", "v0.3.1", {"project_name": "Orders Worker", "service_kind": "worker"})
    loop = readme_update_loop().replace("version=vX.Y.Z", f"version={template.current}")
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                   "GIT_AUTHOR_NAME": "Owner", "GIT_AUTHOR_EMAIL": "owner@example.invalid",
                   "GIT_COMMITTER_NAME": "Owner", "GIT_COMMITTER_EMAIL": "owner@example.invalid"}

    result = subprocess.run(["bash", "-e", "-c", loop], cwd=clones, env=environment, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    clone = clones / "orders-worker"
    assert status(clone) == {}, "everything the update wrote is committed"
    committed = git("show", "--name-status", "--format=", "HEAD", cwd=clone)
    assert "A\tmonitoring/alertmanager/routes.yaml" in committed, "files v0.4.0 added are in the commit"
    assert git("branch", "--show-current", cwd=clone) == f"groundwork-{template.current}"
    says_what_to_review((clones / "orders-worker-update.txt").read_text(encoding="utf-8"))


# --- 4. Filled prompts next to generated text ------------------------------------------------

OWNER_ANSWERS = {
    # section: (the prompt, the owner's answer)
    "3) High-level Architecture": ("TODO: describe the key subsystems inside the service and why the boundaries sit where they do.",
                                   "Three subsystems: capture, refund and settlement, each owning its tables."),
    "Functional requirements": ("- TODO: the use cases, each as `<actor> can <action> so that <outcome>`.",
                                "- A checkout can capture a payment so that the order ships."),
    "PostgreSQL (datastore)": ("TODO: what the service reads and writes in PostgreSQL, and how much (rows or bytes per day).",
                               "Two million payment rows a day, read by payment id."),
    "card-processor": ("TODO: the rate limits or quotas of card-processor, and whether they cover the peak load of section 2.",
                                    "1000 requests/s per merchant account, enough for twice the peak."),
    "Internal interfaces and contracts": (
        "- **Kafka:** TODO: the contract (schema or API version), timeout and error handling agreed with its owners.",
        "- **Kafka:** payment events, Avro schema v3, consumers tolerate unknown fields."),
    "Horizontal vs vertical scaling": ("TODO: the throughput one instance sustains within its SLOs, measured by a load test.",
                                       "One instance sustains 200 requests/s within its SLOs (load test of 2026-11-30)."),
}


def test_filled_prompts_merge_when_an_answer_or_the_template_changes_the_lines_next_to_them(payments, template):
    root = payments.root
    for prompt, answer in OWNER_ANSWERS.values():
        edit(root / "docs/design.md", prompt, answer)
    commit(root, "Owner fills prompts")

    update(root, template.current, data={
        "peak_rps": 1200, "api_styles": ["rest", "grpc", "events"], "messaging": ["kafka", "sqs"],
        "dependencies": PAYMENTS["dependencies"] + "tax-service: computes VAT\n",
    })
    assert conflicted_or_rejected(root) == [], "an answer change next to filled prompts merges"
    design = payments.design
    for title, (_, answer) in OWNER_ANSWERS.items():
        assert answer in section(design, title), f"the owner's answer stays in {title}"
    assert "It calls 5 other services" in design
    assert "Offers REST over HTTP, gRPC and published events to its clients" in design
    assert "Sizing: instances at peak = 1200 requests/s" in design
    assert "- **Amazon SQS:** TODO: the contract" in section(design, "Internal interfaces and contracts")
    commit(root, "Take the new answers")

    update(root, TEMPLATE_CHANGE)
    assert conflicted_or_rejected(root) == [], "a template change next to filled prompts merges"
    design = payments.design
    for title, (_, answer) in OWNER_ANSWERS.items():
        assert answer in section(design, title), f"the owner's answer stays in {title}"
    for arrived in ("It depends on 5 other services", "Sizing: replicas at peak = 1200",
                    "the store of record (the source of truth)", "return errors, timeouts or wrong data",
                    "(section 6, with their versioning rules)"):
        assert arrived in design, arrived


# --- 5. Conflict markers, wherever they are --------------------------------------------------

def test_the_readiness_check_fails_on_any_conflict_marker_and_finds_a_design_that_moved(payments, template):
    root = payments.root
    (root / "docs/architecture").mkdir()
    git("mv", "docs/design.md", "docs/architecture/design.md", cwd=root)
    moved = root / "docs/architecture/design.md"
    moved.write_text(re.sub(r"\]\((?!https?://|#)", "](../", moved.read_text(encoding="utf-8")), encoding="utf-8")
    edit(root / "README.md", "(docs/design.md)", "(docs/architecture/design.md)")
    edit(root / "mkdocs.yml", "System design: design.md", "System design: architecture/design.md")
    edit(root / "slo/openslo.yaml", "target: 0.9995", "target: 0.9993")
    commit(root, "Move the design; a tighter availability target, by hand")
    by_hand = check_design(root)
    assert by_hand.returncode == 1, "a target changed in one file contradicts the others, even in a Draft"
    assert "the design document says 99.95 %, slo/openslo.yaml says 0.9993" in by_hand.stdout

    update(root, template.current, data={"availability_slo": 99.99})

    assert "slo/openslo.yaml" in conflicted_or_rejected(root)
    assert not (root / "docs/design.md").exists(), "the moved design stays where the owner put it"
    result = check_design(root)
    assert result.returncode == 1, "conflict markers fail the check even while the design is a Draft"
    lines = payments.text("slo/openslo.yaml").splitlines()
    marker = next(number for number, line in enumerate(lines, start=1) if line.startswith("<<<<<<< "))
    assert f"slo/openslo.yaml line {marker}: <<<<<<< before updating" in result.stdout
    assert "Open in docs/architecture/design.md" in result.stdout
    assert "status Draft" in result.stdout

    resolved = re.sub(r"<<<<<<< before updating\n.*?=======\n(.*?)>>>>>>> after updating\n", r"\1",
                      payments.text("slo/openslo.yaml"), flags=re.S)
    (root / "slo/openslo.yaml").write_text(resolved, encoding="utf-8")
    resolved_only = check_design(root)
    assert resolved_only.returncode == 1, "the update could not reach the moved design's SLO table"
    assert "the design document says 99.95 %, slo/openslo.yaml says 0.9999" in resolved_only.stdout
    edit(moved, "| 99.95 % | 21.6 min |", "| 99.99 % | 4.3 min |")
    assert check_design(root).returncode == 0, check_design(root).stdout


def test_the_readiness_check_names_a_missing_design_and_takes_one_given(payments):
    root = payments.root
    (root / "docs/design.md").rename(root / "docs/system.md")
    edit(root / "mkdocs.yml", "- System design: design.md", "- Design: system.md")
    missing = check_design(root)
    assert missing.returncode == 2
    assert "no design document" in missing.stderr and "--design" in missing.stderr
    assert check_design(root, "--design", "docs/system.md").returncode == 0


# --- 6. --conflict rej -------------------------------------------------------------------------

def test_with_conflict_rej_the_owners_line_waits_in_a_rej_file_that_message_and_check_name(payments, template):
    root = payments.root
    edit(root / "docs/design.md", SANDBOX_LINE, OWNER_SANDBOX)
    commit(root, "Owner adds a sandbox")

    message = update_and_read_message(root, TEMPLATE_CHANGE, conflict="rej")

    assert "canary, production." in payments.design, "the file holds the template's line"
    assert OWNER_SANDBOX not in payments.design
    assert status(root)["docs/design.md.rej"] == "??"
    assert "a sandbox for partners" in payments.text("docs/design.md.rej"), "the owner's line is in the .rej file"
    assert ".rej" in message
    result = check_design(root)
    assert result.returncode == 1 and "docs/design.md.rej" in result.stdout


# --- 7. What a person reads after copy and after update ---------------------------------------

def test_the_copy_message_and_the_generated_readme_give_the_same_update_command(tmp_path):
    result = copier_cli("copy", "--defaults", "--vcs-ref", "HEAD", str(ROOT), str(tmp_path / "svc"))
    assert result.returncode == 0, result.stderr
    told = re.search(r"Pull later template improvements with: (copier update[^\n]*)", result.stderr)
    assert told, result.stderr
    readme = section(Project(tmp_path / "svc").text("README.md"), "Keeping this repository current")
    commands = re.findall(r"^(copier update\b.*)$", readme, flags=re.M)
    assert commands == [told.group(1).strip()]


# --- 8. Answers derived from an answer that changed --------------------------------------------

def test_a_new_tier_and_topology_name_the_answers_still_at_their_old_defaults(template, tmp_path):
    project = generate(template, tmp_path / "orders-api", template.current, {"project_name": "Orders API"})
    root = project.root
    assert project.answers["tier"] == 2

    message = update_and_read_message(root, template.current, data={"tier": 1, "topology": "multi-region-active-active"})

    says_what_to_review(message)
    stored = project.answers
    assert (stored["availability_slo"], stored["peak_rps"], stored["rto_minutes"], stored["rpo_minutes"]) == (99.9, 100, 240, 60)
    for line in ("availability_slo stays 99.9, the default for tier 2", "for tier 1 it is 99.95",
                 "peak_rps stays 100, the default for tier 2", "for tier 1 it is 500",
                 "rto_minutes stays 240, the default for topology single-region",
                 "rpo_minutes stays 60, the default for topology single-region"):
        assert line in message, line
    assert "latency_slo" not in message, "tier 1 and tier 2 share the latency default"
    command = re.search(r"^\s*(copier update --defaults(?: --data \S+)+)$", message, flags=re.M).group(1)
    commit(root, "Tier 1, active-active")

    data = dict(item.split("=", 1) for item in re.findall(r"--data (\S+)", command))
    assert data == {"availability_slo": "99.95", "peak_rps": "500", "rto_minutes": "15", "rpo_minutes": "1"}
    again = update_and_read_message(root, template.current, data=data)

    after = project.answers
    assert (after["availability_slo"], after["peak_rps"], after["rto_minutes"], after["rpo_minutes"]) == (99.95, 500, 15, 1)
    assert "stays" not in again, "nothing is left at an old default"


# --- 9. Links follow the repository's host -------------------------------------------------------

def test_an_update_moves_runbook_links_to_the_form_of_the_repositorys_host(template, tmp_path):
    answers = {"project_name": "Ledger", "repo_url": "https://github.com/acme/gitlab-ledger", "ci": "gitlab"}
    project = generate(template, tmp_path / "ledger", "v0.4.0", answers)
    assert "https://github.com/acme/gitlab-ledger/-/blob/HEAD/docs/runbooks/" in project.text("monitoring/prometheus/slo-rules.yaml")

    update(project.root, template.current)

    rules = project.text("monitoring/prometheus/slo-rules.yaml")
    urls = {alert["annotations"]["runbook_url"] for alert in project.alerts}
    assert urls and all(url.startswith("https://github.com/acme/gitlab-ledger/blob/HEAD/docs/runbooks/") for url in urls)
    assert "/-/blob/" not in rules
    policy = project.text("docs/error-budget-policy.md")
    assert re.search(r"over 6h\s\(gone in", policy) and "6h(gone" not in policy, "v0.4.0 ran the words together"
    assert "0 conflicts, 0 contradictions" in check_design(project.root).stdout


@pytest.mark.parametrize(("repo_url", "ci", "form"), [
    ("https://gitlab.com/acme/ledger", "github", "https://gitlab.com/acme/ledger/-/blob/HEAD/"),
    ("https://bitbucket.org/acme/ledger", "none", "https://bitbucket.org/acme/ledger/src/HEAD/"),
    ("https://git.acme.example/payments/ledger", "gitlab", "https://git.acme.example/payments/ledger/-/blob/HEAD/"),
])
def test_links_take_the_form_of_the_host_whatever_the_ci(render, repo_url, ci, form):
    project = render(f"links-{ci}-{repo_url}", {"repo_url": repo_url, "ci": ci})
    urls = [alert["annotations"]["runbook_url"] for alert in project.alerts]
    assert urls and all(url.startswith(form + "docs/runbooks/") for url in urls), urls
    assert "0 conflicts, 0 contradictions" in check_design(project.root).stdout, "the readiness check follows those links"


# --- 10. The smaller things ---------------------------------------------------------------------

def test_owners_records_from_before_v0_2_0_keep_numbers_of_their_own(template, tmp_path):
    project = generate(template, tmp_path / "orders-api", "v0.1.0", {"project_name": "Orders API"})
    root = project.root
    adr = root / "docs/adr"
    adr.mkdir(parents=True)
    (adr / "0001-use-postgres.md").write_text("# 1. Use Postgres\n\nSee also [Kafka](0002-use-kafka.md).\n", encoding="utf-8")
    (adr / "0002-use-kafka.md").write_text("# 2. Use Kafka\n\nAccepted.\n", encoding="utf-8")
    with (root / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("\nDecisions: [Postgres](docs/adr/0001-use-postgres.md).\n")
    commit(root, "The team's own records")

    with pytest.raises(UnsafeTemplateError, match="migrations"):
        update(root, template.current, unsafe=False)
    assert status(root) == {}, "an api repository from v0.1.0 needs --trust too, and is left as it was"

    update(root, template.current)

    records = sorted(path.name for path in adr.glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert records[:5] == ["0001-record-architecture-decisions.md", "0002-deployment-platform.md",
                           "0003-store-of-record.md", "0004-interfaces.md", "0005-regional-topology.md"]
    assert records[5:] == ["0006-use-postgres.md", "0007-use-kafka.md"]
    assert (adr / "0006-use-postgres.md").read_text(encoding="utf-8").startswith("# 6. Use Postgres\n\nSee also [Kafka](0007-use-kafka.md).")
    assert "(docs/adr/0006-use-postgres.md)" in project.text("README.md")
    report = check_design(root).stdout
    assert "numbered" not in report and "missing from the ADR log" not in report, report


def test_the_migration_names_the_templates_records_when_an_owner_had_more(tmp_path):
    """An owner's 0001 collides with the template's first record and moves; their 0009 does
    not collide and stays. What the migration prints names the template's numbers only."""
    adr = tmp_path / "docs/adr"
    adr.mkdir(parents=True)
    for name in ("0001-record-architecture-decisions.md", "0002-deployment-platform.md", "0003-store-of-record.md",
                 "0004-interfaces.md", "0005-regional-topology.md", "0001-use-postgres.md", "0009-use-kafka.md"):
        (adr / name).write_text(f"# {name}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "hooks/migrate_0_2_0_adr_numbers.py"),
                             str(ROOT / "includes/data/decisions.json")],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "docs/adr/0001-use-postgres.md is now docs/adr/0010-use-postgres.md: numbers 0001 to 0005 are the template's records" in result.stdout
    assert (adr / "0009-use-kafka.md").is_file()


def test_a_design_changed_after_its_updated_date_is_noted(payments):
    root = payments.root
    updated = re.search(r"^\| Updated \| (\S+) \|$", payments.design, flags=re.M).group(1)
    edit(root / "docs/design.md", "### Key entities and relationships\n\n", "### Key entities and relationships\n\nPayments own refunds.\n\n")
    later = {**os.environ, "GIT_COMMITTER_DATE": "2099-01-02T10:00:00", "GIT_AUTHOR_DATE": "2099-01-02T10:00:00",
             "GIT_COMMITTER_NAME": "Owner", "GIT_COMMITTER_EMAIL": "owner@example.invalid",
             "GIT_AUTHOR_NAME": "Owner", "GIT_AUTHOR_EMAIL": "owner@example.invalid"}
    subprocess.run(["git", "commit", "-qam", "Design work"], cwd=root, env=later, check=True)

    result = check_design(root)
    assert result.returncode == 0
    assert f"docs/design.md changed on 2099-01-02 (git log), after the Updated date of its header ({updated})" in result.stdout

    edit(root / "docs/design.md", f"| Updated | {updated} |", "| Updated | 2099-01-02 |")
    subprocess.run(["git", "commit", "-qam", "Date"], cwd=root, env=later, check=True)
    assert "Updated date" not in check_design(root).stdout


def test_a_record_missing_from_the_docs_site_navigation_is_reported(payments):
    root = payments.root
    (root / "docs/adr/0006-use-idempotency-keys.md").write_text("# Use idempotency keys\n", encoding="utf-8")
    (root / "docs/runbooks/card-network-outage.md").write_text("# Card network outage\n", encoding="utf-8")
    report = check_design(root).stdout
    assert "docs/adr/0006-use-idempotency-keys.md is not in the nav of mkdocs.yml" in report and "under Decisions" in report
    assert "docs/runbooks/card-network-outage.md is not in the nav of mkdocs.yml" in report and "under Runbooks" in report
    nav = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))
    assert nav["nav"], "the generated navigation lists the generated pages"


# The README's exceptions: prompts inside generated lines, tables and examples.
PROMPTS_INSIDE_GENERATED_TEXT = ("- **Audits:**", "- Dashboards:")


def test_every_prompt_an_owner_fills_stands_apart_and_reads_like_no_other(any_project):
    """What makes the merges above work, for every example: a prompt that is a paragraph or
    list item of its own has only blank lines or other prompts next to it, and no other
    line of the document reads the same."""
    lines = any_project.design.splitlines()
    in_fence = False
    prompts = {}
    for number, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
        body = re.sub(r"^(?:[-*] |\d+\. )?(?:\*\*[^*]+:\*\* |[A-Z][a-z ]+: )?", "", line)
        if not in_fence and body.startswith("TODO:") and not line.startswith(("|", *PROMPTS_INSIDE_GENERATED_TEXT)):
            prompts[number] = line
    assert len(prompts) > 20
    for number, line in prompts.items():
        for neighbour in (number - 1, number + 1):
            assert not lines[neighbour].strip() or neighbour in prompts, f"{line!r} touches {lines[neighbour]!r}"
        assert lines.count(line) == 1, f"{line!r} is not the only one"


@pytest.mark.parametrize("answers", [
    {"service_kind": "worker", "tier": 1, "topology": "multi-region-active-passive"},
    {"service_kind": "pipeline", "tier": 3, "topology": "multi-region-active-active"},
    {"service_kind": "frontend", "tier": 2, "topology": "single-region"},
])
def test_the_defaults_an_update_offers_are_those_a_new_repository_starts_with(render, answers):
    """The tables the update message reads its defaults from (what a tier, a kind and a
    topology decide, includes/data/) against what the questionnaire gives a new
    repository, for every number they set that is asked."""
    tables = {source: json.loads((ROOT / f"includes/data/{name}.json").read_text(encoding="utf-8"))
              for source, name in (("tier", "tiers"), ("service_kind", "kinds"), ("topology", "topologies"))}
    stored = render("defaults-" + "-".join(str(v) for v in answers.values()), answers).answers
    compared = 0
    for source, table in tables.items():
        for key, default in table[str(answers[source])]["defaults"].items():
            if key in stored and isinstance(default, (int, float)):
                assert stored[key] == default, f"{key} for {source} {answers[source]}"
                compared += 1
    assert compared >= 5


# --- 11. Notes at the end of every document -------------------------------------------------------

def documents_updates_reach(root: Path) -> list[str]:
    """Every Markdown file of the repository but the decision records and their MADR form,
    which owners copy."""
    found = []
    for path in sorted(root.rglob("*.md")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("docs/adr/") and (relative == "docs/adr/template.md" or path.name[:4].isdigit()):
            continue
        found.append(relative)
    return found


def append_notes(root: Path, documents: list[str]) -> dict[str, str]:
    """A note at the very end of each document, as owners write one: {document: note}."""
    notes = {}
    for relative in documents:
        notes[relative] = f"Owner's note on {relative}: the team reviews this page after every incident."
        with (root / relative).open("a", encoding="utf-8") as document:
            document.write(f"\n{notes[relative]}\n")
    commit(root, "Owner notes at the end of every document")
    return notes


def test_every_document_ends_with_the_same_lines_whatever_the_answers(any_project):
    """The closing lines are a contract with every owner who wrote below them: a release
    that changed them would conflict with every note."""
    documents = documents_updates_reach(any_project.root)
    assert {"README.md", "docs/design.md", "docs/error-budget-policy.md", "docs/adr/README.md",
            "docs/runbooks/README.md", "docs/runbooks/disaster-recovery.md",
            "docs/runbooks/sli-data-missing.md"} <= set(documents)
    for relative in documents:
        assert any_project.text(relative).endswith(CLOSING), relative


def test_notes_at_the_end_of_every_document_survive_a_new_address_and_a_release(payments, template):
    root = payments.root
    documents = documents_updates_reach(root)
    assert len([d for d in documents if d.startswith("docs/runbooks/") and d != "docs/runbooks/README.md"]) == 11
    notes = append_notes(root, documents)

    update(root, template.current, data={"repo_url": "https://gitlab.example.com/payments/payments-api"})

    assert conflicted_or_rejected(root) == [], "the links above the notes changed, the notes merge"
    assert "https://gitlab.example.com/payments/payments-api/-/blob/HEAD/slo/openslo.yaml" in section(
        payments.text("docs/runbooks/dependency-card-processor.md"), "Related")
    for relative, note in notes.items():
        assert payments.text(relative).endswith(CLOSING + "\n" + note + "\n"), relative
    commit(root, "Move the repository")

    update(root, TEMPLATE_CHANGE)

    assert conflicted_or_rejected(root) == [], "the last generated sections changed, the notes merge"
    assert "Alert routing: the receivers of `routes.yaml`" in payments.text("docs/runbooks/slo-latency.md")
    assert "- [ ] Reviewed by the security team (section 10)" in payments.design
    assert "by hand: Copier owns it." in payments.text("README.md")
    for relative, note in notes.items():
        assert payments.text(relative).endswith(CLOSING + "\n" + note + "\n"), relative


def test_notes_at_the_end_from_before_the_closing_lines_conflict_once(template, tmp_path):
    """v0.4.0 ended each document with generated lines; the first update to the closing
    lines conflicts where an owner wrote below them, as the CHANGELOG says, and never again."""
    project = generate(template, tmp_path / "payments-api", "v0.4.0", PAYMENTS)
    root = project.root
    notes = append_notes(root, documents_updates_reach(root))
    log = (root / "docs/adr/README.md").read_bytes()

    update(root, template.current)

    conflicted = conflicted_or_rejected(root)
    assert conflicted == sorted(set(notes) - {"docs/adr/README.md"}), "every document with a note at its end, once"
    assert (root / "docs/adr/README.md").read_bytes() == log, "the ADR log is written once: updates leave it alone"
    for relative in conflicted:
        text = (root / relative).read_text(encoding="utf-8")
        assert notes[relative] in text
        theirs = re.sub(r"<<<<<<< before updating\n.*?=======\n(.*?)>>>>>>> after updating\n", r"\1", text, flags=re.S)
        assert theirs.endswith(CLOSING), relative
        (root / relative).write_text(f"{theirs}\n{notes[relative]}\n", encoding="utf-8")
    commit(root, "Update; the notes go below the closing lines")

    update(root, template.current, data={"repo_url": "https://gitlab.example.com/payments/payments-api"})

    assert conflicted_or_rejected(root) == []
    for relative, note in notes.items():
        assert (root / relative).read_text(encoding="utf-8").endswith(f"\n{note}\n"), relative
