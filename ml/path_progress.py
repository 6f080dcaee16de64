"""How far along a path is: a step's live status, and when the rest of it will be done.

Kept apart from ml.learning_paths (which builds the path): these are read at every
request, from progress that changes between versions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from fractions import Fraction

from ml.learning_paths import REMEDIATION, REVIEW

PENDING, IN_PROGRESS, DONE = "PENDING", "IN_PROGRESS", "DONE"


def step_status(
    kind: str,
    reason_code: str,
    lesson_status: str | None,
    lesson_active_at: datetime | None,
    practised_at: Sequence[datetime | None],
    made_at: datetime,
) -> str:
    """A step's state now, from the lesson's progress (status, newest activity) and its
    skills' newest practice, against when the version was made.

    A REVIEW step is DONE once every one of its skills was practised after the version
    was made; a REMEDIATION step (its lesson was completed before) once the lesson saw
    activity after that; any other LEARN step by the lesson's own status."""
    if kind == REVIEW:
        done = bool(practised_at) and all(at is not None and at > made_at for at in practised_at)
        return DONE if done else PENDING
    if reason_code == REMEDIATION:
        return DONE if lesson_active_at is not None and lesson_active_at > made_at else PENDING
    return {"COMPLETED": DONE, "IN_PROGRESS": IN_PROGRESS}.get(lesson_status or "", PENDING)


def completion_date(
    remaining_minutes: int, minutes_per_week: float | None, today: date
) -> date | None:
    """When the remaining minutes are done at minutes_per_week, counted in whole days.

    None without a positive pace; `today` when nothing remains; else today plus
    ceil(remaining / minutes_per_week * 7) days, computed exactly (Fractions) so a pace
    that divides evenly is not pushed a day later by float rounding. None too when the
    date would fall past date.max (a pace so slow there is no date to give).
    """
    if minutes_per_week is None or not minutes_per_week > 0:
        return None
    if remaining_minutes <= 0 or math.isinf(minutes_per_week):  # (Fraction refuses inf)
        return today
    days = math.ceil(Fraction(remaining_minutes) * 7 / Fraction(minutes_per_week))
    if days > (date.max - today).days:
        return None
    return today + timedelta(days=days)
