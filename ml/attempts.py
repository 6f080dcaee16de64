"""Grading a whole attempt, and the XP and streak it earns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ml.gamification import next_streak, xp_for_attempt
from ml.grading import grade
from ml.quiz import QuizQuestion


@dataclass(frozen=True)
class GradedAnswer:
    number: int
    given: tuple[str, ...]
    correct: bool
    expected: tuple[str, ...]


@dataclass(frozen=True)
class AttemptGrade:
    answers: tuple[GradedAnswer, ...]
    correct_count: int
    total_count: int

    @property
    def score(self) -> float:
        """0..100; unanswered questions count as wrong."""
        return 100.0 * self.correct_count / self.total_count if self.total_count else 0.0


def grade_attempt(
    questions: Sequence[QuizQuestion], given: Mapping[int, Sequence[str]]
) -> AttemptGrade:
    """Grade every question of the quiz against the answers given, by question number."""
    graded = []
    for question in questions:
        values = tuple(given.get(question.number, ()))
        correct = bool(values) and grade(question, values)
        graded.append(GradedAnswer(question.number, values, correct, question.expected))
    correct_count = sum(a.correct for a in graded)
    return AttemptGrade(tuple(graded), correct_count, len(graded))


@dataclass(frozen=True)
class Progress:
    xp_awarded: int
    xp_total: int
    streak_days: int


def progress_after(
    grade_: AttemptGrade,
    *,
    previous_xp_total: int,
    previous_streak: int,
    previous_day: date | None,
    today: date,
) -> Progress:
    streak = next_streak(previous_streak, previous_day, today)
    awarded = xp_for_attempt(grade_.correct_count, grade_.score, streak)
    return Progress(awarded, previous_xp_total + awarded, streak)
