"""A reader opens the TechDocs site in a real browser (Debian's Chromium, headless, offline):
the design document's architecture is drawn as a diagram with a node per component, and
whatever HTML the answers contained is shown as typed and never runs."""

from __future__ import annotations

import html.parser

import pytest

from support.browser import build_site, reading

DESCRIPTION = 'Moves money <script>alert("description")</script> *fast*, with `<b>tags</b>` in code'
GOALS = "**Never** charge twice <img src=x onerror=alert('goal')>\n`List<Payment>` stays code"
PROBLEM = (
    "Retries <script>alert('problem')</script> charge twice.\n"
    "[details](javascript:alert('link')) and *x*{: onclick=\"alert('attribute')\"}"
)
PURPOSE = "records <svg onload=alert('dependency')> every payment"
# A page's title is written into <title>, where text can end the element.
TITLED = "billing </title><script>alert('title')</script>"
ANSWERS = {
    "project_name": 'Payments "Core" API',
    "project_slug": "payments-api",
    "project_description": DESCRIPTION,
    "goals": GOALS,
    "problem_statement": PROBLEM,
    "datastores": ["postgresql", "redis"],
    "messaging": ["kafka"],
    "dependencies": f"ledger-service: {PURPOSE}\nfraud-scoring\n{TITLED}",
    "backstage": True,
}


@pytest.fixture(scope="module")
def project(render):
    return render("docs-site-reader", ANSWERS)


@pytest.fixture(scope="module")
def site(project, tmp_path_factory):
    return build_site(project.root, tmp_path_factory.mktemp("site"))


class _MermaidBlocks(html.parser.HTMLParser):
    """The `<pre class="mermaid"><code>` blocks of a page, as Backstage's Mermaid addon finds them."""

    def __init__(self):
        super().__init__()
        self.blocks: list[str] = []
        self._in = 0

    def handle_starttag(self, tag, attrs):
        if tag == "pre" and "mermaid" in (dict(attrs).get("class") or "").split():
            self._in, self.blocks = 1, [*self.blocks, ""]
        elif tag == "code" and self._in == 1:
            self._in = 2

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in = 0

    def handle_data(self, data):
        if self._in == 2:
            self.blocks[-1] += data


def test_the_architecture_is_drawn_as_a_diagram_with_a_node_per_component(project, site):
    components = sorted(
        path.stem.split("-", 1)[1]
        for path in project.files("docs/runbooks/*.md")
        if path.stem.startswith(("datastore-", "messaging-", "dependency-"))
    )
    assert len(components) == 6, components

    parser = _MermaidBlocks()
    parser.feed((site / "design" / "index.html").read_text(encoding="utf-8"))
    assert len(parser.blocks) == 1, "the Mermaid block is a <pre class=mermaid><code>, where the addon looks"
    assert parser.blocks[0].startswith("flowchart LR\n")

    with reading(site) as reader:
        page = reader.open("design/")
        page.wait_for_selector(".mermaid svg g.node")
        nodes = page.eval_on_selector_all(".mermaid svg g.node", "nodes => nodes.map(n => n.textContent.trim())")
        assert any("mermaid" in url for url in reader.offsite), "the theme loaded Mermaid (from .tools/)"
        assert page.locator("pre.mermaid code:visible").count() == 0, "no diagram is left as source code"

    assert "payments-api" in nodes
    for component in components:
        assert component in nodes, f"{component} is drawn: {nodes}"


def test_html_in_the_answers_is_shown_as_typed_and_never_runs(site):
    with reading(site) as reader:
        page = reader.open("design/")
        description = page.locator("blockquote").first
        assert description.inner_text() == DESCRIPTION.replace("*fast*", "fast").replace("`", "")
        assert description.locator("em").inner_text() == "fast", "emphasis still works"
        assert description.locator("code").inner_text() == "<b>tags</b>", "code keeps every character"
        meta = page.locator('meta[name="description"]').get_attribute("content")
        assert meta == DESCRIPTION

        goals = page.locator("h3#primary-goals + ul > li")
        assert goals.nth(0).inner_text() == "Never charge twice <img src=x onerror=alert('goal')>"
        assert goals.nth(0).locator("strong").inner_text() == "Never"
        assert goals.nth(1).locator("code").inner_text() == "List<Payment>"

        problem = page.locator("h3#problem-statement + p").inner_text()
        assert "Retries <script>alert('problem')</script> charge twice." in problem
        assert "[details](javascript:alert('link'))" in problem
        assert page.locator("[onclick], [onerror], [onload], a[href^='javascript:']").count() == 0
        assert page.title().endswith('Payments "Core" API'), "the site name is text in the title"

        page = reader.open("runbooks/dependency-ledger-service/")
        assert f"calls ledger-service: {PURPOSE}." in page.locator("article").inner_text()

        page = reader.open("runbooks/dependency-billing-title-script-alert-title-script/")
        assert page.locator("h1").inner_text().rstrip("¶") == f"Runbook: {TITLED} unavailable or slow"

        page = reader.open("")
        assert page.locator("article p").first.inner_text() == DESCRIPTION.replace("*fast*", "fast").replace("`", "")

    assert reader.dialogs == [], f"a script from the answers ran: {reader.dialogs}"
