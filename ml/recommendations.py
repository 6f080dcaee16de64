"""Teaching recommendations: the LearnTwin rules over a class's mastery, as a pure function."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any

from ml.metrics import MasteryStats


class Priority(enum.Enum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class TeachingAction(enum.Enum):
    RECAP = "RECAP"
    MORE_EXAMPLES = "MORE_EXAMPLES"
    MICRO_BREAKS = "MICRO_BREAKS"
    ENRICHMENT = "ENRICHMENT"


def _threshold(default: float, low: float, high: float) -> Any:
    return field(default=default, metadata={"range": (low, high)})


@dataclass(frozen=True)
class Thresholds:
    """The rules' thresholds: rates are shares 0..1, confidences 1..10 (`range`)."""

    recap_stuck: float = _threshold(0.30, 0, 1)
    recap_confidence: float = _threshold(5.0, 1, 10)
    recap_high_stuck: float = _threshold(0.50, 0, 1)
    recap_high_confidence: float = _threshold(4.0, 1, 10)
    examples_max: float = _threshold(0.20, 0, 1)
    breaks_pause: float = _threshold(0.30, 0, 1)
    breaks_high_pause: float = _threshold(0.50, 0, 1)
    enrichment_got_it: float = _threshold(0.70, 0, 1)
    enrichment_confidence: float = _threshold(7.5, 1, 10)

    def out_of_range(self) -> list[str]:
        """The thresholds outside their range, each as `name (low..high)`."""
        found = []
        for spec in fields(self):
            low, high = spec.metadata["range"]
            if not low <= getattr(self, spec.name) <= high:
                found.append(f"{spec.name} ({low}..{high})")
        return found


@dataclass(frozen=True)
class Recommendation:
    action: TeachingAction
    priority: Priority
    title: str
    rationale: str


_ORDER = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


def _pct(rate: float) -> str:
    return f"{rate:.0%}"


def recommend(mastery: MasteryStats, t: Thresholds | None = None) -> list[Recommendation]:
    """The rules that fire for this mastery, HIGH to LOW; none without records."""
    t = t or Thresholds()
    if not mastery.population:
        return []
    stuck = mastery.rate_stuck or 0.0
    got_it = mastery.rate_got_it or 0.0
    pause = mastery.rate_pause or 0.0
    example = mastery.rate_example or 0.0
    confidence = mastery.avg_confidence or 0.0
    n = mastery.population
    out: list[Recommendation] = []

    if stuck >= t.recap_stuck or confidence <= t.recap_confidence:
        high = stuck >= t.recap_high_stuck or confidence <= t.recap_high_confidence
        out.append(
            Recommendation(
                TeachingAction.RECAP,
                Priority.HIGH if high else Priority.MEDIUM,
                "Recap the last topic",
                f"{_pct(stuck)} of {n} records report being stuck and mean confidence is "
                f"{confidence:.1f}/10 (recap at stuck ≥ {_pct(t.recap_stuck)} or confidence "
                f"≤ {t.recap_confidence:g}).",
            )
        )
    if example <= t.examples_max:
        out.append(
            Recommendation(
                TeachingAction.MORE_EXAMPLES,
                Priority.MEDIUM,
                "Add more worked examples",
                f"Only {_pct(example)} of {n} records involved an example "
                f"(threshold ≤ {_pct(t.examples_max)}).",
            )
        )
    if pause >= t.breaks_pause:
        out.append(
            Recommendation(
                TeachingAction.MICRO_BREAKS,
                Priority.HIGH if pause >= t.breaks_high_pause else Priority.MEDIUM,
                "Plan micro-breaks",
                f"{_pct(pause)} of {n} records asked for a pause "
                f"(threshold ≥ {_pct(t.breaks_pause)}).",
            )
        )
    if got_it >= t.enrichment_got_it and confidence >= t.enrichment_confidence:
        out.append(
            Recommendation(
                TeachingAction.ENRICHMENT,
                Priority.LOW,
                "Offer enrichment tasks",
                f"{_pct(got_it)} of {n} records say 'got it' with mean confidence "
                f"{confidence:.1f}/10 (thresholds ≥ {_pct(t.enrichment_got_it)} and "
                f"≥ {t.enrichment_confidence:g}).",
            )
        )
    return sorted(out, key=lambda r: _ORDER[r.priority])
