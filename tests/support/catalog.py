"""The SLI catalog, includes/data/slis.json, as the tests read it: which SLOs each kind of
service has and which questions set their targets and thresholds. Tests that walk the SLOs
of a kind read them from here, so an SLO added to the catalog reaches them."""

from __future__ import annotations

import json
from typing import Any

from support.project import ROOT

CATALOG: dict[str, Any] = json.loads((ROOT / "includes/data/slis.json").read_text(encoding="utf-8"))
SLIS: dict[str, dict] = CATALOG["slis"]
UNITS: dict[str, dict] = CATALOG["units"]


def slos_of_kind(kind: str) -> list[str]:
    """The slugs of the SLOs a kind of service has, in the catalog's order."""
    return [slug for slug, sli in SLIS.items() if kind in sli["kinds"]]


def is_threshold(slug: str) -> bool:
    """Whether the SLO counts the events above a threshold (rather than failed events)."""
    return SLIS[slug]["indicator"] == "threshold"
