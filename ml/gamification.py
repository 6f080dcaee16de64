"""XP and streaks for a submitted attempt: AI4D's gamification rules, as pure functions.

Scores are percentages, clamped into 0..100 by the rule profiles use
(`ml.profiling.clamp_pct`): a figure a hair above 100 from rounding upstream earns the
100% bonus instead of failing, and NaN raises.
"""

from __future__ import annotations

from datetime import date, timedelta

from ml.profiling import clamp_pct

# (minimum streak days, multiplier in percent), highest first; percent keeps XP exact.
STREAK_MULTIPLIERS: tuple[tuple[int, int], ...] = ((30, 150), (7, 125), (3, 110))


def xp_for_attempt(correct_count: int, score_pct: float, streak_days: int) -> int:
    """AI4D's XP: 100 + 10 per correct answer + a score bonus, times a streak multiplier.

    Bonus: 300 for 100%, 150 for 90% up to (not including) 100%, 75 for 80% up to 90%.
    The multiplier is applied in integer arithmetic and rounded half up (495.5 gives
    496), so no float error and no banker's rounding. `correct_count` is trusted as
    given, not cross-checked against the score.
    """
    if correct_count < 0 or streak_days < 0:
        raise ValueError("correct_count and streak_days cannot be negative")
    score = clamp_pct(score_pct)
    if score >= 100.0:
        bonus = 300
    elif score >= 90.0:
        bonus = 150
    elif score >= 80.0:
        bonus = 75
    else:
        bonus = 0
    base = 100 + 10 * correct_count + bonus
    percent = next((p for days, p in STREAK_MULTIPLIERS if streak_days >= days), 100)
    return (base * percent + 50) // 100


def next_streak(previous_streak: int, last_day: date | None, today: date) -> int:
    """The streak after a submission `today`, given the day of the previous submission.

    Same day: unchanged (at least 1). The day before: one more (a submission yesterday
    means yesterday counted, so at least 2). Older or none: restarts at 1. A `last_day`
    after `today` (clocks or time zones disagreeing) counts as the same day, so a
    streak is never lost to skew.
    """
    if last_day is None:
        return 1
    if last_day >= today:
        return max(previous_streak, 1)
    if last_day == today - timedelta(days=1):
        return max(previous_streak, 1) + 1
    return 1
