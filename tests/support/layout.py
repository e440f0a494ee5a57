"""Where a generated repository keeps the artifacts several test modules read."""

OPENSLO = "slo/openslo.yaml"
PROMETHEUS = "monitoring/prometheus"
RULES = f"{PROMETHEUS}/slo-rules.yaml"
RULE_TESTS = f"{PROMETHEUS}/slo-rules.test.yaml"
ROUTES = "monitoring/alertmanager/routes.yaml"
RUNBOOKS = "docs/runbooks"
RUNBOOK_INDEX = f"{RUNBOOKS}/README.md"
BUDGET_TESTS = f"{PROMETHEUS}/slo-budget.test.yaml"
GRAFANA = "monitoring/grafana"


def dashboard_file(project_slug: str) -> str:
    return f"{GRAFANA}/{project_slug}-slos.json"
