"""XP and streaks: AI4D's gamification rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ml.gamification import next_streak, xp_for_attempt

# --- XP -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("correct", "score", "streak", "xp"),
    [
        (5, 100, 0, 450),  # 100 + 50 + 300
        (5, 100, 2, 450),
        (5, 100, 3, 495),  # *1.1
        (5, 100, 7, 563),  # 450 * 1.25 = 562.5, half up
        (5, 100, 30, 675),  # *1.5
        (9, 90, 0, 340),  # 100 + 90 + 150
        (9, 99.99, 0, 340),
        (8, 80, 0, 255),  # 100 + 80 + 75
        (8, 89.99, 0, 255),
        (7, 79.99, 0, 170),  # no bonus
        (0, 0, 0, 100),
        (0, 0, 3, 110),
        (3, 60, 7, 163),  # 130 * 1.25 = 162.5, half up
        (1, 20, 3, 121),  # 110 * 1.1 = 121 exactly, no float drift
    ],
)
def test_xp_examples(correct: int, score: float, streak: int, xp: int) -> None:
    assert xp_for_attempt(correct, score, streak) == xp


def test_xp_clamps_score_and_rejects_negatives() -> None:
    assert xp_for_attempt(5, 100.5, 0) == 450
    with pytest.raises(ValueError):
        xp_for_attempt(-1, 50, 0)
    with pytest.raises(ValueError):
        xp_for_attempt(1, 50, -1)


# --- streaks ------------------------------------------------------------------------------

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("previous", "last_day", "streak"),
    [
        (0, None, 1),  # first ever submission
        (5, None, 1),
        (4, TODAY, 4),  # same day keeps it
        (0, TODAY, 1),  # ...but at least 1
        (4, TODAY - timedelta(days=1), 5),  # yesterday extends it
        (0, TODAY - timedelta(days=1), 2),  # yesterday counted, even if stored as 0
        (4, TODAY - timedelta(days=2), 1),  # a missed day restarts it
        (40, TODAY - timedelta(days=365), 1),
        (4, TODAY + timedelta(days=1), 4),  # clock skew: same day
    ],
)
def test_streak_transitions(previous: int, last_day: date | None, streak: int) -> None:
    assert next_streak(previous, last_day, TODAY) == streak


def test_streak_across_month_and_year_ends() -> None:
    assert next_streak(3, date(2025, 12, 31), date(2026, 1, 1)) == 4
    assert next_streak(3, date(2024, 2, 29), date(2024, 3, 1)) == 4
