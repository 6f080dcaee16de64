"""Quizzes and profiles written by the LLM when it answers well, by the deterministic
fallbacks otherwise. Either way the caller gets a checked draft and its source.

The LLM is whatever the caller hands in that satisfies `ml.llm.JsonLLM` (the workers'
client in production): these functions build the prompts and judge the answers, and
the transport is none of their business."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ml.llm import JsonLLM
from ml.profiling import ProfileLLM, fallback_profile, profile_prompt
from ml.quiz import (
    TRUE_FALSE_OPTIONS,
    AnswerOutcome,
    ContentSource,
    Difficulty,
    ProfileDraft,
    QuestionType,
    QuizDraft,
    QuizQuestion,
)
from ml.quizgen import fallback_quiz, validate_draft

log = logging.getLogger(__name__)


class QuestionLLM(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, max_length=1000)
    type: Literal["MULTIPLE_CHOICE", "TRUE_FALSE", "OPEN", "LIST"]
    options: list[str] = Field(default_factory=list, max_length=4)
    answers: list[str] = Field(min_length=1, max_length=12)
    skill: str = Field(min_length=1, max_length=100)
    key_terms: list[str] = Field(default_factory=list, max_length=8)


class QuizLLM(BaseModel):
    model_config = ConfigDict(extra="ignore")

    questions: list[QuestionLLM] = Field(min_length=1, max_length=20)

    def to_draft(self, topic: str, difficulty: Difficulty) -> QuizDraft:
        questions = []
        for number, q in enumerate(self.questions, start=1):
            kind = QuestionType(q.type)
            options = TRUE_FALSE_OPTIONS if kind is QuestionType.TRUE_FALSE else tuple(q.options)
            answers = tuple(a.strip() for a in q.answers)
            if kind is QuestionType.TRUE_FALSE:
                answers = tuple(a.capitalize() for a in answers[:1])
            questions.append(
                QuizQuestion(
                    number=number,
                    text=q.text.strip(),
                    type=kind,
                    options=options
                    if kind in (QuestionType.MULTIPLE_CHOICE, QuestionType.TRUE_FALSE)
                    else (),
                    skill=q.skill.strip(),
                    expected=answers[:1] if kind is QuestionType.MULTIPLE_CHOICE else answers,
                    key_terms=tuple(t.strip() for t in q.key_terms if t.strip()),
                )
            )
        return QuizDraft(topic=topic, difficulty=difficulty, questions=tuple(questions))


def quiz_prompt(topic: str, count: int, difficulty: Difficulty) -> tuple[str, str]:
    system = (
        "You write short, accurate quizzes for learners. Answer with JSON only, matching the "
        'schema: {"questions": [{"text", "type", "options", "answers", "skill", '
        '"key_terms"}]}. Types: MULTIPLE_CHOICE (exactly 4 options, answers = [the correct '
        'option, verbatim]), TRUE_FALSE (answers = ["True"] or ["False"]), OPEN (answers = '
        "accepted short answers, key_terms = words a correct answer contains), LIST (answers = "
        "the items). Every question has a short skill tag."
    )
    user = (
        f"Write {count} {difficulty.value.lower()} questions about {topic!r}, mixing the four "
        "types."
    )
    return system, user


async def author_quiz(
    llm: JsonLLM, topic: str, count: int, difficulty: Difficulty
) -> tuple[QuizDraft, ContentSource]:
    if llm.configured:
        system, user = quiz_prompt(topic, count, difficulty)
        answer = await llm.ask_json(system, user, QuizLLM, "quiz")
        reason = answer.reason
        if answer.value is not None:
            draft = answer.value.to_draft(topic, difficulty)
            problems = validate_draft(draft, count=count)
            if not problems:
                return draft, ContentSource.LLM
            reason = "LLM quiz rejected: " + "; ".join(problems[:3])
        log.warning("quiz on %r from the fallback: %s", topic, reason)
    else:
        log.info("quiz on %r from the fallback: no LLM configured", topic)
    return fallback_quiz(topic, count, difficulty), ContentSource.FALLBACK


async def author_profile(
    llm: JsonLLM,
    topic: str,
    score_pct: float,
    outcomes: Sequence[AnswerOutcome],
    history: Sequence[float] = (),
) -> tuple[ProfileDraft, ContentSource]:
    if llm.configured:
        system, user = profile_prompt(topic, score_pct, outcomes)
        answer = await llm.ask_json(system, user, ProfileLLM, "profile")
        if answer.value is not None:
            return answer.value.to_draft(), ContentSource.LLM
        log.warning("profile from the fallback: %s", answer.reason)
    return fallback_profile(score_pct, outcomes, topic, history), ContentSource.FALLBACK
