"""One set of answers, one set of numbers: the design document, the OpenSLO file, the
alert rules and the error budget policy agree on every SLO."""

from __future__ import annotations

import re
from decimal import Decimal

from support.layout import OPENSLO, RULE_TESTS, RUNBOOK_INDEX
from support.markdown import section, tables


def _doc_objectives(project) -> dict[str, Decimal]:
    table = tables(section(project.design, "Non-functional requirements"))[0]
    return {row[0]: Decimal(row[2].rstrip(" %")) for row in table[1:]}


def test_the_design_document_openslo_and_rules_agree(any_project):
    documents = any_project.yaml_documents(OPENSLO)
    slos = [doc for doc in documents if doc["kind"] == "SLO"]
    slis = {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == "SLI"}
    in_doc = _doc_objectives(any_project)
    alert_exprs = {rule["alert"]: rule["expr"] for rule in any_project.alerts}
    assert len(in_doc) == len(slos)
    for slo in slos:
        title = slis[slo["spec"]["indicatorRef"]]["metadata"]["displayName"]
        target = Decimal(str(slo["spec"]["objectives"][0]["target"]))
        assert in_doc[title] / 100 == target, title
        budget = 1 - target
        exprs = [e for e in alert_exprs.values() if f'slo="{slo["metadata"]["name"]}"' in e]
        budgets = {Decimal(b) for e in exprs for b in re.findall(r"\* ([\d.]+)\)", e)}
        assert budgets == {budget}, title


def test_the_budget_policy_shows_the_same_budgets(any_project):
    in_doc = {row[0]: row[3] for row in tables(section(any_project.design, "Non-functional requirements"))[0][1:]}
    policy = {row[0]: row[2] for row in tables(any_project.text("docs/error-budget-policy.md"))[0][1:]}
    assert set(policy) == set(in_doc)
    for title, budget in in_doc.items():
        assert policy[title].startswith(budget + " ")


def test_alert_names_agree_between_rules_tests_and_runbooks(any_project):
    names = {rule["alert"] for rule in any_project.alerts}
    tested = {c["alertname"] for t in any_project.yaml(RULE_TESTS)["tests"] for c in t["alert_rule_test"]}
    indexed = {row[0].strip("`") for row in tables(any_project.text(RUNBOOK_INDEX))[0][1:]}
    design_alerts = set(re.findall(r"\[`(\w+)`\]\(runbooks/", section(any_project.design, "Tracing, metrics, logs, audits")))
    assert names == tested == indexed == design_alerts
