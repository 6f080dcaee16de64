"""The learner model per (student, skill): Bayesian Knowledge Tracing plus an FSRS card.

BKT follows Corbett & Anderson (1995) with an optional forgetting rate; soft evidence (a
class metric, a lesson score spread over skills) enters with a weight below 1 by raising
both likelihoods to that power. Every graded answer (weight 1) is also an FSRS review of
the pair's card, stored as the JSON dict that `fsrs.Card.to_dict()` produces.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from fsrs import Card, Rating, Scheduler
from fsrs.card import CardDict

SKILL_ID_MAX = 64
MASTERED_AT = 0.95
RECENT_MAX = 5

_SKILL_ID = re.compile(rf"[a-z0-9-]{{1,{SKILL_ID_MAX}}}")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")

_SCHEDULER = Scheduler(desired_retention=0.9, enable_fuzzing=False)


def is_skill_id(text: str) -> bool:
    """Whether `text` is a valid skill id: 1 to 64 characters of `[a-z0-9-]`."""
    return _SKILL_ID.fullmatch(text) is not None


def slugify(text: str) -> str:
    """The skill id derived from a name: lower-cased, runs of other characters as one `-`.

    Trimmed of `-` at both ends and cut at 64 characters; may be "" (the caller refuses).
    """
    slug = _NOT_SLUG.sub("-", text.lower()).strip("-")
    return slug[:SKILL_ID_MAX].rstrip("-")


@dataclass(frozen=True)
class TracingParams:
    """BKT parameters of one skill: P(L0), P(T), P(G), P(S) and a forgetting rate."""

    prior: float = 0.2
    learn: float = 0.1
    guess: float = 0.2
    slip: float = 0.1
    forget: float = 0.0


DEFAULT_TRACING = TracingParams()


class InvalidParameter(ValueError):
    """A tracing parameter out of its allowed range; `field` is the GraphQL field name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# field -> (low, low inclusive, high, high inclusive)
_RANGES: dict[str, tuple[float, bool, float, bool]] = {
    "prior": (0.0, False, 1.0, False),
    "learn": (0.0, False, 1.0, False),
    "guess": (0.0, True, 0.3, True),
    "slip": (0.0, True, 0.1, True),
    "forget": (0.0, True, 1.0, False),
}


def check_tracing(params: TracingParams) -> None:
    """Raise InvalidParameter naming the first parameter outside its allowed range.

    Allowed: 0 < prior < 1, 0 < learn < 1, 0 ≤ guess ≤ 0.3, 0 ≤ slip ≤ 0.1, 0 ≤ forget < 1;
    NaN and infinities are refused.
    """
    for field, (low, low_in, high, high_in) in _RANGES.items():
        value = getattr(params, field)
        ok = (
            isinstance(value, int | float)
            and math.isfinite(value)
            and (low <= value if low_in else low < value)
            and (value <= high if high_in else value < high)
        )
        if not ok:
            left = "≤" if low_in else "<"
            right = "≤" if high_in else "<"
            raise InvalidParameter(
                field, f"{field} must satisfy {low:g} {left} {field} {right} {high:g}"
            )


def _clamp01(x: float) -> float:
    return min(1.0, max(0.0, x))


def bkt_update(p: float, correct: bool, params: TracingParams, weight: float = 1.0) -> float:
    """P(known) after one observation: the Bayesian posterior, then the learn/forget step.

    Soft evidence of weight w (0 < w ≤ 1) raises both likelihoods to the power w, so a
    tiny weight leaves almost only the transition.
    """
    if correct:
        known, unknown = 1.0 - params.slip, params.guess
    else:
        known, unknown = params.slip, 1.0 - params.guess
    known, unknown = known**weight, unknown**weight
    denominator = p * known + (1.0 - p) * unknown
    posterior = p if denominator <= 0.0 else p * known / denominator
    return _clamp01(posterior * (1.0 - params.forget) + (1.0 - posterior) * params.learn)


def p_correct_next(p: float, params: TracingParams) -> float:
    """The probability that the next answer is correct given P(known) = p."""
    return p * (1.0 - params.slip) + (1.0 - p) * params.guess


def level(p: float) -> int:
    """The 1..10 level shown for P(known) = p (p = 0 gives 1, p = 1 gives 10)."""
    return max(1, min(10, math.floor(1.0 + 9.0 * p + 0.5)))


# Each band with evidence, from the pMastery it starts at (NOT_STARTED: no evidence).
BAND_FLOORS = (("NOVICE", 0.0), ("DEVELOPING", 0.2), ("PROFICIENT", 0.6), ("MASTERED", MASTERED_AT))


def band(p: float, opportunities: int) -> str:
    """The mastery band: NOT_STARTED, NOVICE, DEVELOPING, PROFICIENT or MASTERED."""
    if opportunities == 0:
        return "NOT_STARTED"
    return next((name for name, floor in reversed(BAND_FLOORS) if p >= floor), "NOVICE")


def band_range(name: str) -> tuple[float, float]:
    """The pMastery range [low, high) of a band with evidence (MASTERED reaches past 1)."""
    floors = dict(BAND_FLOORS)
    ceilings = {a: b for (a, _), (_, b) in itertools.pairwise(BAND_FLOORS)}
    return floors[name], ceilings.get(name, 2.0)


# --- FSRS ---------------------------------------------------------------------------


def _card(card: dict[str, Any]) -> Card:
    return Card.from_dict(cast(CardDict, card))


def _dict(card: Card) -> dict[str, Any]:
    return dict(card.to_dict())


def new_card(card_id: int | None = None) -> dict[str, Any]:
    """The JSON dict of a new FSRS card (in Learning, never reviewed)."""
    return _dict(Card(card_id=card_id))


def review_card(card: dict[str, Any], rating: int, at: datetime) -> dict[str, Any]:
    """The card dict after a review rated 1 Again, 2 Hard, 3 Good or 4 Easy at `at`.

    `at` must be timezone-aware; it is converted to UTC as fsrs requires.
    """
    if at.tzinfo is None:
        raise ValueError("review time must be timezone-aware")
    reviewed, _log = _SCHEDULER.review_card(_card(card), Rating(rating), at.astimezone(UTC))
    return _dict(reviewed)


def review_rating(correct: bool, hints_used: int) -> int:
    """The FSRS rating of an answer: wrong 1 (Again), correct with hints 2 (Hard), else 3."""
    if not correct:
        return int(Rating.Again)
    return int(Rating.Hard) if hints_used > 0 else int(Rating.Good)


def card_retrievability(card: dict[str, Any] | None, now: datetime) -> float | None:
    """The predicted recall probability at `now`; None before the card's first review."""
    if card is None or card.get("last_review") is None:
        return None
    return float(_SCHEDULER.get_card_retrievability(_card(card), now.astimezone(UTC)))


def card_stability(card: dict[str, Any] | None) -> float | None:
    """The card's FSRS stability in days; None before its first review."""
    if card is None or card.get("stability") is None:
        return None
    return float(card["stability"])


def card_due(card: dict[str, Any] | None) -> datetime | None:
    """When the card is next due; None before its first review."""
    if card is None or card.get("last_review") is None:
        return None
    return datetime.fromisoformat(card["due"])


# --- per-pair state -----------------------------------------------------------------


@dataclass(frozen=True)
class SkillState:
    """What is known of one (student, skill) pair."""

    p_mastery: float
    opportunities: int = 0
    correct: int = 0
    recent: tuple[bool, ...] = ()
    last_practiced_at: datetime | None = None
    card: dict[str, Any] | None = None


@dataclass(frozen=True)
class Observation:
    """One piece of evidence: weight 1 for a graded answer, less for soft evidence."""

    correct: bool
    weight: float
    at: datetime
    hints_used: int = 0


@dataclass(frozen=True)
class Update:
    """One applied observation: the state before and after, and the FSRS rating if any."""

    before: SkillState
    after: SkillState
    p_before: float
    p_after: float
    review_rating: int | None


def initial_state(params: TracingParams) -> SkillState:
    """The state of a pair with no evidence: P(known) = prior."""
    return SkillState(p_mastery=params.prior)


def apply_observation(state: SkillState, observation: Observation, params: TracingParams) -> Update:
    """The state after one observation: BKT update, counters, and an FSRS review at weight 1.

    Raises ValueError unless 0 < weight ≤ 1.
    """
    weight = observation.weight
    if not (math.isfinite(weight) and 0.0 < weight <= 1.0):
        raise ValueError("observation weight must satisfy 0 < weight ≤ 1")
    p_after = bkt_update(state.p_mastery, observation.correct, params, weight)
    rating: int | None = None
    card = state.card
    if weight == 1.0:
        rating = review_rating(observation.correct, observation.hints_used)
        if card is None:
            card = new_card(card_id=int(observation.at.timestamp() * 1000))
        card = review_card(card, rating, observation.at)
    last = state.last_practiced_at
    after = replace(
        state,
        p_mastery=p_after,
        opportunities=state.opportunities + 1,
        correct=state.correct + (1 if observation.correct else 0),
        recent=(*state.recent, observation.correct)[-RECENT_MAX:],
        last_practiced_at=observation.at if last is None else max(last, observation.at),
        card=card,
    )
    return Update(
        before=state,
        after=after,
        p_before=state.p_mastery,
        p_after=p_after,
        review_rating=rating,
    )


def apply_all(
    state: SkillState, observations: Iterable[Observation], params: TracingParams
) -> list[Update]:
    """The updates of applying `observations` in order, each from the previous state."""
    updates: list[Update] = []
    for observation in observations:
        update = apply_observation(state, observation, params)
        updates.append(update)
        state = update.after
    return updates


def recent_accuracy(state: SkillState) -> float | None:
    """The share of correct outcomes among the last (up to 5); None when there are none."""
    if not state.recent:
        return None
    return sum(state.recent) / len(state.recent)
