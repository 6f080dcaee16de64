"""Student recommendations: what to offer a learner on each recompute, and their lifecycle.

`candidates` turns what the learner model and the course rules already know (the next
path step or lesson, due reviews, struggling skills, difficulty advice, pauses) into
recommendations; `reconcile` decides which stored ones to keep, expire or supersede and
which candidates to create. Both are pure: the caller reads the clock and the database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

NEXT_LESSON = "NEXT_LESSON"
REVISION = "REVISION"
DIFFICULTY = "DIFFICULTY"
BREAK = "BREAK"
KINDS = (NEXT_LESSON, REVISION, DIFFICULTY, BREAK)

OPEN = "OPEN"
ACCEPTED = "ACCEPTED"
SKIPPED = "SKIPPED"
DISMISSED = "DISMISSED"
EXPIRED = "EXPIRED"
SUPERSEDED = "SUPERSEDED"
ANSWERED = frozenset({ACCEPTED, SKIPPED, DISMISSED})

HIGH = "HIGH"
MEDIUM = "MEDIUM"
LOW = "LOW"
PRIORITIES = (HIGH, MEDIUM, LOW)

EXPIRY = timedelta(days=7)
SUPPRESSION = timedelta(hours=24)
BREAK_RATE = 0.30
BREAK_HIGH_RATE = 0.50
BREAK_DAYS = 7
# Below this many records one or two pauses would already make a "rate": too noisy to act on.
BREAK_MIN_RECORDS = 5
REVIEW_MEDIUM_BELOW = 0.7
DIFFICULTY_FULL_ANSWERS = 20
DIFFICULTY_MIN_CONFIDENCE = 0.25
BREAK_FULL_RECORDS = 20

# Kinds of which a learner has at most one OPEN recommendation: a new target of the same
# kind replaces the old one rather than sitting next to it. (BREAK has a single target.)
SINGLE_KINDS = frozenset({NEXT_LESSON, DIFFICULTY, BREAK})


@dataclass(frozen=True)
class NextStep:
    """The first pending step of the active goal's path."""

    lesson_id: str
    lesson_title: str
    goal_id: str
    position: int
    skill_names: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class NextLesson:
    """The enrolment's next lesson, used when no path step exists."""

    lesson_id: str
    lesson_title: str
    course_id: str
    course_title: str
    completed: int
    total: int


@dataclass(frozen=True)
class DueReview:
    """A skill whose FSRS review is due; retrievability is the recall estimate 0..1."""

    skill_id: str
    name: str
    due: datetime
    retrievability: float | None
    lesson_id: str | None


@dataclass(frozen=True)
class StruggleInfo:
    """A struggling skill; severity HIGH, MEDIUM or LOW."""

    skill_id: str
    name: str
    p_mastery: float
    signals: tuple[str, ...]
    severity: str
    reason: str
    lesson_id: str | None


@dataclass(frozen=True)
class DifficultyInfo:
    """The difficulty advice: the current level and the one the recent accuracy suggests."""

    current: int
    suggested: int
    recent_accuracy: float | None
    answers_considered: int
    target_accuracy: float
    reason: str


@dataclass(frozen=True)
class PauseInfo:
    """The student's class metric records of the last 7 days, and how many were a pause."""

    pauses: int
    records: int


@dataclass(frozen=True)
class RecommendationInput:
    """Everything `candidates` looks at; `now` is passed in so the module reads no clock."""

    next_step: NextStep | None
    next_lesson: NextLesson | None
    due_reviews: Sequence[DueReview]
    struggles: Sequence[StruggleInfo]
    difficulty: DifficultyInfo | None
    pauses: PauseInfo | None
    now: datetime


@dataclass(frozen=True)
class Candidate:
    """A recommendation to offer; evidence holds JSON values only (datetimes as ISO)."""

    kind: str
    lesson_id: str | None
    skill_id: str | None
    difficulty: DifficultyInfo | None
    reason: str
    evidence: dict[str, Any]
    priority: str
    confidence: float
    goal_id: str | None = None

    @property
    def target(self) -> str:
        """The identity that reconcile matches stored recommendations by."""
        if self.kind == NEXT_LESSON:
            return f"{NEXT_LESSON}:{self.lesson_id}"
        if self.kind == REVISION:
            return f"{REVISION}:{self.skill_id}"
        if self.kind == DIFFICULTY:
            suggested = self.difficulty.suggested if self.difficulty is not None else None
            return f"{DIFFICULTY}:{suggested}"
        if self.kind == BREAK:
            return BREAK
        raise ValueError(f"unknown recommendation kind {self.kind!r}")


def _finite(value: float | None) -> float | None:
    # NaN and infinities are not JSON and not usable estimates: treat them as unknown.
    return value if value is not None and math.isfinite(value) else None


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _sort_key(candidate: Candidate) -> tuple[int, int, str]:
    return PRIORITIES.index(candidate.priority), KINDS.index(candidate.kind), candidate.target


# --- the candidates -----------------------------------------------------------------


def _next_lesson(inp: RecommendationInput) -> Candidate | None:
    step = inp.next_step
    if step is not None:
        teaches = f" — teaches {', '.join(step.skill_names)}" if step.skill_names else ""
        evidence: dict[str, Any] = {
            "source": "PATH",
            "goalId": step.goal_id,
            "position": step.position,
            "skills": list(step.skill_names),
        }
        if step.reason:
            evidence["pathReason"] = step.reason
        reason = f"Next on your path (step {step.position}): {step.lesson_title}{teaches}."
        return Candidate(
            NEXT_LESSON, step.lesson_id, None, None, reason, evidence, MEDIUM, 0.8, step.goal_id
        )
    lesson = inp.next_lesson
    if lesson is None:
        return None
    # The next lesson is the one after those completed, never past the last one.
    number = min(lesson.completed + 1, lesson.total) if lesson.total else lesson.completed + 1
    reason = (
        f"Next in {lesson.course_title}: lesson {number} of {lesson.total}, "
        f"{lesson.completed} completed."
    )
    evidence = {
        "source": "ENROLLMENT",
        "courseId": lesson.course_id,
        "lessonTitle": lesson.lesson_title,
        "completed": lesson.completed,
        "total": lesson.total,
    }
    return Candidate(NEXT_LESSON, lesson.lesson_id, None, None, reason, evidence, MEDIUM, 0.6)


def _review_confidence(review: DueReview) -> float:
    retrievability = _finite(review.retrievability)
    if retrievability is None:
        return 0.6
    # The less likely the learner still recalls the skill, the surer the review is needed.
    return _clamp(1.0 - _clamp(retrievability, 0.0, 1.0), 0.5, 0.95)


def _review_sentence(review: DueReview, now: datetime, merged: bool) -> str:
    retrievability = _finite(review.retrievability)
    recall = f" (recall estimated at {retrievability:.0%})" if retrievability is not None else ""
    days = (now - review.due) // timedelta(days=1)
    overdue = f", due {days} day{'s' if days != 1 else ''} ago" if days >= 1 else ""
    if merged:
        return f"Its review is due too{recall}{overdue}."
    return f"Time to review {review.name}{recall}{overdue}."


def _revision(
    skill_id: str, review: DueReview | None, struggle: StruggleInfo | None, now: datetime
) -> Candidate:
    signals: list[str] = []
    evidence: dict[str, Any] = {"signals": signals}
    sentences: list[str] = []
    priority, confidence = LOW, 0.0
    if struggle is not None:
        mastery = _finite(struggle.p_mastery)
        signals.extend(struggle.signals)
        evidence["pMastery"] = mastery
        evidence["severity"] = struggle.severity
        shown = f" (mastery {mastery:.0%})" if mastery is not None else ""
        sentences.append(struggle.reason or f"You are struggling with {struggle.name}{shown}.")
        priority = HIGH if struggle.severity == HIGH else MEDIUM
        confidence = 0.85 if struggle.severity == HIGH else 0.7
    if review is not None:
        retrievability = _finite(review.retrievability)
        signals.append("REVIEW_DUE")
        evidence["dueAt"] = review.due.isoformat()
        evidence["retrievability"] = retrievability
        sentences.append(_review_sentence(review, now, merged=struggle is not None))
        if priority == LOW and retrievability is not None and retrievability < REVIEW_MEDIUM_BELOW:
            priority = MEDIUM
        # Two signals agreeing make the advice no less sure than the stronger one alone.
        confidence = max(confidence, _review_confidence(review))
    lesson_id = struggle.lesson_id if struggle is not None else None
    if lesson_id is None and review is not None:
        lesson_id = review.lesson_id
    reason = " ".join(sentences)
    return Candidate(REVISION, lesson_id, skill_id, None, reason, evidence, priority, confidence)


def _revisions(inp: RecommendationInput) -> list[Candidate]:
    # One candidate per skill; when a source lists a skill twice its first entry counts.
    reviews: dict[str, DueReview] = {}
    for review in inp.due_reviews:
        reviews.setdefault(review.skill_id, review)
    struggles: dict[str, StruggleInfo] = {}
    for struggle in inp.struggles:
        struggles.setdefault(struggle.skill_id, struggle)
    skill_ids = dict.fromkeys([*struggles, *reviews])
    return [
        _revision(skill_id, reviews.get(skill_id), struggles.get(skill_id), inp.now)
        for skill_id in skill_ids
    ]


def _difficulty(info: DifficultyInfo | None) -> Candidate | None:
    if info is None or info.suggested == info.current:
        return None
    accuracy = _finite(info.recent_accuracy)
    direction = "up" if info.suggested > info.current else "down"
    shown = f" (recent accuracy {accuracy:.0%})" if accuracy is not None else ""
    reason = info.reason or (
        f"Move difficulty {direction} from {info.current} to {info.suggested}{shown}."
    )
    # Few answers make a noisy accuracy: confidence grows with them, with a floor so the
    # advice is still shown as a suggestion.
    confidence = max(
        DIFFICULTY_MIN_CONFIDENCE, min(1.0, info.answers_considered / DIFFICULTY_FULL_ANSWERS)
    )
    evidence = {
        "current": info.current,
        "suggested": info.suggested,
        "recentAccuracy": accuracy,
        "answersConsidered": info.answers_considered,
        "targetAccuracy": _finite(info.target_accuracy),
    }
    return Candidate(DIFFICULTY, None, None, info, reason, evidence, MEDIUM, confidence)


def _break(info: PauseInfo | None) -> Candidate | None:
    if info is None or info.records < BREAK_MIN_RECORDS:
        return None
    pauses = min(max(0, info.pauses), info.records)
    # Division, not pauses >= BREAK_RATE * records: 0.3 * 10 is 3.0000000000000004 in floats.
    rate = pauses / info.records
    if rate < BREAK_RATE:
        return None
    reason = (
        f"You marked a pause in {pauses} of your last {info.records} class check-ins over "
        f"{BREAK_DAYS} days ({rate:.0%}): a short break may help."
    )
    evidence = {
        "pauseRate": round(rate, 4),
        "pauses": pauses,
        "records": info.records,
        "days": BREAK_DAYS,
    }
    priority = HIGH if rate >= BREAK_HIGH_RATE else MEDIUM
    confidence = min(1.0, info.records / BREAK_FULL_RECORDS)
    return Candidate(BREAK, None, None, None, reason, evidence, priority, confidence)


def candidates(inp: RecommendationInput) -> list[Candidate]:
    """The recommendations to offer now, by priority, then kind, then target.

    NEXT_LESSON: the path step, else the enrolment's next lesson (at most one). REVISION:
    one per due or struggling skill. DIFFICULTY: when the suggested level differs. BREAK:
    a pause rate ≥ 0.30 over at least 5 records of the last 7 days.
    """
    found = [_next_lesson(inp), *_revisions(inp), _difficulty(inp.difficulty), _break(inp.pauses)]
    return sorted((c for c in found if c is not None), key=_sort_key)


# --- the lifecycle ------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A stored recommendation as the reconciler needs it."""

    id: str
    target: str
    kind: str
    status: str
    created_at: datetime
    expires_at: datetime | None
    responded_at: datetime | None


@dataclass(frozen=True)
class Decision:
    """What to do: create new OPEN ones, mark OPEN ones SUPERSEDED or EXPIRED, keep the rest."""

    create: tuple[Candidate, ...]
    supersede: tuple[str, ...]
    expire: tuple[str, ...]
    keep: tuple[str, ...]


def expires_at(created_at: datetime) -> datetime:
    """When a recommendation created at `created_at` expires."""
    return created_at + EXPIRY


def can_respond(status: str) -> bool:
    """Whether the learner may accept, skip or dismiss it: only while OPEN."""
    return status == OPEN


def _expiry(row: Stored) -> datetime:
    # A row stored without an expiry still ages out, at the default horizon.
    return row.expires_at if row.expires_at is not None else expires_at(row.created_at)


def _fresh_once(fresh: Sequence[Candidate]) -> list[Candidate]:
    # The first candidate of a target wins, and of a single-slot kind only the first target.
    targets: set[str] = set()
    kinds: set[str] = set()
    kept: list[Candidate] = []
    for candidate in fresh:
        if candidate.target in targets or candidate.kind in kinds:
            continue
        targets.add(candidate.target)
        if candidate.kind in SINGLE_KINDS:
            kinds.add(candidate.kind)
        kept.append(candidate)
    return kept


def reconcile(stored: Sequence[Stored], fresh: Sequence[Candidate], now: datetime) -> Decision:
    """The changes that bring the stored recommendations in line with the fresh candidates.

    OPEN ones past their expiry expire (at exactly expires_at too). A candidate whose target
    was accepted, skipped or dismissed less than 24 h ago is not offered again. An OPEN one
    with a candidate's target is kept and that candidate not created; every other OPEN one
    is superseded; the remaining candidates are created. Ids are sorted; created ones keep
    the candidates' order.
    """
    suppressed = {
        row.target
        for row in stored
        if row.status in ANSWERED
        and row.responded_at is not None
        and now - row.responded_at < SUPPRESSION
    }
    offered = [c for c in _fresh_once(fresh) if c.target not in suppressed]
    wanted = {c.target for c in offered}

    expire: list[str] = []
    keep: list[str] = []
    supersede: list[str] = []
    kept_targets: set[str] = set()
    # Oldest first, so of two OPEN rows with one target (a race) the one shown first stays.
    live = sorted(
        (row for row in stored if row.status == OPEN), key=lambda row: (row.created_at, row.id)
    )
    for row in live:
        if _expiry(row) <= now:
            expire.append(row.id)
        elif row.target in wanted and row.target not in kept_targets:
            keep.append(row.id)
            kept_targets.add(row.target)
        else:
            supersede.append(row.id)
    create = tuple(c for c in offered if c.target not in kept_targets)
    return Decision(
        create=create,
        supersede=tuple(sorted(supersede)),
        expire=tuple(sorted(expire)),
        keep=tuple(sorted(keep)),
    )
