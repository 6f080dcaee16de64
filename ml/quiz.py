"""Quizzes as plain data: what the generators produce, what grading and profiling read."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class QuestionType(enum.Enum):
    MULTIPLE_CHOICE = "MULTIPLE_CHOICE"
    TRUE_FALSE = "TRUE_FALSE"
    OPEN = "OPEN"
    LIST = "LIST"


class Difficulty(enum.Enum):
    BEGINNER = "BEGINNER"
    INTERMEDIATE = "INTERMEDIATE"
    ADVANCED = "ADVANCED"


class ContentSource(enum.Enum):
    LLM = "LLM"
    FALLBACK = "FALLBACK"


TRUE_FALSE_OPTIONS = ("True", "False")


@dataclass(frozen=True)
class QuizQuestion:
    """One question with its answer key (the key never leaves the server before grading).

    - MULTIPLE_CHOICE: exactly 4 `options`; `expected` is the one correct option.
    - TRUE_FALSE: `options` are ("True", "False"); `expected` is one of them.
    - OPEN: no options; `expected` lists accepted answers (the first is the model answer);
      `key_terms`, when given, are terms an answer containing all of them is correct for.
    - LIST: no options; `expected` lists the items, compared as a set.
    """

    number: int
    text: str
    type: QuestionType
    options: tuple[str, ...]
    skill: str
    expected: tuple[str, ...]
    key_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuizDraft:
    topic: str
    difficulty: Difficulty
    questions: tuple[QuizQuestion, ...]


@dataclass(frozen=True)
class AnswerOutcome:
    """How one answer of an attempt went: what profiling reads."""

    type: QuestionType
    skill: str
    correct: bool


@dataclass(frozen=True)
class ProfileDraft:
    level: int  # 1..10
    summary: str
    strengths: tuple[str, ...]
    weaknesses: tuple[str, ...]
    recommendations: tuple[str, ...]
    learning_style: str | None
