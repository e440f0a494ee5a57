"""The days the generated promtool tests must prove for every SLO, as their names state
them: the story the rules exist for, written once for the alert and property tests."""

from __future__ import annotations

from support.catalog import is_threshold

# Every SLO, every platform.
EVERY_SLO = (
    "a total outage of a fresh process pages",
    "a total outage after an hour of healthy traffic pages",
    "a restart in the middle of a total outage keeps paging",
    "a healthy service that has never failed alerts nobody",
    "an idle service, with no traffic, alerts nobody",
    "a fast burn pages",
    "a slow burn opens a ticket and does not page",
)
# Where Prometheus scrapes the service, `up` tells a broken scrape from an idle target.
SCRAPED = (
    "metrics that vanish, every scrape failing, page",
    "a target gone from service discovery pages",
    "an exporter that is up with no SLI series yet pages nobody, and opens a ticket",
)
# Where the service pushes its metrics (serverless), missing data is a ticket.
PUSHED = (
    "metrics that vanish open a ticket",
    "a service with no SLI series yet pages nobody, and opens a ticket",
)
# Work observed only when it completes: its stall is heard through a signal that grows.
STALLS = {
    "message-age": ("a consumer that stalls, finishing nothing while the oldest message waits, pages",
                    "an idle queue, with nothing waiting, pages nobody"),
    "freshness": ("a pipeline that stops, its last success left behind, pages",),
}

# A threshold read from a native histogram (an SLO of the catalog counted against a
# threshold) lies inside one of its buckets: good events fall in the buckets below it and
# bad ones above, and histogram_fraction() counts them exactly.
NATIVE_THRESHOLD = ("a threshold inside a histogram bucket counts the events on either side of it exactly",)


def days_to_prove(slo_slug: str, deployment: str, histogram_type: str = "classic") -> tuple[str, ...]:
    """What the tests of one SLO (its slug without the service's) must prove."""
    native = NATIVE_THRESHOLD if histogram_type == "native" and is_threshold(slo_slug) else ()
    return EVERY_SLO + (PUSHED if deployment == "serverless" else SCRAPED) + STALLS.get(slo_slug, ()) + native


def unproven(test_names: list[str], slo: str, slo_slug: str, deployment: str, histogram_type: str = "classic") -> list[str]:
    """The days no test of `slo` (its full name) proves, among `test_names`."""
    proven = [name.split(": ", 1)[1] for name in test_names if name.startswith(f"{slo}: ")]
    return [day for day in days_to_prove(slo_slug, deployment, histogram_type)
            if not any(name.startswith(day) for name in proven)]
