"""Where a generated repository keeps the artifacts several test modules read."""

OPENSLO = "slo/openslo.yaml"
PROMETHEUS = "monitoring/prometheus"
RULES = f"{PROMETHEUS}/slo-rules.yaml"
RULE_TESTS = f"{PROMETHEUS}/slo-rules.test.yaml"
ROUTES = "monitoring/alertmanager/routes.yaml"
RUNBOOKS = "docs/runbooks"
RUNBOOK_INDEX = f"{RUNBOOKS}/README.md"
