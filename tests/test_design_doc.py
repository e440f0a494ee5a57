"""The design document covers the whole brief, in its order, and carries the answers
where a reviewer looks for them."""

from __future__ import annotations

import re

import pytest

from support.markdown import fenced_blocks, headings, section, tables
from support.project import ROOT, example_answers

BRIEF = (ROOT / "tests" / "fixtures" / "system-design-brief.md").read_text(encoding="utf-8")


def _stem(text: str) -> str:
    """'Primary goals (3–6 bullets)' -> 'primary goals'; 'Problem statement: what ...' -> 'problem statement'."""
    return re.split(r":| \(", text, maxsplit=1)[0].strip().lower()


def brief_outline() -> list[tuple[str, list[str]]]:
    """[(section heading, [bullet, ...]), ...] from the brief."""
    outline: list[tuple[str, list[str]]] = []
    for line in BRIEF.split("Acceptance criteria", 1)[0].splitlines():
        if line.startswith("## "):
            outline.append((line[3:].strip(), []))
        elif line.startswith("- ") and outline and not line.startswith("- ..."):
            outline[-1][1].append(line[2:].strip())
        elif line.startswith("Diagram (") and outline:  # section 3 asks for a diagram, not bullets
            outline[-1][1].append(line.rstrip(":"))
    return outline


def acceptance_criteria() -> list[str]:
    tail = BRIEF.split("Acceptance criteria", 1)[1]
    return [line[2:].strip() for line in tail.splitlines() if line.startswith("- ")]


def test_the_brief_outline_is_what_the_tests_expect():
    """Guards the parser above: 13 numbered sections, each asking for something."""
    outline = brief_outline()
    assert [title.split(")")[0] for title, _ in outline] == [str(n) for n in range(1, 14)]
    assert all(bullets for _, bullets in outline)
    assert len(acceptance_criteria()) == 3


def test_every_section_of_the_brief_is_present_in_order(any_project):
    level_two = [h.title for h in headings(any_project.design) if h.level == 2]
    wanted = [title for title, _ in brief_outline()]
    positions = [level_two.index(title) for title in wanted]
    assert positions == sorted(positions)


def test_every_bullet_of_the_brief_is_a_sub_heading(any_project):
    design = any_project.design
    for title, bullets in brief_outline():
        body = section(design, title)
        sub_headings = [_stem(h.title) for h in headings(body) if h.level == 3]
        for bullet in bullets:
            if bullet.startswith("Component "):
                continue  # components are checked below: one sub-heading per real component
            assert _stem(bullet) in sub_headings, f"section {title!r} lacks {bullet!r}"
        in_brief = [stem for stem in sub_headings if stem in map(_stem, bullets)]
        assert list(dict.fromkeys(in_brief)) == [
            _stem(b) for b in bullets if not b.startswith("Component ")
        ], f"sub-headings of {title!r} are out of the brief's order"


def test_each_component_has_the_four_aspects_the_brief_asks_for(any_project):
    body = section(any_project.design, "4) Core Components")
    component_headings = [h for h in headings(body) if h.level == 3]
    assert component_headings, "the service itself is always a component"
    for heading in component_headings:
        text = section(body, heading.title)
        for aspect in ("Responsibilities:", "Inputs/outputs:", "Scaling:", "Failure modes:"):
            assert f"**{aspect}**" in text, f"{heading.title} lacks {aspect}"


def test_the_document_closes_with_the_acceptance_criteria_as_a_checklist(any_project):
    level_two = [h.title for h in headings(any_project.design) if h.level == 2]
    assert level_two[-1] == "Acceptance criteria"
    checklist = section(any_project.design, "Acceptance criteria")
    for criterion in acceptance_criteria():
        assert f"- [ ] {criterion}" in checklist


def test_the_header_tells_status_owner_and_dates(payments):
    answers = example_answers("payments-api")
    design = payments.design
    assert design.startswith(f"# {answers['project_name']}: system design\n")
    header = {row[0]: row[1] for row in tables(design)[0][1:]}
    assert header["Status"] == "Draft"
    assert header["Owner"] == answers["owner"]
    assert header["Tier"].startswith("1 ")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", header["Created"])
    for field in ("Authors", "Reviewers", "Updated", "Links"):
        assert header[field]
    assert " ".join(answers["project_description"].split()) in design


def test_problem_goals_and_non_goals_come_from_the_answers(payments):
    answers = example_answers("payments-api")
    design = payments.design
    problem = section(design, "Problem statement")
    for paragraph in answers["problem_statement"].strip().split("\n\n"):
        for line in paragraph.splitlines():
            assert line.strip() in problem
    goals = section(design, "Primary goals")
    for goal in answers["goals"].strip().splitlines():
        assert f"- {goal}" in goals
    non_goals = section(design, "Non-goals")
    for non_goal in answers["non_goals"].strip().splitlines():
        assert f"- {non_goal}" in non_goals
    assert "TODO:" not in goals + non_goals + problem


def test_unanswered_prose_is_a_visible_prompt(defaults_project):
    """With no goals given, the reviewer sees a TODO, not an empty section."""
    design = defaults_project.design
    assert "- TODO:" in section(design, "Primary goals")
    assert "TODO:" in section(design, "Problem statement")


@pytest.mark.parametrize(
    "name,window,expected",
    [
        # 0.05 % of 30 days is 21.6 minutes; 1 % is 432 minutes.
        ("payments-api", 30, {"Availability": ("99.95 %", "21.6 min"), "Latency": ("99 %", "7.2 h")}),
        # 0.5 % of 30 days is 216 minutes; 5 % is 36 hours.
        ("notification-worker", 30, {"Processing success": ("99.5 %", "3.6 h"), "Message age": ("95 %", "36 h")}),
        # 1 % of 28 days is 403.2 minutes.
        ("clickstream-pipeline", 28, {"Freshness": ("99 %", "6.7 h")}),
    ],
)
def test_the_slo_table_follows_the_kind_targets_and_window(render, name, window, expected):
    body = section(render(name, example_answers(name)).design, "Non-functional requirements")
    table = tables(body)[0]
    rows = {row[0]: row for row in table[1:]}
    assert list(rows) == list(expected)
    assert f"{window} days" in table[0][-1]
    for title, (target, budget) in expected.items():
        assert rows[title][2:4] == [target, budget], title


def test_tiny_and_large_budgets_read_in_seconds_and_days(render):
    """0.001 % of 28 days is 24 seconds; 10 % of 28 days is 2.8 days."""
    project = render("extreme-targets", {"availability_slo": 99.999, "latency_slo": 90.0, "slo_window_days": 28})
    rows = {row[0]: row for row in tables(section(project.design, "Non-functional requirements"))[0][1:]}
    assert rows["Availability"][2:4] == ["99.999 %", "24 s"]
    assert rows["Latency"][2:4] == ["90 %", "2.8 d"]


def test_the_error_budget_is_shown_in_time_per_window(render):
    """The brief's example: 99.95 % of 30 days leaves 21.6 minutes."""
    design = render("payments-api", example_answers("payments-api")).design
    rows = tables(section(design, "Non-functional requirements"))[0]
    assert rows[1][3] == "21.6 min"


def test_compliance_obligations_appear_for_each_chosen_regime(payments):
    body = section(payments.design, "Compliance and governance")
    assert "**restricted**" in body
    for label, obligation_word in (("PCI DSS", "cardholder"), ("GDPR", "data subject"), ("SOC 2", "reviewed")):
        assert f"**{label}**" in body
        assert obligation_word in body
    assert "HIPAA" not in body


def test_the_diagrams_draw_every_component(payments):
    answers = example_answers("payments-api")
    body = section(payments.design, "3) High-level Architecture")
    ascii_art = fenced_blocks(body, "text")[0]
    mermaid = fenced_blocks(body, "mermaid")[0]
    names = answers["datastores"] + answers["messaging"] + [
        line.split(":")[0] for line in answers["dependencies"].strip().splitlines()
    ]
    assert "[Clients]" in ascii_art and "[API gateway]" in ascii_art
    assert f"[{answers['project_slug']}]" in ascii_art
    for name in names:
        assert f"[{name}]" in ascii_art
        assert re.search(rf"service --> \w+[\[(]+{re.escape(name)}[\])]+", mermaid), name
    assert mermaid.startswith("flowchart")


def test_dependencies_become_components_with_their_purpose(payments):
    dependencies = section(section(payments.design, "4) Core Components"), "Dependencies")
    for line in example_answers("payments-api")["dependencies"].strip().splitlines():
        name, purpose = line.split(": ", 1)
        component = section(dependencies, name)
        assert f"- **Responsibilities:** {purpose}." in component
        assert f"TODO: the calls made to {name}," in component and f"TODO: the rate limits or quotas of {name}," in component
    assert "- **Failure modes:** each can be unavailable, slow, or return errors or wrong data;" in dependencies


def test_recovery_objectives_and_topology_are_in_the_operations_section(payments):
    answers = example_answers("payments-api")
    body = section(payments.design, "Disaster recovery and RTO/RPO")
    assert (answers["rto_minutes"], answers["rpo_minutes"]) == (30, 1), "the example these lines read"
    assert "**Recovery time objective (RTO):** 30 minutes." in body
    assert "**Recovery point objective (RPO):** 1 minute." in body
    assert "recovery point objective of 1 minute (section 12)" in payments.design
    assert "Warm standby" in body


def test_the_threat_model_has_stride_rows_for_each_component(payments):
    body = section(payments.design, "Threat model and mitigations")
    table = tables(body)[0]
    assert table[0] == ["Component", "STRIDE", "Threat", "Mitigation"]
    rows = {row[0]: row[1] for row in table[1:]}
    assert rows["PostgreSQL and Redis"] == "Tampering, Information disclosure, Denial of service"
    assert rows["Kafka"] == "Tampering, Information disclosure, Denial of service"
    assert rows["card-processor, ledger-service, fraud-scoring and customer-profile"] == "Spoofing, Repudiation, Denial of service"
    service_categories = {row[1] for row in table[1:] if row[0] == "payments-api"}
    assert service_categories == {
        "Spoofing", "Tampering", "Repudiation", "Information disclosure",
        "Denial of service", "Elevation of privilege",
    }


def test_the_service_kind_changes_what_the_document_says(render):
    worker = render("notification-worker", example_answers("notification-worker")).design
    pipeline = render("clickstream-pipeline", example_answers("clickstream-pipeline")).design
    assert "processes each one at least once" in section(worker, "Functional requirements")
    assert "Correctness:" in section(pipeline, "Non-functional requirements")
    assert "Output datasets" in section(pipeline, "External API endpoints")


def test_a_one_minute_objective_reads_in_the_singular(render):
    """A pipeline with one-minute objectives: every file says "1 minute", and a plural
    quantity still reads as one."""
    project = render("one-minute-objectives", {
        "service_kind": "pipeline", "topology": "multi-region-active-active",
        "freshness_minutes": 1, "rpo_minutes": 1, "rto_minutes": 5,
    })
    texts = {path.name: path.read_text(encoding="utf-8") for path in project.files()}
    assert not [name for name, text in texts.items() if re.search(r"\b1 minutes\b", text)]
    assert "younger than 1 minute." in texts["openslo.yaml"]
    assert "| Recovery point (RPO) | 1 minute |" in texts["disaster-recovery.md"]
    assert "**Recovery time objective (RTO):** 5 minutes." in project.design
    assert "younger than 1 minute. The objective" in texts["slo-freshness.md"]


def test_the_architecture_summary_reads_as_prose(payments):
    """Lists read as a person writes them, and the store of record is named where it stands."""
    body = section(payments.design, "3) High-level Architecture")
    assert "It owns PostgreSQL (the store of record) and Redis." in body
    assert "It calls 4 other services: card-processor, ledger-service, fraud-scoring and customer-profile." in body


def test_a_dependency_purpose_becomes_one_sentence(render):
    """The owner's purpose gets a full stop when it has none, and keeps its own when it has one."""
    project = render("purposes", {"dependencies": "ledger: records payments\nrisk: is it fraud?\nvault: stores tokens.\n"})
    components = section(project.design, "4) Core Components")
    for sentence in ("records payments.", "is it fraud?", "stores tokens."):
        assert f"- **Responsibilities:** {sentence}\n" in components
    assert "tokens.." not in components and "fraud?." not in components


# --- Each thing said once ---------------------------------------------------------------------

# The payments example's components, as its design document names them.
PAYMENTS_COMPONENTS = ["payments-api", "PostgreSQL", "Redis", "Kafka",
                       "card-processor", "ledger-service", "fraud-scoring", "customer-profile"]


def words(text: str) -> list[str]:
    """Words as a reviewer's `wc -w` counts them: every run of non-space characters, a
    table's pipes, a list's dash and a heading's hashes included."""
    return text.split()


def holds_text(line: str) -> bool:
    """A line with a letter or a digit, not only pipes, dashes or hashes."""
    return bool(re.search(r"[^\W_]", line))


def lines_repeated_per_component(design: str, components: list[str]) -> list[str]:
    """The generated part of every line, outside code blocks, that another line repeats
    once the components' names are taken out of both. A prompt (`TODO:` to the end of its
    table cell or line) is not generated text: an owner answers it for each component."""
    copies: dict[str, list[str]] = {}
    in_fence = False
    for line in design.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        generated = re.sub(r"TODO:[^|]*", "", line)
        anonymous = generated
        for name in sorted(components, key=len, reverse=True):
            anonymous = anonymous.replace(name, "")
        if not in_fence and holds_text(anonymous):
            copies.setdefault(anonymous, []).append(anonymous)
    return [copy for lines in copies.values() if len(lines) > 1 for copy in lines]


def test_the_payments_design_says_each_thing_once(payments):
    """Reviewers counted 4,779 words (`wc -w`) before the document said these things once:
    lines repeated per component (the failure modes of every dependency, their STRIDE rows,
    the breaker column), then obligations, notes and pointers said at length."""
    design = payments.design
    total = len(words(design))
    repeated = sum(len(words(line)) for line in lines_repeated_per_component(design, PAYMENTS_COMPONENTS))
    assert total < 4400, f"{total} words"
    assert repeated < total / 100, f"{repeated} of {total} words repeat per component"


def test_the_counts_above_find_lines_repeated_per_component():
    """Guards the measure: lines that differ only by a component's name count, prompts do not."""
    design = ("| Redis | TODO: ms | opens at 50 % errors |\n| Kafka | TODO: ms | opens at 50 % errors |\n"
              "- **Redis:** TODO: the contract.\n- **Kafka:** TODO: the contract.\n\n```text\n[Redis]\n[Kafka]\n```\n")
    assert lines_repeated_per_component(design, ["Redis", "Kafka"]) == ["|  | | opens at 50 % errors |"] * 2
    assert len(words("| Redis | opens at 50 % errors |\n\n- **Kafka:** a list item")) == 14, "as `wc -w` counts"
    assert not holds_text("| --- | --- |")


def test_a_paragraph_stands_in_one_section_and_the_other_points_to_it(payments):
    design = payments.design
    assert design.count("HorizontalPodAutoscaler") == 1
    assert "HorizontalPodAutoscaler" in section(design, "Horizontal vs vertical scaling")
    service = section(section(design, "4) Core Components"), "Payments API")
    assert "- **Scaling:** horizontal, as section 8 describes, sized for the peak load of section 2." in service
    breakers = section(design, "Circuit breakers, timeouts, retries, DLQs")
    assert design.count("opens at 50 % errors over 20 calls") == 1
    assert "opens at 50 % errors over 20 calls" in breakers
    timeouts = tables(breakers)[1]
    assert timeouts[0] == ["Component", "Timeout", "When it is unavailable"]
    assert [row[0] for row in timeouts[1:]] == PAYMENTS_COMPONENTS[1:], "a timeout and a fallback to fill per component"


def test_trade_offs_point_to_the_decision_records_instead_of_listing_their_options(payments):
    trade_offs = section(payments.design, "11) Trade-offs & Alternatives")
    for option in ("MySQL", "DynamoDB", "Cassandra", "gRPC", "GraphQL", "Virtual machines"):
        assert option not in trade_offs, option
    alternatives = section(trade_offs, "Considered alternatives and why rejected")
    assert "Considered Options" in alternatives and "Decision Outcome" in alternatives
    assert "[ADR 0003](adr/0003-store-of-record.md): Keep the store of record in PostgreSQL." in trade_offs
