"""The README is the interface people read first: it must document every question and
give the two set-up commands CI runs. A generated README tells owners what their
histograms need of the OpenTelemetry SDK and of Prometheus."""

from __future__ import annotations

import re

from support.markdown import section
from support.project import ROOT, example_answers
from support.questions import QUESTIONS

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_question_is_in_the_reference_table():
    documented = set(re.findall(r"^\| (?:`[a-z_]+`(?:, )?)+", README, flags=re.M))
    keys = {key for row in documented for key in re.findall(r"`([a-z_]+)`", row)}
    asked = {key for key, spec in QUESTIONS.items() if spec.get("when") is not False}
    assert asked - keys == set(), "questions missing from README"
    assert keys - asked == set(), "README documents questions that do not exist"


def test_the_readme_gives_exactly_one_render_and_one_test_command():
    for marker in ("render-command", "test-command"):
        blocks = re.findall(rf"<!-- {marker} -->\n```sh\n(.+?)\n```\n<!-- /{marker} -->", README, flags=re.S)
        assert len(blocks) == 1, marker
        assert "\n" not in blocks[0].strip(), f"{marker} is one command line"
    assert "--data-file examples/" in README


def test_the_readme_says_what_each_histogram_type_needs_of_the_sdk_and_prometheus():
    for setting in ("ExplicitBucketHistogramAggregation", "base2_exponential_bucket_histogram",
                    "scrape_native_histograms: true", "--enable-feature=native-histograms", "--web.enable-otlp-receiver"):
        assert setting in README, setting


def test_a_native_services_readme_says_what_its_exporter_sdk_and_prometheus_need(render):
    project = render("payments-api-native", {**example_answers("payments-api"), "histogram_type": "native"})
    readme = project.text("README.md")
    convention = section(readme, "Metric convention")
    for needed in ("`histogram_fraction()`", "base2_exponential_bucket_histogram", "View with the base-2 exponential",
                   "protobuf format", "scrape_native_histograms: true", "`PrometheusProto` first",
                   "--web.enable-otlp-receiver"):
        assert needed in convention, needed
    assert "add it to the histogram's buckets" not in convention and "must be one of the histogram's buckets" not in convention
    assert re.search(r"on Prometheus\s+3\.\d+ and Alertmanager", readme), "proven on Prometheus 3 only"
    assert "native histograms, which need Prometheus 3" in readme
    assert "must be Prometheus 3" in section(readme, "Try the alerts locally")
    workflow = project.text(".github/workflows/design-checks.yml")
    assert "native histograms: the promtool of Prometheus 3" in workflow
    design = project.design
    assert "add a bucket bound" not in design, "any threshold works: nothing to add"
