#!/usr/bin/env python3
"""See this service's alerts reach people before deploying them.

Starts a real Prometheus and a real Alertmanager on 127.0.0.1. Prometheus scrapes a fake
exporter that plays a scenario in the metric convention of README.md and evaluates
monitoring/prometheus/slo-rules.yaml; Alertmanager routes with
monitoring/alertmanager/routes.yaml. A local receiver stands in for the paging tool and
the team's queue, and this prints what would have reached whom. What the exporter serves
follows monitoring/prometheus/metric-convention.json, written with the rules: the series
each SLI counts, the error ratios its alerts fire above, and the signal that grows while
work waits, for an SLO that has one.

Scenarios, played on every SLO of the service at once:
  fast-burn  far more events fail than the page threshold allows: pages, and opens a ticket
  slow-burn  more fail than the ticket threshold allows, fewer than a page needs
  outage     every event fails; an errors SLI has only failure series, as after a crash
  vanish     after two healthy scrapes every scrape fails
  idle       the exporter answers scrapes but serves no SLI series yet, as after a quiet
             restart or in a passive region
  stall      after two healthy scrapes nothing completes: the histograms stop moving while
             the stall signal (the oldest message's age, the last success's time) grows
             past its threshold; SLOs without a stall signal play healthy
  healthy    nothing fails: nobody hears anything

What differs from production, so that a run takes seconds:
- scrapes and rule evaluations every second, each scrape a minute of the promtool tests'
  traffic; every window of the burn-rate alerts sees the same few seconds of traffic, so
  the windows are not tried here (promtool's tests in
  monitoring/prometheus/slo-rules.test.yaml prove them);
- an alert's `for:` (the target, stall and missing-data alerts wait minutes) lasts FOR_SECONDS seconds, and a
  stall signal starts past its threshold instead of growing to it;
- the rules are loaded once every service has been scraped;
- the route is placed under a root route, as in the organisation's Alertmanager, whose
  group_wait is one second;
- nothing leaves the machine: every integration of the receivers (PagerDuty, Opsgenie,
  webhooks; any other kind is replaced by a webhook) posts to the local receiver, and
  no secret is read (keys and key files are replaced by a placeholder).

A service whose SLIs read native histograms (its metric convention file gives their series
a `native` layout) is served in Prometheus's protobuf format, the one that carries them,
and needs Prometheus 3: 3.8 and later scrape them with `scrape_native_histograms`, 3.0 to
3.7 with `--enable-feature=native-histograms`, read from `prometheus --version`. Other
services are served in the text format.

The report names, per notification, its receiver and each alert with its severity, tier,
summary and runbook, from the payload the paging tool or the queue would get (Alertmanager
0.25 and later). Alerts that an inhibit rule of routes.yaml holds back are reported as
inhibited: nobody is to hear them while the alert that inhibits them fires.

Usage:
  python3 tools/try_alerts.py --scenario fast-burn
  python3 tools/try_alerts.py --scenario vanish --prometheus ~/bin/prometheus ../other-service

Other repositories generated from the same template join the run as further services of
the same Prometheus and Alertmanager, each with its own metric convention file, rules,
route and receivers.

Needs Python 3.9+, PyYAML, and the `prometheus` and `alertmanager` programs (release
binaries from https://prometheus.io/download/ or a package). Exit 0: the scenario ran and
settled (what reached whom is printed); 1: it did not settle before --timeout; 2: it
could not run, or Prometheus or Alertmanager stopped during the run.
"""

from __future__ import annotations

import argparse
import http.server
import json
import math
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, NamedTuple, TypeVar

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    print("try_alerts: PyYAML is required: python -m pip install pyyaml", file=sys.stderr)
    sys.exit(2)

SCENARIOS = {
    "fast-burn": "far more events fail than the page threshold allows",
    "slow-burn": "more events fail than the ticket threshold allows, fewer than a page needs",
    "outage": "every event fails; successes are never counted",
    "vanish": "two healthy scrapes, then every scrape fails (HTTP 503)",
    "idle": "the exporter answers scrapes, with no SLI series yet (a quiet restart, a passive region)",
    "stall": "two healthy scrapes, then nothing completes while the stall signals grow past their thresholds",
    "healthy": "no event fails",
}
INTERVAL_SECONDS = 1
FOR_SECONDS = 5
EVENTS_PER_SCRAPE = 1000
PLACEHOLDER_KEY = "try-alerts-placeholder"
UNROUTED = "try-alerts-unrouted"
CONVENTION = Path("monitoring/prometheus/metric-convention.json")
RULES = Path("monitoring/prometheus/slo-rules.yaml")
ROUTES = Path("monitoring/alertmanager/routes.yaml")
HERE = Path(__file__).resolve().parents[1]

T = TypeVar("T")


class CannotRun(Exception):
    """Something this script needs is missing or broken; the message says what."""


# --- The services -------------------------------------------------------------------


def load_service(repository: Path) -> dict:
    """A repository's service as its metric convention file describes it."""
    repository = repository.resolve()
    path = repository / CONVENTION
    try:
        service = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CannotRun(f"{repository} has no {CONVENTION}: is it generated from the same template,"
                        " at a release that writes it (`copier update`)?") from None
    except (OSError, ValueError) as error:
        raise CannotRun(f"cannot read {path}: {error}") from error
    missing = [key for key in ("service", "tier", "job", "slos") if key not in service]
    missing += [f"slos[].{key}" for slo in service.get("slos") or []
                for key in ("name", "indicator", "histogram", "series", "bucket", "alert_error_ratios") if key not in slo]
    if missing or not service["slos"]:
        raise CannotRun(f"{path} lacks {', '.join(sorted(set(missing))) or 'slos'}")
    return dict(service, repository=repository)


SELECTOR = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?$')
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def parse_selector(selector: str) -> tuple[str, dict]:
    """The name and labels of `name{job="x",code="500"}`, without job, which Prometheus
    sets from the scrape. Only `=` matchers name a series."""
    match = SELECTOR.match(selector.strip())
    if not match:
        raise CannotRun(f"cannot read the series {selector!r}")
    labels, text, position = {}, match[2] or "", 0
    while position < len(text):
        pair = MATCHER.match(text, position)
        if not pair:
            raise CannotRun(f"cannot read the series {selector!r}: only name=\"value\" matchers name a series")
        labels[pair[1]] = re.sub(r'\\(.)', lambda m: "\n" if m[1] == "n" else m[1], pair[2])
        position = pair.end()
    labels.pop("job", None)
    return match[1], labels


# --- What the exporter plays ----------------------------------------------------------
#
# Traffic is told in phases, as the input series of slo-rules.test.yaml are: each phase
# has the share of `bad` events, and optionally a `load` (a multiple of the usual
# traffic), no `traffic`, a `restart` at its start (counters start again from 0; label
# sets that see no event after it are gone) and `minutes` (its length, one scrape a
# minute; without it, a phase lasts until the run moves on), a `scrape` other than "ok"
# ("failing": every scrape answers with an error; "gone": the target left discovery, which
# the exporter plays as failing) and `stalled` (nothing completes while the SLO's stall
# signal grows past its threshold). Here a phase can also serve none of the SLO's series
# (`exported: False`, a process before its first observation). Scrape k serves the
# events of the k minutes before it, as the tests' sample k does.


def bad_share(slo: dict, scenario: str) -> float:
    """The share of bad events a scenario plays for one SLO. Every window sees the same
    share here, so an alert fires when the share is above its lowest threshold."""
    ratios = slo["alert_error_ratios"]
    if scenario == "fast-burn":  # halfway (geometrically) from the highest page threshold to 100 %
        return math.sqrt(max(ratios["page"]))
    if scenario == "slow-burn":  # halfway from the lowest ticket threshold to the lowest page one
        return math.sqrt(min(ratios["ticket"]) * min(ratios["page"]))
    return 1.0 if scenario == "outage" else 0.0


def scenario_phases(scenario: str, slo: dict) -> list[dict]:
    """The phases one SLO plays in a scenario; a second phase begins once the rules have
    been evaluated on the first."""
    healthy = {"bad": 0.0}
    if scenario == "vanish":
        return [healthy, {"bad": 0.0, "scrape": "failing"}]
    if scenario == "idle":
        return [{"bad": 0.0, "traffic": False, "exported": False}]
    if scenario == "stall":
        return [healthy, {"bad": 0.0, "traffic": False, "stalled": True} if slo.get("stall") else healthy]
    return [{"bad": bad_share(slo, scenario)}]


class LabelSet:
    """One label set of a histogram: its count and its buckets, and whether it exists yet."""

    def __init__(self, labels: dict, lazy: bool, side: str):
        self.labels = tuple(sorted(labels.items()))
        self.lazy = lazy  # appears with its first event, and is gone after a restart until then
        self.side = side  # the events it counts: "good" or "bad" of an errors SLO, or "all"
        self.count = 0.0
        self.buckets: dict[str, float] = {}
        self.native = [0.0, 0.0]  # a native histogram's events below and above the threshold
        self.exists = False
        self.step = 0.0  # events per scrape in the current phase
        self.bucket_steps: dict[str, float] = {}
        self.native_steps = (0.0, 0.0)


class ClassicHistogram(NamedTuple):
    """A histogram as counters per bucket bound: (bound as exported, cumulative count)
    pairs, +Inf last, with the count and sum of its observations."""
    buckets: list[tuple[str, float]]
    count: float
    sum: float


class NativeHistogram(NamedTuple):
    """A native histogram: observations in consecutive base-2 buckets from `offset` on
    (at schema 0, bucket i holds values in (2^(i-1), 2^i]), and their sum."""
    schema: int
    offset: int
    buckets: list[float]
    sum: float

    @property
    def count(self) -> float:
        return sum(self.buckets)


class Family(NamedTuple):
    """One metric family of a scrape: its type ("histogram" or "gauge") and each label
    set's value (a ClassicHistogram, a NativeHistogram or a number)."""
    name: str
    help: str
    type: str
    metrics: list[tuple[tuple, object]]


class Histogram:
    """One histogram family as the exporter serves it. An errors SLO splits its events
    between the label sets its series name (good and bad); a threshold SLO's good events
    fall in the bucket at its threshold. A native histogram (the series carry a `native`
    layout) observes good events in the bucket below the threshold's and bad ones in the
    bucket above, the threshold SLO's share of them; without a threshold SLO, an errors
    SLO's bad label set observes its events above and the others below."""

    def __init__(self, name: str):
        self.name = name
        self.slos: list[str] = []
        self.split_by: str | None = None
        self.bounds: dict[str, str] = {}  # bucket bound as exported -> the threshold SLO it counts
        self.layout: dict | None = None  # a native histogram's buckets (the metric convention's `native`)
        self.threshold_slo: str | None = None  # the threshold SLO of a native histogram
        self.label_sets: list[LabelSet] = []
        self.unlabelled_lazy = True
        self.exported = True

    def add(self, slo: dict) -> None:
        native = native_layout(slo)
        if self.slos and (native is None) != (self.layout is None):
            raise CannotRun(f"{self.name} is read as a classic histogram and as a native one")
        self.slos.append(slo["name"])
        if slo["indicator"] == "errors":
            if self.split_by:
                raise CannotRun(f"{self.split_by} and {slo['name']} both split {self.name} into good and bad events")
            self.split_by = slo["name"]
            self.label_sets = [LabelSet(parse_selector(s["selector"])[1], bool(s["lazy"]), s["counts"])
                               for s in slo["series"]]
            self.layout = self.layout or native
        else:
            if native:
                self.layout, self.threshold_slo = native, slo["name"]
            else:
                self.bounds[slo["bucket"][0]["le"]] = slo["name"]
            self.unlabelled_lazy = all(s["lazy"] for s in slo["series"])
        if not self.split_by:
            self.label_sets = [LabelSet({}, self.unlabelled_lazy, "all")]

    def enter(self, phases: dict[str, dict]) -> None:
        """Begin a phase: `phases` holds the phase of each SLO of the service."""
        own = [phases[name] for name in self.slos]
        traffic = all(phase.get("traffic", True) for phase in own)  # a stalled SLO stops its histogram
        events = EVENTS_PER_SCRAPE * max(phase.get("load", 1) for phase in own) if traffic else 0.0
        bad = phases[self.split_by]["bad"] if self.split_by else 0.0
        self.exported = all(phase.get("exported", True) for phase in own)
        for label_set in self.label_sets:
            label_set.step = events * {"good": 1 - bad, "bad": bad}.get(label_set.side, 1.0)
            label_set.bucket_steps = {le: label_set.step * (1 - phases[slo]["bad"]) for le, slo in self.bounds.items()}
            above = phases[self.threshold_slo]["bad"] if self.threshold_slo else float(label_set.side == "bad")
            label_set.native_steps = (label_set.step * (1 - above), label_set.step * above)
            if any(phase.get("restart") for phase in own):
                label_set.count, label_set.buckets, label_set.native = 0.0, {}, [0.0, 0.0]
                label_set.exists = not label_set.lazy
            label_set.exists = label_set.exists or label_set.step > 0 or not label_set.lazy

    def advance(self) -> None:
        for label_set in self.label_sets:
            label_set.count += label_set.step
            for le, step in label_set.bucket_steps.items():
                label_set.buckets[le] = label_set.buckets.get(le, 0.0) + step
            label_set.native = [total + step for total, step in zip(label_set.native, label_set.native_steps)]

    def family(self) -> Family | None:
        shown = [label_set for label_set in self.label_sets if label_set.exists] if self.exported else []
        if not shown:
            return None
        return Family(self.name, f"Events of {', '.join(self.slos)}, played by tools/try_alerts.py.", "histogram",
                      [(label_set.labels, self.value(label_set)) for label_set in shown])

    def value(self, label_set: LabelSet):
        if self.layout:
            below, above = label_set.native
            return NativeHistogram(int(self.layout["schema"]), int(self.layout["offset"]), [below, 0.0, above],
                                   below * self.layout["good_seconds"] + above * self.layout["bad_seconds"])
        buckets = [(le, label_set.buckets.get(le, 0.0)) for le in sorted(self.bounds, key=float)]
        return ClassicHistogram(buckets + [("+Inf", label_set.count)], label_set.count, label_set.count * 0.1)


def native_layout(slo: dict) -> dict | None:
    """Where a native SLO's events are observed (None for a classic one): three buckets
    from `offset` on, good events at `good_seconds`, bad ones at `bad_seconds`."""
    layouts = [series.get("native") for series in slo["series"]]
    if not any(layouts):
        return None
    layout = layouts[0]
    missing = [key for key in ("schema", "offset", "good_seconds", "bad_seconds") if key not in (layout or {})]
    if missing or any(other != layout for other in layouts):
        raise CannotRun(f"{slo['name']}: the native histogram's layout lacks {', '.join(missing) or 'a series'}")
    return layout


class StallSignal:
    """A gauge that grows while work waits: the age of the oldest message waiting (`age`,
    0 when nothing waits) or the time of the last success (`timestamp`, a Unix time that
    moves while work completes; absent before the first)."""

    def __init__(self, stall: dict):
        self.name, labels = parse_selector(stall["selector"])
        self.labels = tuple(sorted(labels.items()))
        self.signal = stall["signal"]
        self.above = float(stall["above_seconds"])
        if self.signal not in ("age", "timestamp"):
            raise CannotRun(f"unknown stall signal {self.signal!r} for {stall['selector']}")
        self.last_success: float | None = None
        self.stalled_since: float | None = None

    def value(self, phase: dict, now: float) -> float | None:
        if phase.get("stalled"):
            if self.stalled_since is None:  # a run takes seconds: the stall began long enough ago
                self.stalled_since = now - self.above - INTERVAL_SECONDS
                self.last_success = self.stalled_since
            return now - self.stalled_since if self.signal == "age" else self.last_success
        self.stalled_since = None
        if self.signal == "age":
            return 0.0
        if phase.get("traffic", True):
            self.last_success = now
        return self.last_success


class ServiceTraffic:
    """The fake exporter of one service: its histograms and stall signals through each
    SLO's phases, one scrape at a time."""

    def __init__(self, service: dict, phases: dict[str, list[dict]], clock: Callable[[], float] = time.time):
        self.clock = clock
        self.phases = phases
        self.histograms: dict[str, Histogram] = {}
        self.stalls: dict[str, StallSignal] = {}
        for slo in service["slos"]:
            self.histograms.setdefault(slo["histogram"], Histogram(slo["histogram"])).add(slo)
            if slo.get("stall"):
                self.stalls[slo["name"]] = StallSignal(slo["stall"])
        self.native = any(histogram.layout for histogram in self.histograms.values())
        self.index, self.samples = 0, 0
        self.enter()

    def current(self) -> dict[str, dict]:
        return {name: phases[min(self.index, len(phases) - 1)] for name, phases in self.phases.items()}

    def phase_count(self) -> int:
        return max(len(phases) for phases in self.phases.values())

    def enter(self) -> None:
        for histogram in self.histograms.values():
            histogram.enter(self.current())

    def next_phase(self) -> None:
        if self.index + 1 < self.phase_count():
            self.index, self.samples = self.index + 1, 0
            self.enter()

    def scrape(self) -> list[Family] | None:
        """The metric families of one scrape, or None when the phase breaks it."""
        lengths = [phase["minutes"] for phase in self.current().values() if "minutes" in phase]
        if lengths and self.samples >= max(lengths) and self.index + 1 < self.phase_count():
            self.next_phase()
        phases = self.current()
        families = None
        if all(phase.get("scrape", "ok") == "ok" for phase in phases.values()):
            families = [family for family in (h.family() for h in self.histograms.values()) if family]
            families += self.stall_families(phases)
        for histogram in self.histograms.values():
            histogram.advance()
        self.samples += 1
        return families

    def stall_families(self, phases: dict[str, dict]) -> list[Family]:
        families: dict[str, Family] = {}
        now = self.clock()
        for name, stall in self.stalls.items():
            value = stall.value(phases[name], now)
            if value is None:
                continue
            families.setdefault(stall.name, Family(stall.name, f"The stall signal of {name}, played by tools/try_alerts.py.",
                                                   "gauge", [])).metrics.append((stall.labels, value))
        return list(families.values())


# --- Expositions: the Prometheus text format, and the protobuf format ---------------


def text_exposition(families: list[Family]) -> str:
    """The families in the Prometheus text format, which has no native histograms."""
    lines = []
    for family in families:
        lines += [f"# HELP {family.name} {family.help}", f"# TYPE {family.name} {family.type}"]
        for labels, value in family.metrics:
            if isinstance(value, NativeHistogram):
                raise CannotRun(f"{family.name}: the text format has no native histograms")
            if isinstance(value, ClassicHistogram):
                lines += [sample(f"{family.name}_bucket", labels + (("le", le),), count) for le, count in value.buckets]
                lines += [sample(f"{family.name}_sum", labels, value.sum), sample(f"{family.name}_count", labels, value.count)]
            else:
                lines.append(sample(family.name, labels, value))
    return "".join(line + "\n" for line in lines)


def sample(name: str, labels: tuple, value: float) -> str:
    """One line of the Prometheus text format."""
    pairs = ",".join(f'{label}="{quoted(text)}"' for label, text in labels)
    return f"{name}{{{pairs}}} {value!r}" if pairs else f"{name} {value!r}"


def quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# The protobuf format (io.prometheus.client.MetricFamily, each message preceded by its
# length as a varint): the one that carries native histograms. Field numbers are those of
# Prometheus's metrics.proto.
PROTOBUF = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
METRIC_TYPES = {"gauge": 1, "histogram": 4}
VARINT, FIXED64, LENGTH_DELIMITED = 0, 1, 2


def varint(number: int) -> bytes:
    """An unsigned integer in base-128 groups, the least significant first."""
    out = bytearray()
    while True:
        group, number = number & 0x7F, number >> 7
        out.append(group | (0x80 if number else 0))
        if not number:
            return bytes(out)


def zigzag(number: int) -> int:
    """A signed integer as sint32 and sint64 encode it: 0, -1, 1, -2 ... as 0, 1, 2, 3 ..."""
    return number * 2 if number >= 0 else -number * 2 - 1


def field(number: int, wire_type: int, payload: bytes) -> bytes:
    return varint(number << 3 | wire_type) + payload


def uint_field(number: int, value: int) -> bytes:
    return field(number, VARINT, varint(value))


def sint_field(number: int, value: int) -> bytes:
    return field(number, VARINT, varint(zigzag(value)))


def double_field(number: int, value: float) -> bytes:
    return field(number, FIXED64, struct.pack("<d", value))


def message_field(number: int, payload: bytes) -> bytes:
    return field(number, LENGTH_DELIMITED, varint(len(payload)) + payload)


def string_field(number: int, text: str) -> bytes:
    return message_field(number, text.encode("utf-8"))


def native_histogram_message(histogram: NativeHistogram) -> bytes:
    """An io.prometheus.client.Histogram with one span of buckets and no zero bucket. Whole
    counts are an integer histogram (each bucket as the difference from the one before);
    any other is a float histogram (each bucket's count as a double)."""
    span = message_field(12, sint_field(1, histogram.offset) + uint_field(2, len(histogram.buckets)))
    if all(count == int(count) for count in histogram.buckets):
        counts = [int(count) for count in histogram.buckets]
        deltas = [count - before for before, count in zip([0] + counts, counts)]
        return b"".join([uint_field(1, sum(counts)), double_field(2, histogram.sum), sint_field(5, histogram.schema),
                         double_field(6, 0.0), uint_field(7, 0), span, *(sint_field(13, delta) for delta in deltas)])
    return b"".join([double_field(2, histogram.sum), double_field(4, histogram.count), sint_field(5, histogram.schema),
                     double_field(6, 0.0), double_field(8, 0.0), span,
                     *(double_field(14, count) for count in histogram.buckets)])


def metric_message(labels: tuple, value) -> bytes:
    pairs = b"".join(message_field(1, string_field(1, name) + string_field(2, text)) for name, text in labels)
    if isinstance(value, NativeHistogram):
        return pairs + message_field(7, native_histogram_message(value))
    if isinstance(value, ClassicHistogram):
        raise CannotRun("classic histograms are served in the text format")
    return pairs + message_field(2, double_field(1, float(value)))


def protobuf_exposition(families: list[Family]) -> bytes:
    """The families as length-delimited io.prometheus.client.MetricFamily messages."""
    out = bytearray()
    for family in families:
        message = (string_field(1, family.name) + string_field(2, family.help) + uint_field(3, METRIC_TYPES[family.type])
                   + b"".join(message_field(4, metric_message(labels, value)) for labels, value in family.metrics))
        out += varint(len(message)) + message
    return bytes(out)


class Traffic:
    """The fake exporter of every service of the run, one scenario for all."""

    def __init__(self, services: list[dict], scenario: str, clock: Callable[[], float] = time.time):
        self.lock = threading.Lock()
        self.services = {
            service["service"]: ServiceTraffic(
                service, {slo["name"]: scenario_phases(scenario, slo) for slo in service["slos"]}, clock)
            for service in services
        }
        self.scrapes = {name: 0 for name in self.services}

    def scrape(self, name: str) -> tuple[bytes, str] | None:
        """The exposition of one service and its content type (the protobuf format for a
        service with native histograms, the text format for others), or None when its
        scrape is broken."""
        with self.lock:
            if name not in self.services:
                return None
            self.scrapes[name] += 1
            service = self.services[name]
            families = service.scrape()
        if families is None:
            return None
        if service.native:
            return protobuf_exposition(families), PROTOBUF
        return text_exposition(families).encode("utf-8"), TEXT

    def scraped_at_least(self, times: int) -> bool:
        with self.lock:
            return all(count >= times for count in self.scrapes.values())

    def has_next_phase(self) -> bool:
        return any(service.phase_count() > 1 for service in self.services.values())

    def next_phase(self) -> None:
        with self.lock:
            for service in self.services.values():
                service.next_phase()


# --- Local HTTP servers: the exporter and the receiver ------------------------------


class Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(handler: type) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def exporter(traffic: Traffic) -> http.server.ThreadingHTTPServer:
    class Exporter(Quiet):
        def do_GET(self):  # noqa: N802 - http.server's name
            name = self.path.strip("/").split("/")[0]
            exposition = traffic.scrape(name)
            if exposition is None:
                self.reply(503, b"scrape broken on purpose\n", "text/plain")
            else:
                self.reply(200, *exposition)

    return serve(Exporter)


class Inbox:
    """What the local receiver got: one entry per notification."""

    def __init__(self):
        self.lock = threading.Lock()
        self.endpoints = {}  # token -> receiver name, integration, what it stands in for
        self.notifications = []

    def endpoint(self, base: str, receiver: str, integration: str, stands_in_for: str = "") -> str:
        token = str(len(self.endpoints))
        self.endpoints[token] = {"receiver": receiver, "integration": integration, "stands_in_for": stands_in_for}
        return f"{base}/{token}/"

    def record(self, path: str, body: bytes) -> None:
        token = path.strip("/").split("/")[0]
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {"unreadable": body.decode(errors="replace")}
        with self.lock:
            entry = dict(self.endpoints.get(token, {"receiver": "?", "integration": "?", "stands_in_for": ""}))
            entry.update(path=path, payload=payload, received=time.monotonic())
            entry["alerts"] = alerts_in(entry["integration"], payload)
            self.notifications.append(entry)

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.notifications)


def receiver(inbox: Inbox) -> http.server.ThreadingHTTPServer:
    class Receiver(Quiet):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            inbox.record(self.path, body)
            self.reply(202, b'{"status": "success"}', "application/json")

    return serve(Receiver)


# --- Reading a notification -----------------------------------------------------------


def alerts_in(integration: str, payload: dict) -> list[dict]:
    """The alerts a notification carries, as its reader sees them: structured in a
    webhook's body; in PagerDuty's details `firing` and `resolved`, as text ("Labels:
    - name = value ...", Alertmanager's default up to 0.29 and routes.yaml's) or as data
    (the default from 0.30 on); in Opsgenie's description, as text. Empty when a custom
    template hides them."""
    if integration == "webhook":
        return [{"status": a.get("status", ""), "labels": a.get("labels") or {}, "annotations": a.get("annotations") or {}}
                for a in payload.get("alerts") or []]
    if integration == "pagerduty":
        details = (payload.get("payload") or {}).get("custom_details") or payload.get("details") or {}
        return listed_alerts(details.get("firing"), "firing") + listed_alerts(details.get("resolved"), "resolved")
    if integration == "opsgenie":
        text = str(payload.get("description", ""))
        firing, _, resolved = text.partition("Alerts Resolved:")
        return text_alerts(firing, "firing") + text_alerts(resolved, "resolved")
    return []


def listed_alerts(value, status: str) -> list[dict]:
    if isinstance(value, list):
        return [data_alert(alert, status) for alert in value if isinstance(alert, dict)]
    return text_alerts(value if isinstance(value, str) else "", status)


def data_alert(alert: dict, status: str) -> dict:
    """An alert Alertmanager sent as data (PagerDuty's default details from 0.30 on). 0.30
    to 0.33 read each of its values as YAML again, so text may arrive as something else
    ("a: b" as {"a": "b"}, "1" as 1): the values are written back as text, and `restored`
    names the annotations that did not arrive as text."""
    labels, annotations = alert.get("labels") or {}, alert.get("annotations") or {}
    return {"status": status,
            "labels": {str(name): as_text(value) for name, value in labels.items()},
            "annotations": {str(name): as_text(value) for name, value in annotations.items()},
            "restored": sorted(str(name) for name, value in annotations.items() if not isinstance(value, str))}


def as_text(value) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "\n".join(f"{as_text(key)}: {as_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        return "\n".join(f"- {as_text(item)}" for item in value)
    return str(value)


def text_alerts(text: str, status: str) -> list[dict]:
    """Alerts in Alertmanager's text list: "Labels:", then " - name = value" lines,
    "Annotations:" and its lines, "Source: ...". A line that is none of these continues
    the value before it (an annotation written on several lines)."""
    alerts, section, last = [], None, None
    for line in text.splitlines():
        if line.startswith("Labels:"):
            alerts.append({"status": status, "labels": {}, "annotations": {}})
            section, last = "labels", None
        elif line.startswith("Annotations:") and alerts:
            section, last = "annotations", None
        elif line.startswith("Source:") and alerts:
            section, last = None, None
        elif section and line.startswith(" - ") and " = " in line:
            last, value = line[3:].split(" = ", 1)
            alerts[-1][section][last] = value
        elif section and last is not None:
            alerts[-1][section][last] += "\n" + line
    return alerts


# --- Configuration of the two servers -----------------------------------------------


def rules_copy(service: dict, directory: Path) -> tuple[Path, dict, int]:
    """The service's rules with every group evaluated every second and every `for:`
    shortened to FOR_SECONDS: the copy, each shortened alert's own `for:`, the groups."""
    path = service["repository"] / RULES
    try:
        rules = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CannotRun(f"cannot read {path}: {error}") from error
    if not isinstance(rules, dict):
        raise CannotRun(f"{path} holds no rule groups")
    waits = {}
    for group in rules.get("groups") or []:
        group.pop("interval", None)
        for rule in group.get("rules") or []:
            if "alert" in rule and "for" in rule:
                waits[rule["alert"]] = str(rule["for"])
                rule["for"] = f"{FOR_SECONDS}s"
    copy = write_yaml(directory / f"{service['service']}-rules.yaml", rules)
    return copy, waits, len(rules.get("groups") or [])


STAND_IN_FIELDS = {
    "pagerduty_configs": {"drop": ("routing_key", "routing_key_file", "service_key", "service_key_file", "url"),
                          "url": "url", "integration": "pagerduty"},
    "opsgenie_configs": {"drop": ("api_key", "api_key_file", "api_url"), "url": "api_url", "integration": "opsgenie"},
    "webhook_configs": {"drop": ("url", "url_file"), "url": "url", "integration": "webhook"},
}


def stand_in(receiver_config: dict, inbox: Inbox, base: str) -> dict:
    """A receiver whose integrations post to the local receiver, with placeholder keys."""
    name = receiver_config["name"]
    local = {"name": name}
    for kind, configs in receiver_config.items():
        if kind == "name" or not configs:
            continue
        for config in configs:
            fields = STAND_IN_FIELDS.get(kind)
            if fields is None:  # e-mail, Slack, ...: a webhook stands in for it
                local.setdefault("webhook_configs", []).append(
                    {"url": inbox.endpoint(base, name, "webhook", stands_in_for=kind)})
                continue
            # The templates stay; keys, addresses and proxies are replaced or dropped.
            kept = {key: value for key, value in config.items() if key not in fields["drop"] and key != "http_config"}
            if kind == "pagerduty_configs":
                uses_service_key = "service_key" in config or "service_key_file" in config
                kept["service_key" if uses_service_key else "routing_key"] = PLACEHOLDER_KEY
            elif kind == "opsgenie_configs":
                kept["api_key"] = PLACEHOLDER_KEY
            kept[fields["url"]] = inbox.endpoint(base, name, fields["integration"])
            local.setdefault(kind, []).append(kept)
    if len(local) == 1:
        local["webhook_configs"] = [{"url": inbox.endpoint(base, name, "webhook", stands_in_for="nothing")}]
    return local


def alertmanager_config(services: list[dict], inbox: Inbox, base: str) -> dict:
    """The organisation's Alertmanager as routes.yaml says to deploy it: each service's
    route under the root route's `routes`, its receivers beside the root's own."""
    routes, inhibit_rules, intervals, originals = [], [], {}, {}
    default = inbox.endpoint(base, UNROUTED, "webhook", stands_in_for="the organisation's default receiver")
    receivers = {UNROUTED: {"name": UNROUTED, "webhook_configs": [{"url": default}]}}
    for service in services:
        path = service["repository"] / ROUTES
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise CannotRun(f"cannot read {path}: {error}") from error
        own = (config.get("route") or {}).get("routes")
        if not own:
            raise CannotRun(f"{path} has no route.routes to place under the organisation's route")
        routes += own
        for entry in config.get("receivers") or []:
            name = entry["name"]
            if name in originals and originals[name] != entry:  # one team, several services: one receiver
                raise CannotRun(f"two services define the receiver {name!r} differently")
            if name not in receivers:
                originals[name], receivers[name] = entry, stand_in(entry, inbox, base)
        inhibit_rules += config.get("inhibit_rules") or []
        for key in ("time_intervals", "mute_time_intervals"):
            for interval in config.get(key) or []:
                intervals.setdefault(key, {})[interval["name"]] = interval
    result = {
        "route": {"receiver": UNROUTED, "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h", "routes": routes},
        "receivers": list(receivers.values()),
    }
    if inhibit_rules:
        result["inhibit_rules"] = inhibit_rules
    for key, by_name in intervals.items():
        result[key] = list(by_name.values())
    return result


def prometheus_config(services: list[dict], exporter_port: int, alertmanager_port: int, rule_files: list[Path],
                      native_scrape: dict | None = None) -> dict:
    """Prometheus's configuration: every service scraped as its own job, a service with
    native histograms with `native_scrape` (native_histogram_settings) too."""
    return {
        "global": {"scrape_interval": f"{INTERVAL_SECONDS}s", "scrape_timeout": f"{INTERVAL_SECONDS}s",
                   "evaluation_interval": f"{INTERVAL_SECONDS}s"},
        "rule_files": [str(path) for path in rule_files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]},
        "scrape_configs": [
            {"job_name": service["job"], "metrics_path": f"/{service['service']}/metrics",
             "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
             **((native_scrape or {}) if has_native_histograms(service) else {})}
            for service in services
        ],
    }


def has_native_histograms(service: dict) -> bool:
    return any(native_layout(slo) for slo in service["slos"])


def prometheus_version(program: str) -> tuple[int, int]:
    """The major and minor version `prometheus --version` prints."""
    try:
        result = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        raise CannotRun(f"cannot run {program} --version: {error}") from error
    found = re.search(r"\bversion (\d+)\.(\d+)", result.stdout + result.stderr)
    if not found:
        raise CannotRun(f"{program} --version names no version: {(result.stdout + result.stderr).strip()[:200]}")
    return int(found[1]), int(found[2])


# What a scrape asks for, best first: the protobuf format carries native histograms.
NATIVE_SCRAPE_PROTOCOLS = ["PrometheusProto", "OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText0.0.4"]


def native_histogram_settings(version: tuple[int, int]) -> tuple[list[str], dict]:
    """How a Prometheus of `version` stores the native histograms it scrapes: the flags it
    starts with and what a scrape configuration adds. Prometheus 3.8 and later take
    `scrape_native_histograms` (its feature flag does nothing from 3.9 on); 3.0 to 3.7 the
    feature flag. Both ask for the protobuf format first."""
    if version < (3, 0):
        raise CannotRun(f"native histograms need Prometheus 3; this one is {version[0]}.{version[1]}:"
                        " give --prometheus a Prometheus 3")
    scrape = {"scrape_protocols": NATIVE_SCRAPE_PROTOCOLS}
    if version >= (3, 8):
        return [], dict(scrape, scrape_native_histograms=True)
    return ["--enable-feature=native-histograms"], scrape


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# --- Processes ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_json(url: str, data: bytes | None = None):
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body.strip().startswith((b"{", b"[")) else body


class ServerStopped(CannotRun):
    """A server's process ended; `log` holds what it wrote."""

    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


class Server:
    """A prometheus or alertmanager process on a loopback port, stopped by stop()."""

    def __init__(self, name: str, program: str, arguments, directory: Path):
        self.name, self.program, self.arguments, self.directory = name, program, arguments, directory
        self.process = None
        self.port = 0
        self.ready = False
        self.log = directory / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, deadline: float) -> None:
        for _attempt in range(3):  # another program may take the free port first
            self.port = free_port()
            with self.log.open("wb") as log:
                self.process = subprocess.Popen([self.program, *self.arguments(self.port)], stdin=subprocess.DEVNULL,
                                                stdout=log, stderr=subprocess.STDOUT, cwd=self.directory)
            try:
                if poll(lambda: http_json(f"{self.url}/-/ready") and True, deadline, [self], every=0.05):
                    self.ready = True
                    return
            except ServerStopped as stopped:
                if "address already in use" not in stopped.log:
                    raise
                continue
            self.stop()
            raise CannotRun(f"{self.name} ({self.program}) was not ready before the timeout; its log: {self.log}")
        raise CannotRun(f"{self.name} found no free port on 127.0.0.1")

    def check_running(self) -> None:
        """Raise ServerStopped when the process has ended."""
        if self.process is None or self.process.poll() is None:
            return
        log_text = self.log.read_text(encoding="utf-8", errors="replace")
        tail = "\n".join(log_text.strip().splitlines()[-5:])
        if self.ready:
            raise ServerStopped(f"{self.name} stopped during the run (exit status {self.process.returncode}):\n{tail}",
                                log_text)
        hint = ""
        if "/usr/share/prometheus/alertmanager" in log_text:
            hint = ("\nDebian's alertmanager reads its notification templates from /usr/share/prometheus/alertmanager/:"
                    " install the prometheus-alertmanager package, or use the release binary from prometheus.io.")
        raise ServerStopped(f"{self.name} ({self.program}) did not start:\n{tail}{hint}", log_text)

    def get(self, path: str):
        return http_json(f"{self.url}{path}")

    def reload(self) -> None:
        try:
            http_json(f"{self.url}/-/reload", data=b"")
        except urllib.error.HTTPError as error:
            raise CannotRun(f"{self.name} rejected the rules: {error.read().decode(errors='replace')}") from error
        except (urllib.error.URLError, OSError) as error:
            self.check_running()
            raise CannotRun(f"{self.name} did not answer the reload: {error}") from error

    def evaluated_groups(self) -> int:
        groups = self.get("/api/v1/rules")["data"]["groups"]
        return sum(1 for group in groups if not group.get("lastEvaluation", "").startswith("0001-"))

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def poll(check: Callable[[], T | None], deadline: float, servers=(), every: float = 0.1) -> T | None:
    """Call `check` until it returns something (not None nor False) and return that, or
    None once `deadline` has passed. A server that does not answer is asked again; one
    whose process has ended ends the run (ServerStopped)."""
    while True:
        for server in servers:
            server.check_running()
        try:
            result = check()
        except (urllib.error.URLError, OSError):  # not listening yet, or busy: ask again
            for server in servers:
                server.check_running()
            result = None
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(every)


def wait_until(condition: Callable[[], bool], deadline: float, what: str, servers=()) -> None:
    if poll(condition, deadline, servers) is None:
        raise CannotRun(f"timed out waiting for {what}")


def program(name: str, given: str) -> str:
    found = shutil.which(given)
    if not found:
        raise CannotRun(f"{name} not found ({given!r}): install it (https://prometheus.io/download/) or give --{name} PATH")
    return found


# --- The run ------------------------------------------------------------------------


def alert_key(labels: dict) -> tuple:
    return tuple(sorted((name, str(value)) for name, value in labels.items()))


def undelivered(firing: list[dict], manager_alerts: list[dict], notifications: list[dict]) -> list[dict]:
    """Firing alerts that have not reached every receiver Alertmanager routed them to.
    An alert Alertmanager suppresses (inhibited or silenced) is to reach nobody."""
    by_labels = {alert_key(alert["labels"]): alert for alert in manager_alerts}
    missing = []
    for alert in firing:
        key = alert_key(alert["labels"])
        managed = by_labels.get(key)
        if managed is None or managed.get("status", {}).get("state") == "unprocessed":
            missing.append(alert)
            continue
        if managed.get("status", {}).get("state") == "suppressed":
            continue
        for name in (r["name"] for r in managed.get("receivers", [])):
            heard = any(
                n["receiver"] == name and (
                    any(alert_key(a["labels"]) == key for a in n["alerts"]) or not n["alerts"])
                for n in notifications)
            if not heard:
                missing.append(alert)
                break
    return missing


def suppressed(manager_alerts: list[dict]) -> list[dict]:
    """The alerts Alertmanager holds back: each with the names of the alerts that inhibit
    it, and whether a silence matches it."""
    names = {alert.get("fingerprint"): alert["labels"].get("alertname", "?") for alert in manager_alerts}
    held = []
    for alert in manager_alerts:
        status = alert.get("status") or {}
        if status.get("state") != "suppressed":
            continue
        held.append({"labels": alert["labels"],
                     "inhibited_by": sorted({names.get(fingerprint, fingerprint) for fingerprint in status.get("inhibitedBy") or []}),
                     "silenced": bool(status.get("silencedBy"))})
    return sorted(held, key=lambda alert: alert_key(alert["labels"]))


def play(services: list[dict], scenario: str, prometheus: str, alertmanager: str, timeout: float, directory: Path) -> dict:
    """Run the scenario until every alert it makes has reached its receivers (or the
    timeout), and return what happened."""
    started = time.monotonic()
    deadline = started + timeout
    timeline = {}
    native_flags, native_scrape = [], None
    if any(has_native_histograms(service) for service in services):
        native_flags, native_scrape = native_histogram_settings(prometheus_version(prometheus))
    traffic, inbox = Traffic(services, scenario), Inbox()
    local = [exporter(traffic), receiver(inbox)]
    servers = []
    try:
        exporter_port, receiver_url = local[0].server_address[1], f"http://127.0.0.1:{local[1].server_address[1]}"
        write_yaml(directory / "alertmanager.yml", alertmanager_config(services, inbox, receiver_url))
        manager = Server("alertmanager", alertmanager, lambda port: [
            f"--config.file={directory / 'alertmanager.yml'}", f"--storage.path={directory / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url=http://127.0.0.1:{port}/",
            "--cluster.listen-address="], directory)
        servers.append(manager)
        manager.start(deadline)
        config_file = directory / "prometheus.yml"
        write_yaml(config_file, prometheus_config(services, exporter_port, manager.port, [], native_scrape))
        server = Server("prometheus", prometheus, lambda port: [
            f"--config.file={config_file}", f"--storage.tsdb.path={directory / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url=http://127.0.0.1:{port}/",
            "--web.enable-lifecycle", f"--rules.alert.resend-delay={INTERVAL_SECONDS}s", *native_flags], directory)
        servers.append(server)
        server.start(deadline)
        timeline["servers ready"] = time.monotonic() - started
        say(f"Prometheus on {server.url}, Alertmanager on {manager.url}; waiting for the first scrapes")

        # Rules before the first scrape would find every series absent and start the
        # DataMissing alerts' shortened `for:`; in production, minutes cover a restart.
        wait_until(lambda: traffic.scraped_at_least(1), deadline, "every service to be scraped", servers)
        timeline["scraped"] = time.monotonic() - started
        copies = [rules_copy(service, directory) for service in services]
        write_yaml(config_file, prometheus_config(services, exporter_port, manager.port, [path for path, _, _ in copies],
                                                  native_scrape))
        server.reload()
        groups = sum(count for _, _, count in copies)
        wait_until(lambda: server.evaluated_groups() >= groups and traffic.scraped_at_least(2), deadline,
                   "the rules to be evaluated and every service scraped twice", servers)
        timeline["rules evaluated"] = time.monotonic() - started
        say(f"rules loaded; playing {scenario} until every alert has reached its receivers"
            f" (at most {deadline - time.monotonic():.0f} s)")
        if traffic.has_next_phase():  # vanish, stall: the healthy start is over
            traffic.next_phase()
        # By then every rule has been evaluated on the scenario's final phase (for vanish:
        # after a failed scrape), so every alert it makes is pending or firing.
        settle_at = time.monotonic() + 3 * INTERVAL_SECONDS
        settled, alerts, waiting, managed = watch(server, manager, inbox, settle_at, deadline)
        timeline["settled" if settled else "gave up"] = time.monotonic() - started
    finally:
        for process in reversed(servers):
            process.stop()
        for http_server in local:
            http_server.shutdown()
            http_server.server_close()
    return {
        "scenario": scenario,
        "settled": settled,
        "for_seconds": FOR_SECONDS,
        "waits": {name: wait for _, by_alert, _ in copies for name, wait in by_alert.items()},
        "timeline": {event: round(seconds, 1) for event, seconds in timeline.items()},
        "services": [{"slug": s["service"], "tier": s["tier"], "repository": str(s["repository"]),
                      "slos": [{"name": slo["name"], "bad_share": bad_share(slo, scenario), "plays": plays(slo, scenario),
                                "page_above": min(slo["alert_error_ratios"]["page"]),
                                "ticket_above": min(slo["alert_error_ratios"]["ticket"])}
                               for slo in s["slos"]]} for s in services],
        "alerts": [{"state": a["state"], "labels": a["labels"], "annotations": a["annotations"]} for a in alerts],
        "undelivered": [a["labels"] for a in waiting],
        "suppressed": suppressed(managed),
        "notifications": [dict(n, received=round(n["received"] - started, 1)) for n in inbox.snapshot()],
    }


def watch(server: Server, manager: Server, inbox: Inbox, settle_at: float, deadline: float):
    """Poll until nothing is pending and every firing alert has been delivered, once the
    scenario has been evaluated: (settled, Prometheus's alerts, alerts not delivered,
    Alertmanager's alerts)."""
    last = {}

    def settled():
        alerts = server.get("/api/v1/alerts")["data"]["alerts"]
        managed = manager.get("/api/v2/alerts")
        pending = [a for a in alerts if a["state"] == "pending"]
        waiting = pending + undelivered([a for a in alerts if a["state"] == "firing"], managed, inbox.snapshot())
        last.update(alerts=alerts, waiting=waiting, managed=managed)
        return time.monotonic() >= settle_at and not waiting

    if poll(settled, deadline, [server, manager], every=0.25):
        return True, last["alerts"], [], last["managed"]
    if not last:
        raise CannotRun("Prometheus and Alertmanager did not answer before the timeout")
    return False, last["alerts"], last["waiting"], last["managed"]


def say(text: str) -> None:
    print(f"try_alerts: {text}", file=sys.stderr, flush=True)


# --- Report -------------------------------------------------------------------------


def percent(share: float) -> str:
    return f"{share * 100:.3g} %"


def plays(slo: dict, scenario: str) -> str:
    """What the exporter plays for one SLO, in words."""
    stall = slo.get("stall")
    if scenario == "idle":
        return "no events, no series"
    if scenario == "stall" and stall:
        signal = "the oldest message's age" if stall["signal"] == "age" else "the time since the last success"
        return f"nothing completes; {signal} is past {stall['above_seconds']:g} s"
    bad = f"{percent(bad_share(slo, scenario))} of events bad"
    return f"no stall signal: {bad}" if scenario == "stall" else bad


def report(result: dict) -> str:
    lines = [f"Scenario {result['scenario']}: {SCENARIOS[result['scenario']]}."]
    for service in result["services"]:
        lines.append(f"  {service['slug']} (tier {service['tier']}, {service['repository']})")
        for slo in service["slos"]:
            lines.append(f"    {slo['name']}: {slo['plays']}"
                         f" (pages above {percent(slo['page_above'])}, tickets above {percent(slo['ticket_above'])})")
    if result["waits"]:
        shortened = ", ".join(sorted({f"{wait} ({name})" for name, wait in result["waits"].items()}))
        lines.append(f"  Alerts with `for:` wait {result['for_seconds']} s here; the rules say {shortened}.")
    lines.append("")
    if not result["notifications"]:
        lines.append("Nobody was notified.")
    else:
        lines.append("What would have reached whom:")
    for note in result["notifications"]:
        how = note["integration"]
        if note["stands_in_for"] == "nothing":
            how = "no integration in routes.yaml yet: in production nobody hears this"
        elif note["stands_in_for"]:
            how = f"a local webhook standing in for {note['stands_in_for']}"
        lines.append(f"  {note['receiver']} ({how})")
        for alert in note["alerts"] or [{"status": "?", "labels": {}, "annotations": {}}]:
            lines += alert_lines(alert)
        if note["receiver"] == UNROUTED:
            lines.append("    ^ matched no route of routes.yaml: the organisation's default receiver would get it")
    if result.get("suppressed"):
        lines.append("Held back by Alertmanager, so nobody hears them:")
    for held in result.get("suppressed") or []:
        labels = held["labels"]
        why = []
        if held["inhibited_by"]:
            why.append(f"inhibited by {', '.join(held['inhibited_by'])}")
        if held["silenced"]:
            why.append("silenced")
        lines.append(f"  {labels.get('alertname', '?')} severity={labels.get('severity', '?')}"
                     f" tier={labels.get('tier', '?')}: {' and '.join(why) or 'suppressed'}")
    if not result["settled"]:
        names = ", ".join(sorted({labels.get("alertname", "?") for labels in result["undelivered"]}))
        lines.append(f"Gave up at the timeout: pending, or firing and not delivered yet: {names}.")
    return "\n".join(lines)


def alert_lines(alert: dict) -> list[str]:
    labels, annotations = alert["labels"], alert["annotations"]
    lines = [f"    {alert['status'].upper()} {labels.get('alertname', '(alerts not listed in this payload)')}"
             f" severity={labels.get('severity', '?')} tier={labels.get('tier', '?')}"]
    if annotations.get("summary"):
        lines.append("      " + annotations["summary"].replace("\n", "\n      "))
    if annotations.get("runbook_url"):
        lines.append(f"      runbook: {annotations['runbook_url']}")
    if alert.get("restored"):
        lines.append(f"      ({', '.join(alert['restored'])}: sent as data, not text; routes.yaml's PagerDuty"
                     " details keep them text)")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(f"  {name:10} {text}" for name, text in SCENARIOS.items()))
    parser.add_argument("--scenario", required=True, choices=SCENARIOS)
    parser.add_argument("--prometheus", default="prometheus", help="the prometheus program (default: on PATH)")
    parser.add_argument("--alertmanager", default="alertmanager", help="the alertmanager program (default: on PATH)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds before giving up (default: 60)")
    parser.add_argument("--json", metavar="FILE", help="also write the notifications and their payloads as JSON")
    parser.add_argument("--workdir", metavar="DIR", type=Path,
                        help="keep the configurations, logs and data there (default: a temporary directory)")
    parser.add_argument("repositories", nargs="*", type=Path, metavar="REPOSITORY",
                        help="other repositories from the same template, to run as further services")
    args = parser.parse_args(argv)

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        services = [load_service(HERE)] + [load_service(path) for path in args.repositories]
        names = [service["service"] for service in services]
        if len(set(names)) != len(names):
            raise CannotRun(f"each service must have its own slug: {', '.join(names)}")
        binaries = program("prometheus", args.prometheus), program("alertmanager", args.alertmanager)
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            result = play(services, args.scenario, *binaries, args.timeout, args.workdir.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="try-alerts-") as directory:
                result = play(services, args.scenario, *binaries, args.timeout, Path(directory))
    except CannotRun as error:
        print(f"try_alerts: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return 0 if result["settled"] else 1


if __name__ == "__main__":
    sys.exit(main())
