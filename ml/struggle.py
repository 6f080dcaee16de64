"""Struggling topics: which skills need attention, from mastery, answers and lesson effort.

The learner dashboard lists a skill only when some signal fires; ml.learner_analytics
re-exports these names so callers import the dashboard's analytics from one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WHEEL_SPINNING = "WHEEL_SPINNING"
LOW_MASTERY = "LOW_MASTERY"
LOW_ACCURACY = "LOW_ACCURACY"
SLOW_PROGRESS = "SLOW_PROGRESS"
FREQUENT_PAUSES = "FREQUENT_PAUSES"
FREQUENT_REWINDS = "FREQUENT_REWINDS"
STUCK_SELF_REPORT = "STUCK_SELF_REPORT"

HIGH = "HIGH"
MEDIUM = "MEDIUM"
LOW = "LOW"

# Wheel spinning (Beck & Gong): many practice opportunities without reaching mastery.
WHEEL_SPIN_OPPORTUNITIES = 10
MASTERED = 0.95
LOW_MASTERY_BELOW = 0.4
LOW_MASTERY_OPPORTUNITIES = 3
RECENT_WINDOW = 5
LOW_ACCURACY_BELOW = 0.6
SLOW_TIME_FACTOR = 2
SLOW_COMPLETION_BELOW = 0.5
PAUSES_ABOVE = 10
REWINDS_ABOVE = 8
STUCK_RATE_AT_LEAST = 0.30
# The self-report is not about one skill, so alone it only flags skills still weak.
STUCK_ALONE_BELOW = 0.6

_SEVERITY_RANK = {HIGH: 0, MEDIUM: 1, LOW: 2}


@dataclass(frozen=True)
class SkillEvidence:
    """What the learner model knows of one skill for one student."""

    skill_id: str
    name: str
    p_mastery: float
    opportunities: int
    recent: tuple[bool, ...]  # last outcomes, oldest first (up to 5)


@dataclass(frozen=True)
class LessonEffort:
    """A lesson teaching some skills that the student has touched, with its effort counters."""

    lesson_id: str
    skill_ids: tuple[str, ...]
    active_seconds: int
    estimated_minutes: int
    completion: float
    pauses: int
    rewinds: int


@dataclass(frozen=True)
class Struggle:
    """A skill needing attention: the signals that fired, their severity and a reason."""

    skill_id: str
    p_mastery: float
    opportunities: int
    recent_accuracy: float | None
    signals: tuple[str, ...]
    severity: str
    reason: str


def _recent(skill: SkillEvidence) -> tuple[bool, ...]:
    # Callers may pass more than five outcomes; only the newest five count as "recent".
    return skill.recent[-RECENT_WINDOW:]


def _is_slow(effort: LessonEffort) -> bool:
    # Without an estimate there is nothing to be slow against.
    if effort.estimated_minutes <= 0:
        return False
    over_time = effort.active_seconds > SLOW_TIME_FACTOR * effort.estimated_minutes * 60
    return over_time and effort.completion < SLOW_COMPLETION_BELOW


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _reason(
    skill: SkillEvidence,
    signals: Sequence[str],
    lessons: Sequence[LessonEffort],
    stuck_rate: float | None,
) -> str:
    name = skill.name or skill.skill_id
    recent = _recent(skill)
    parts = [
        f"{name}: {_plural(skill.opportunities, 'attempt')} and mastery "
        f"{'still ' if skill.opportunities else ''}{skill.p_mastery:.2f}"
    ]
    if recent:
        parts.append(f"{sum(recent)} of the last {len(recent)} right")
    if SLOW_PROGRESS in signals:
        # The slowest lesson tells the student the most about where the time goes.
        slow = max(
            (e for e in lessons if _is_slow(e)),
            key=lambda e: e.active_seconds / (e.estimated_minutes * 60),
        )
        factor = slow.active_seconds / (slow.estimated_minutes * 60)
        parts.append(
            f"{factor:.1f} times the estimated time on a lesson {slow.completion:.0%} done"
        )
    if FREQUENT_PAUSES in signals:
        parts.append(f"{max(e.pauses for e in lessons)} pauses in one lesson")
    if FREQUENT_REWINDS in signals:
        parts.append(f"{max(e.rewinds for e in lessons)} rewinds in one lesson")
    if STUCK_SELF_REPORT in signals and stuck_rate is not None:
        parts.append(f"marked stuck in {stuck_rate:.0%} of class check-ins this week")
    return "; ".join(parts) + "."


def _severity(signals: Sequence[str]) -> str:
    if WHEEL_SPINNING in signals or len(signals) >= 2:
        return HIGH
    # The self-report alone is student-wide, not evidence about this skill: the weakest case.
    if tuple(signals) == (STUCK_SELF_REPORT,):
        return LOW
    return MEDIUM


def _assess(
    skill: SkillEvidence, efforts: Sequence[LessonEffort], stuck_rate: float | None
) -> Struggle | None:
    recent = _recent(skill)
    accuracy = sum(recent) / len(recent) if recent else None
    lessons = [e for e in efforts if skill.skill_id in e.skill_ids]
    signals: list[str] = []
    if skill.opportunities >= WHEEL_SPIN_OPPORTUNITIES and skill.p_mastery < MASTERED:
        signals.append(WHEEL_SPINNING)
    if skill.opportunities >= LOW_MASTERY_OPPORTUNITIES and skill.p_mastery < LOW_MASTERY_BELOW:
        signals.append(LOW_MASTERY)
    if len(recent) == RECENT_WINDOW and sum(recent) < LOW_ACCURACY_BELOW * RECENT_WINDOW:
        signals.append(LOW_ACCURACY)
    if any(_is_slow(e) for e in lessons):
        signals.append(SLOW_PROGRESS)
    if any(e.pauses > PAUSES_ABOVE for e in lessons):
        signals.append(FREQUENT_PAUSES)
    if any(e.rewinds > REWINDS_ABOVE for e in lessons):
        signals.append(FREQUENT_REWINDS)
    stuck = stuck_rate is not None and stuck_rate >= STUCK_RATE_AT_LEAST
    if stuck and (signals or skill.p_mastery < STUCK_ALONE_BELOW):
        signals.append(STUCK_SELF_REPORT)
    if not signals:
        return None
    return Struggle(
        skill_id=skill.skill_id,
        p_mastery=skill.p_mastery,
        opportunities=skill.opportunities,
        recent_accuracy=accuracy,
        signals=tuple(signals),
        severity=_severity(signals),
        reason=_reason(skill, signals, lessons, stuck_rate),
    )


def struggling_topics(
    skills: Sequence[SkillEvidence],
    efforts: Sequence[LessonEffort],
    stuck_rate: float | None,
) -> list[Struggle]:
    """The skills with at least one signal, HIGH first, then lower mastery, then skill id.

    Signals: WHEEL_SPINNING (≥ 10 opportunities, mastery < 0.95), LOW_MASTERY (< 0.4 after
    ≥ 3), LOW_ACCURACY (< 60 % of the last 5, needs 5), SLOW_PROGRESS (a lesson teaching it
    at more than twice its estimate and under half done), FREQUENT_PAUSES (> 10 in a lesson),
    FREQUENT_REWINDS (> 8), STUCK_SELF_REPORT (stuck_rate ≥ 0.30, only on skills with another
    signal or mastery < 0.6). HIGH on wheel spinning or two signals; LOW when the only signal
    is the student-wide self-report; else MEDIUM.
    """
    found = [s for s in (_assess(skill, efforts, stuck_rate) for skill in skills) if s]
    return sorted(found, key=lambda s: (_SEVERITY_RANK[s.severity], s.p_mastery, s.skill_id))
