#!/usr/bin/env python3
"""Record what a real Alertmanager sends the paging tools and the queue, for the tests of
tools/try_alerts.py (tests/fixtures/alertmanager/<version>.json).

Two generated repositories (the payments-api example: PagerDuty; clickstream-pipeline:
Opsgenie) are routed as tools/try_alerts.py routes them, and alerts are posted to
Alertmanager's API with the labels and annotations the promtool tests expect of them: a
page, a ticket the page inhibits, a ticket of another SLO (the queue's webhook), and the
service's target-down page, whose summary and description hold what YAML reads as
structure (": ", braces, quotes, a list item, a document marker, a Go template). The page receiver has a second
PagerDuty integration with Alertmanager's default details, as a receiver written before
routes.yaml set them has.

    python3 tests/record_alertmanager_payloads.py PATH/TO/alertmanager

renders both examples from the working tree, records and writes the fixture named after
the Alertmanager's version. Debian's build of alertmanager is run as the tests run it
(tests/support/alertmanager.py)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import yaml

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures" / "alertmanager"
EXAMPLES = ("payments-api", "clickstream-pipeline")
DEFAULT_DETAILS = "default details"  # what the second PagerDuty integration stands in for


def load_try_alerts():
    spec = importlib.util.spec_from_file_location("try_alerts", ROOT / "template" / "tools" / "try_alerts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_alerts(repository: Path) -> dict[str, dict]:
    """Each alert of the repository's promtool tests, by name: its labels and annotations."""
    tests = yaml.safe_load((repository / "monitoring/prometheus/slo-rules.test.yaml").read_text(encoding="utf-8"))
    alerts = {}
    for case in tests["tests"]:
        for check in case.get("alert_rule_test") or []:
            for expected in check["exp_alerts"]:
                alerts[check["alertname"]] = {"labels": {"alertname": check["alertname"], **expected["exp_labels"]},
                                              "annotations": expected["exp_annotations"]}
    return alerts


def awkward_annotations(service: str, runbook_url: str) -> dict:
    """A summary and a description that YAML would read as a mapping, a list, a document."""
    return {
        "summary": f'{service}: p99 {{le="0.4"}} is "slow" # it\'s the \'bucket\'',
        "description": ("For 9 minutes: no series {job=\"x\"} or {{ .Status }}.\n"
                        "- a line like a list item\n---\nkey: value\n  indented: [1, 2]"),
        "runbook_url": runbook_url,
    }


def alerts_to_post(repository: Path) -> list[dict]:
    """A page, the ticket of the same SLO (inhibited), the ticket of the last SLO when it is
    another one, and the service's target-down page with awkward annotations."""
    alerts = expected_alerts(repository)
    fast = sorted(name for name in alerts if name.endswith("BudgetBurnFast"))
    slow = sorted(name for name in alerts if name.endswith("BudgetBurnSlow"))
    [down] = [name for name in alerts if name.endswith("TargetDown")]
    chosen = [alerts[fast[0]], alerts[slow[0]]] + ([alerts[slow[-1]]] if len(slow) > 1 else [])
    awkward = alerts[down]
    chosen.append({"labels": awkward["labels"],
                   "annotations": awkward_annotations(awkward["labels"]["service"], awkward["annotations"]["runbook_url"])})
    return chosen


def with_default_details(config: dict, inbox, base: str) -> None:
    """Beside each PagerDuty integration, one without `details`: Alertmanager's default."""
    for receiver in config["receivers"]:
        for integration in list(receiver.get("pagerduty_configs") or []):
            plain = {key: value for key, value in integration.items() if key not in ("details", "url")}
            plain["url"] = inbox.endpoint(base, receiver["name"], "pagerduty", stands_in_for=DEFAULT_DETAILS)
            receiver["pagerduty_configs"].append(plain)


def page_integrations(repository: Path) -> dict:
    """The paging integrations of routes.yaml, as recorded with the payloads."""
    config = yaml.safe_load((repository / "monitoring/alertmanager/routes.yaml").read_text(encoding="utf-8"))
    return {receiver["name"]: {kind: configs for kind, configs in receiver.items()
                               if kind in ("pagerduty_configs", "opsgenie_configs")}
            for receiver in config["receivers"] if receiver.get("pagerduty_configs") or receiver.get("opsgenie_configs")}


def record(alertmanager: str, repositories: list[Path], workdir: Path, timeout: float = 30) -> dict:
    """Post the alerts to a real Alertmanager routed as try_alerts routes them, and return
    what it sent and what it says of each alert."""
    try_alerts = load_try_alerts()
    services = [try_alerts.load_service(path) for path in repositories]
    inbox = try_alerts.Inbox()
    local = try_alerts.receiver(inbox)
    base = f"http://127.0.0.1:{local.server_address[1]}"
    posted = [alert for path in repositories for alert in alerts_to_post(path)]
    manager = None
    try:
        config = try_alerts.alertmanager_config(services, inbox, base)
        with_default_details(config, inbox, base)
        try_alerts.write_yaml(workdir / "alertmanager.yml", config)
        manager = try_alerts.Server("alertmanager", alertmanager, lambda port: [
            f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url=http://127.0.0.1:{port}/",
            "--cluster.listen-address="], workdir)
        deadline = time.monotonic() + timeout
        manager.start(deadline)
        now = datetime.now(UTC).isoformat()
        body = [dict(alert, startsAt=now, generatorURL="http://127.0.0.1:9090/graph?g0.expr=up&g0.tab=1")
                for alert in posted]
        request = urllib.request.Request(f"{manager.url}/api/v2/alerts", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=5).close()
        held = [alert for alert in posted if alert["labels"]["severity"] == "ticket"
                and any(other["labels"].get("slo") == alert["labels"]["slo"] and other["labels"]["severity"] == "page"
                        for other in posted)]
        heard = [alert["labels"]["alertname"] for alert in posted if alert not in held]

        def done():
            managed = manager.get("/api/v2/alerts")
            named = {a["labels"].get("alertname") for note in inbox.snapshot() for a in note["alerts"]}
            return managed if set(heard) <= named and len(try_alerts.suppressed(managed)) == len(held) else None

        managed = try_alerts.poll(done, deadline, [manager], every=0.2)
        if managed is None:
            raise AssertionError(f"not every alert was heard before the timeout: {inbox.snapshot()}\n"
                                 f"Alertmanager's log: {manager.log.read_text(errors='replace')[-2000:]}")
        while True:  # the last integrations of a receiver may come a moment later
            count = len(inbox.snapshot())
            time.sleep(2)
            if len(inbox.snapshot()) == count:
                break
        version = re.search(r"version=([0-9][^,\s)]*)", manager.log.read_text(errors="replace"))
        return {
            "alertmanager": version[1] if version else "unknown",
            "page_integrations": {service["service"]: page_integrations(service["repository"]) for service in services},
            "posted": posted,
            "alerts": managed,
            "notifications": [{key: note[key] for key in ("receiver", "integration", "stands_in_for", "path", "payload")}
                              for note in sorted(inbox.snapshot(), key=lambda note: note["received"])],
        }
    finally:
        if manager is not None:
            manager.stop()
        local.shutdown()
        local.server_close()


def render(example: str, destination: Path) -> Path:
    subprocess.run([sys.executable, "-m", "copier", "copy", "--quiet", "--defaults", "--vcs-ref", "HEAD",
                    "--data-file", str(ROOT / "examples" / f"{example}.yml"), str(ROOT), str(destination)],
                   check=True, capture_output=True, timeout=300)
    return destination


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("alertmanager", help="the alertmanager program to record")
    parser.add_argument("--out", type=Path, default=FIXTURES, help=f"where to write (default: {FIXTURES})")
    args = parser.parse_args()
    sys.path.insert(0, str(TESTS))
    from support.alertmanager import runnable_alertmanager, short_directory

    templates = short_directory()
    with tempfile.TemporaryDirectory(prefix="gw-record-") as directory:
        work = Path(directory)
        try:
            binary = runnable_alertmanager(shutil.which(args.alertmanager) or args.alertmanager, work, templates)
            repositories = [render(example, work / example) for example in EXAMPLES]
            recording = record(binary, repositories, work)
        finally:
            shutil.rmtree(templates, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"{recording['alertmanager']}.json"
    target.write_text(json.dumps(recording, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{target}: {len(recording['notifications'])} notifications")
    return 0


if __name__ == "__main__":
    sys.exit(main())
