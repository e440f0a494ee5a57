"""The generated monitoring, live: a real Prometheus evaluates the generated rules, a real
Alertmanager routes with the generated route, and each scenario's notification reaches the
receiver the paging policy names, with the alert's labels, summary and runbook_url in the
payload the paging tool or the queue would get.

Six services share one Prometheus and one Alertmanager per scenario, as an organisation
runs them: every kind at a tier that pages, an api and a worker at tier 3, PagerDuty,
Opsgenie and no paging tool among them. On the newest line, Prometheus 3, two more read
native histograms (histogram_type: native), an api and a worker, whose exporter serves
them in the protobuf format: their pages, tickets and stalls reach whom the policy names
like everyone else's. The test drives the generated
`tools/try_alerts.py` as an owner would, so the script is proven with the rules: it plays
what each repository's metric convention file says each SLI counts, places each
routes.yaml's route under a root route (group_wait 1 s), points the receivers' PagerDuty,
Opsgenie and queue integrations at a loopback receiver, and shortens every alert's `for:`
(the DataMissing alerts' minutes, whose timing `promtool test rules` proves) to seconds;
the rules and routes are otherwise the generated files as they are."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.alertmanager import runnable_alertmanager, short_directory
from support.markdown import fenced_blocks, section, tables
from support.paging import TIERS_THAT_PAGE
from support.project import example_answers
from support.tools import LINES, require

# Every kind at a tier that pages, and two at tier 3; the examples where they fit (the
# session renders them for other tests too). Each is its own service: slug, owner and receivers.
SERVICES = {
    "payments-api": example_answers("payments-api"),  # api, tier 1, PagerDuty
    "live-worker-tier-2": {"project_name": "Ledger Worker", "service_kind": "worker", "tier": 2,
                           "owner": "team-ledger", "oncall": "opsgenie"},
    "clickstream-pipeline": example_answers("clickstream-pipeline"),  # pipeline, tier 2, Opsgenie
    "live-frontend-tier-1": {"project_name": "Storefront", "service_kind": "frontend", "tier": 1,
                             "owner": "team-storefront", "oncall": "pagerduty",
                             "repo_url": "https://github.com/acme/storefront"},
    "live-api-tier-3": {"project_name": "Status API", "service_kind": "api", "tier": 3,
                        "owner": "team-status", "oncall": "pagerduty"},
    "notification-worker": example_answers("notification-worker"),  # worker, tier 3, no paging tool
}
# Services on native histograms, which need Prometheus 3: they join the newest line's run.
NATIVE_SERVICES = {
    "live-api-native": {"project_name": "Checkout API", "service_kind": "api", "tier": 1, "owner": "team-checkout",
                        "oncall": "pagerduty", "latency_threshold_ms": 300, "histogram_type": "native"},
    "live-worker-native": {"project_name": "Mail Worker", "service_kind": "worker", "tier": 2, "owner": "team-mail",
                           "oncall": "opsgenie", "histogram_type": "native"},
}
# Every scenario of the script runs live here, on each release line.
SCENARIOS = ("fast-burn", "slow-burn", "outage", "vanish", "idle", "stall", "healthy")
SCRIPT = "tools/try_alerts.py"
TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module", params=LINES)
def programs(request, tmp_path_factory) -> dict[str, str]:
    """The prometheus and alertmanager of one release line (Debian's alertmanager made
    runnable from the checkout): every test of this module runs on the oldest and the
    newest."""
    line = request.param
    templates = short_directory()
    try:
        yield {"line": line, "prometheus": require("prometheus", line),
               "alertmanager": runnable_alertmanager(require("alertmanager", line),
                                                     tmp_path_factory.mktemp("alertmanager"), templates)}
    finally:
        shutil.rmtree(templates, ignore_errors=True)


@pytest.fixture
def process_groups():
    """Processes started in their own process group, stopped with all their children
    (Prometheus, Alertmanager) whatever happens to the test."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            signal_group(process, signal.SIGTERM)  # the script stops its servers on SIGTERM
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        signal_group(process, signal.SIGKILL)  # whatever is left in its group
        process.wait(timeout=10)


def signal_group(process: subprocess.Popen, sig: int) -> bool:
    """Send `sig` to the process group `process` leads; False when the group is empty."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return False
    return True


def try_alerts(project, scenario: str, others, programs: dict, output: Path, started: list) -> subprocess.Popen:
    """`python3 tools/try_alerts.py --scenario ...` in the project, as the README says."""
    command = [sys.executable, SCRIPT, "--scenario", scenario, "--prometheus", programs["prometheus"],
               "--alertmanager", programs["alertmanager"], "--timeout", str(TIMEOUT_SECONDS), "--json", str(output),
               *(str(other.root) for other in others)]
    process = subprocess.Popen(command, cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    started.append(process)
    return process


# --- What each scenario must do, as the paging policy states it ----------------------


def paging_receiver(project) -> str:
    owner = project.answers["owner"]
    return f"{owner}-page" if project.answers["tier"] in TIERS_THAT_PAGE else f"{owner}-queue"


def alert_names(project, ending: str, per_slo: bool = True) -> set[str]:
    names = {rule["alert"] for rule in project.alerts if rule["alert"].endswith(ending)}
    if per_slo:
        assert len(names) == len(project.slo_names), f"one {ending} alert per SLO: {names}"
    return names


def expected(project, scenario: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(alert, receiver) that must be heard, and those that may be heard or held back: a
    fast burn and an outage page (a tier 3 service's page waits in the queue), and the
    page inhibits the ticket of its SLO, unless the ticket was sent a moment before; a
    slow burn only opens a ticket; a broken scrape pages through the target alert where
    Prometheus scrapes the service, and opens the DataMissing tickets where it pushes;
    an idle exporter opens only tickets; stalled work pages through its Stalled alert; a
    healthy service notifies nobody."""
    pager, queue = paging_receiver(project), f"{project.answers['owner']}-queue"
    fast, slow = alert_names(project, "BudgetBurnFast"), alert_names(project, "BudgetBurnSlow")
    missing = {(name, queue) for name in alert_names(project, "DataMissing")}
    if scenario in ("fast-burn", "outage"):
        return {(name, pager) for name in fast}, {(name, queue) for name in slow}
    if scenario == "slow-burn":
        return {(name, queue) for name in slow}, set()
    if scenario == "vanish":
        down = alert_names(project, "TargetDown", per_slo=False)
        return ({(name, pager) for name in down} if down else missing), set()
    if scenario == "idle":
        return missing, set()
    if scenario == "stall":
        return {(name, pager) for name in alert_names(project, "Stalled", per_slo=False)}, set()
    return set(), set()


# --- What arrived, read from the payloads themselves ---------------------------------


def delivered(notification: dict) -> list[tuple[str, str, str, str | None]]:
    """(alert name, receiver, the text listing the alert's labels and annotations, the
    incident's title) for each alert of one notification, from its payload: the webhook's
    JSON (no title), PagerDuty's Events v2 event or Opsgenie's alert. The receiver is the
    one Alertmanager names in the payload."""
    payload = notification["payload"]
    if "event_action" in payload:  # PagerDuty Events API v2
        assert payload["event_action"] == "trigger" and payload["routing_key"], payload
        title, details = payload["payload"]["summary"], payload["payload"]["custom_details"]["firing"]
        receiver = re.search(r"receiver=([^&]+)$", payload["client_url"])[1]
    elif "message" in payload:  # Opsgenie's create-alert request
        assert notification["path"].endswith("/v2/alerts"), notification["path"]
        title, details = payload["message"], payload["description"]
        receiver = re.search(r"receiver=([^&]+)$", payload["source"])[1]
    else:  # Alertmanager's webhook
        return [(alert["labels"]["alertname"], payload["receiver"], json.dumps(alert), None) for alert in payload["alerts"]]
    match = re.match(r"\[FIRING:1\] (\w+): ", title)
    assert match, f"{receiver} got {title!r}: one firing alert per notification"
    return [(match[1], receiver, details, title)]


def carries(text: str, fields: dict) -> bool:
    """The alert's labels or annotations are in the payload: as JSON in a webhook, as
    " - name = value" lines (Alertmanager's default text) for PagerDuty and Opsgenie."""
    if text.startswith("{"):
        alert = json.loads(text)
        return all(alert["labels"].get(k, alert["annotations"].get(k)) == v for k, v in fields.items())
    return all(f" - {name} = {value}\n" in text for name, value in fields.items())


def runbook_file(project, url: str) -> Path:
    repo_url = project.answers.get("repo_url") or ""
    relative = re.sub(r"^.*?/blob/HEAD/", "", url) if repo_url and url.startswith(repo_url) else url
    return project.root / relative


def rule_of(projects, alert_name: str):
    for project in projects:
        for group in project.yaml("monitoring/prometheus/slo-rules.yaml")["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == alert_name:
                    return project, group["name"], rule
    raise AssertionError(f"{alert_name} is no alert of the generated rules")


def check_payloads(projects, result: dict) -> list[str]:
    """Every alert delivered carries its rule's labels, summary and runbook_url, the runbook
    exists, and a page reached the on-call engineer through the paging tool chosen."""
    problems = []
    for notification in result["notifications"]:
        for name, receiver, text, title in delivered(notification):
            project, group, rule = rule_of(projects, name)
            labels = {"alertname": name, "severity": rule["labels"]["severity"], "tier": str(project.answers["tier"]),
                      "service": project.answers["project_slug"]}
            if group in project.slo_names:  # the service's own alerts are about no one SLO
                labels["slo"] = group
            annotations = {key: rule["annotations"][key] for key in ("summary", "runbook_url")}
            if not carries(text, labels):
                problems.append(f"{name} to {receiver}: labels {labels} not in {text!r}")
            if not carries(text, annotations):
                problems.append(f"{name} to {receiver}: annotations {annotations} not in {text!r}")
            if title is not None and title != f"[FIRING:1] {name}: {annotations['summary']}":
                problems.append(f"{name} to {receiver}: the incident is titled {title!r}, not by its summary")
            if not runbook_file(project, annotations["runbook_url"]).is_file():
                problems.append(f"{name}: runbook_url {annotations['runbook_url']} leads to no runbook")
            if receiver == f"{project.answers['owner']}-page":
                payload, oncall = notification["payload"], project.answers["oncall"]
                tool = "pagerduty" if "event_action" in payload else "opsgenie" if "message" in payload else "webhook"
                if tool != oncall:
                    problems.append(f"{name} paged {receiver} through {tool}, not the chosen {oncall}")
    return problems


# --- The story -----------------------------------------------------------------------


def test_every_kind_and_scenario_reaches_whom_the_paging_policy_names(render, programs, process_groups, tmp_path):
    services = {**SERVICES, **(NATIVE_SERVICES if programs["line"] == "newest" else {})}
    projects = [render(key, answers) for key, answers in services.items()]
    assert len({p.answers["service_kind"] for p in projects}) == 4
    assert {p.answers["tier"] in TIERS_THAT_PAGE for p in projects} == {True, False}
    first, *others = projects

    began = time.monotonic()
    runs = {scenario: try_alerts(first, scenario, others, programs, tmp_path / f"{scenario}.json", process_groups)
            for scenario in SCENARIOS}
    outputs = {}
    for scenario, process in runs.items():
        remaining = max(1.0, TIMEOUT_SECONDS + 30 - (time.monotonic() - began))
        stdout, stderr = process.communicate(timeout=remaining)
        outputs[scenario] = f"exit {process.returncode}\n{stdout}\n{stderr}"
        assert process.returncode == 0, f"{scenario}: {outputs[scenario]}"
        assert not signal_group(process, 0), f"{scenario}: a server outlived the script"

    problems = []
    for scenario in SCENARIOS:
        result = json.loads((tmp_path / f"{scenario}.json").read_text(encoding="utf-8"))
        assert result["settled"], outputs[scenario]
        want = set().union(*(expected(project, scenario)[0] for project in projects))
        maybe = set().union(*(expected(project, scenario)[1] for project in projects))
        got = [alert[:2] for n in result["notifications"] for alert in delivered(n)]
        held = {alert["labels"]["alertname"] for alert in result["suppressed"]}
        lost = sorted(alert for alert in maybe - set(got) if alert[0] not in held)
        if not want <= set(got) or set(got) - want - maybe or len(got) != len(set(got)) or lost:
            problems.append(f"{scenario}: missing {sorted(want - set(got))}, neither heard nor held back "
                            f"{lost}, unexpected or repeated "
                            f"{sorted(set(got) - want - maybe) or [g for g in got if got.count(g) > 1]}\n{outputs[scenario]}")
        problems += [f"{scenario}: {problem}" for problem in check_payloads(projects, result)]
        if scenario == "healthy" and result["alerts"]:
            problems.append(f"healthy: alerts pending or firing: {result['alerts']}")
    assert not problems, "\n".join(problems)
    if programs["line"] == "newest":  # the native histograms were scraped, stored and read
        fast = json.loads((tmp_path / "fast-burn.json").read_text(encoding="utf-8"))
        heard = {alert[:2] for notification in fast["notifications"] for alert in delivered(notification)}
        assert {("CheckoutApiLatencyBudgetBurnFast", "team-checkout-page"),
                ("MailWorkerMessageAgeBudgetBurnFast", "team-mail-page")} <= heard


def wait_for_line(process: subprocess.Popen, text: str) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while text not in process.stderr.readline():
        assert process.poll() is None and time.monotonic() < deadline, f"the script never said {text!r}"


def children(process: subprocess.Popen) -> dict[int, str]:
    """The processes `process` started: pid -> program (from /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == process.pid:
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().split(b"\0")[0].decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_a_run_stopped_midway_leaves_no_server_behind(payments, programs, process_groups, tmp_path):
    process = try_alerts(payments, "fast-burn", [], programs, tmp_path / "stopped.json", process_groups)
    wait_for_line(process, "Prometheus on")
    process.terminate()  # the script alone, as a service manager or a CI job's timeout would
    process.wait(timeout=20)
    assert not signal_group(process, 0), "Prometheus or Alertmanager outlived the script"


def test_a_prometheus_that_dies_mid_run_ends_it_as_a_run_that_could_not_run(payments, programs, process_groups, tmp_path):
    process = try_alerts(payments, "fast-burn", [], programs, tmp_path / "died.json", process_groups)
    wait_for_line(process, "rules loaded")
    [prometheus] = [pid for pid, name in children(process).items() if name == programs["prometheus"]]
    os.kill(prometheus, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    assert process.returncode == 2, f"exit {process.returncode}\n{stdout}\n{stderr}"
    assert "prometheus stopped during the run" in stderr and "Traceback" not in stderr, stderr
    assert not signal_group(process, 0), "Alertmanager outlived the script"


@pytest.mark.parametrize("example", ["payments-api", "notification-worker"])
def test_the_readme_shows_owners_how_to_try_their_alerts(render, example):
    project = render(example, example_answers(example))
    text = section(project.text("README.md"), "Try the alerts locally")
    [command] = fenced_blocks(text, "sh")
    assert command.split()[:3] == ["python3", SCRIPT, "--scenario"]
    [table] = tables(text)
    rows = {row[0].strip("`"): row[2] for row in table[1:]}
    usage = subprocess.run([sys.executable, SCRIPT, "--help"], cwd=project.root, capture_output=True, text=True, timeout=60)
    choices = re.search(r"--scenario \{([a-z,-]+)\}", usage.stdout)[1].split(",")
    assert sorted(rows) == sorted(choices) == sorted(SCENARIOS), "the live test plays every scenario"
    on_call = project.answers["tier"] in TIERS_THAT_PAGE
    assert ("on-call engineer" in rows["fast-burn"]) is on_call, rows["fast-burn"]
    assert "queue" in rows["slow-burn"] and "on-call" not in rows["slow-burn"]
    assert rows["healthy"] == "nobody"
    assert "ticket" in rows["idle"] and "on-call" not in rows["idle"], "an idle exporter pages nobody"


def test_the_script_says_what_is_missing(payments, tmp_path):
    result = subprocess.run([sys.executable, SCRIPT, "--scenario", "healthy", "--prometheus", str(tmp_path / "none")],
                            cwd=payments.root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "prometheus not found" in result.stderr and "--prometheus PATH" in result.stderr
