"""The fallback quiz generator, the bank behind it, and draft validation."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
from collections import Counter

import pytest

from ml.grading import match_key
from ml.quiz import TRUE_FALSE_OPTIONS, Difficulty, QuestionType, QuizDraft, QuizQuestion
from ml.quizbank import BANK, GENERIC_TEMPLATES
from ml.quizgen import MAX_QUESTIONS, bank_topic, fallback_quiz, topic_words, validate_draft

UNKNOWN = ["French Revolution", "photosynthesis", "jazz piano", "C++", "{braces} and 100%"]


def bank_texts(bank: str) -> set[str]:
    return {entry.text for entry in BANK[bank]}


# --- the bank -----------------------------------------------------------------


@pytest.mark.parametrize("bank", sorted(BANK))
def test_each_bank_is_big_and_varied(bank: str) -> None:
    entries = BANK[bank]
    assert len(entries) >= 12
    assert {e.type for e in entries} == set(QuestionType)
    assert {e.difficulty for e in entries} == set(Difficulty)
    for difficulty in Difficulty:  # every level can fill a 6-question quiz of its own
        assert sum(e.difficulty is difficulty for e in entries) >= 6
    assert len({e.text for e in entries}) == len(entries)


def test_bank_questions_and_templates_are_well_formed() -> None:
    entries = [*(e for b in BANK.values() for e in b), *GENERIC_TEMPLATES]
    for entry in entries:
        q = QuizQuestion(1, entry.text, entry.type, entry.options, entry.skill, entry.expected)
        assert validate_draft(QuizDraft("t", entry.difficulty, (q,))) == [], entry.text
        if entry.type is QuestionType.MULTIPLE_CHOICE:
            assert entry.options[0] == entry.expected[0]


@pytest.mark.parametrize(
    ("topic", "bank"),
    [
        ("Python", "python"),
        ("Python programming", "python"),
        ("python 3", "python"),
        ("Intro to Python 3.11", "python"),
        ("SQL", "sql"),
        ("SQL queries", "sql"),
        ("sql basics", "sql"),
        ("statistics", "statistics"),
        ("Stats", "statistics"),
        ("Probability and Statistics", "statistics"),
        ("machine learning", "machine learning"),
        ("ML", "machine learning"),
        ("Machine-Learning", "machine learning"),
        ("  MACHINE   learning 101 ", "machine learning"),
        ("Algebra", "algebra"),
        ("algebra 1", "algebra"),
        ("Pre-algebra", "algebra"),
        ("linear algebra", None),
        ("Monty Python", None),
        ("NoSQL", None),
        ("probability", None),
        ("French Revolution", None),
    ],
)
def test_topic_aliases(topic: str, bank: str | None) -> None:
    assert bank_topic(topic) == bank


def test_topic_words_drop_filler_and_versions() -> None:
    assert topic_words("An Introduction to Python 3 Programming") == ("python",)
    assert topic_words("C++ basics") == ("c++",)


# --- generation ---------------------------------------------------------------


@pytest.mark.parametrize("topic", ["python", "algebra", *UNKNOWN])
@pytest.mark.parametrize("difficulty", list(Difficulty))
def test_every_count_gives_a_valid_quiz(topic: str, difficulty: Difficulty) -> None:
    for count in range(1, MAX_QUESTIONS + 1):
        draft = fallback_quiz(topic, count, difficulty)
        assert validate_draft(draft, count=count) == []
        assert [q.number for q in draft.questions] == list(range(1, count + 1))
        assert draft.difficulty is difficulty
        assert all(q.skill.strip() for q in draft.questions)
        types = Counter(q.type for q in draft.questions)
        if count >= len(QuestionType):
            assert set(types) == set(QuestionType), (count, types)
        else:
            assert len(types) == count  # no type twice before every type once
        assert max(types.values()) <= math.ceil(count / len(QuestionType)) + 1, types


def test_same_input_same_quiz() -> None:
    for topic in ["sql", "jazz piano"]:
        first = fallback_quiz(topic, 10, Difficulty.ADVANCED)
        assert fallback_quiz(topic, 10, Difficulty.ADVANCED) == first
        assert fallback_quiz(f"  {topic.upper()} ", 10, Difficulty.ADVANCED).questions[0].type is (
            first.questions[0].type
        )


def test_different_inputs_give_different_quizzes() -> None:
    base = fallback_quiz("statistics", 8, Difficulty.INTERMEDIATE)
    assert fallback_quiz("statistics", 8, Difficulty.BEGINNER) != base
    assert fallback_quiz("statistics", 9, Difficulty.INTERMEDIATE).questions != base.questions
    assert fallback_quiz("stats", 8, Difficulty.INTERMEDIATE) != base


def test_quiz_is_the_same_in_another_process() -> None:
    """Python's str hash is salted per process; the quiz must not depend on it."""
    code = (
        "from ml.quizgen import fallback_quiz; from ml.quiz import Difficulty; "
        "print(repr(fallback_quiz('jazz piano', 12, Difficulty.BEGINNER)))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {repr(fallback_quiz("jazz piano", 12, Difficulty.BEGINNER)) + "\n"}


@pytest.mark.parametrize("bank", sorted(BANK))
@pytest.mark.parametrize("difficulty", list(Difficulty))
def test_bank_topics_prefer_the_requested_difficulty(bank: str, difficulty: Difficulty) -> None:
    draft = fallback_quiz(bank, 6, difficulty)
    level = {e.text: e.difficulty for e in BANK[bank]}
    assert [level[q.text] for q in draft.questions] == [difficulty] * 6


def test_neighbouring_difficulty_comes_before_the_far_one() -> None:
    level = {e.text: e.difficulty for e in BANK["python"]}
    at_level = sum(d is Difficulty.BEGINNER for d in level.values())
    neighbour = sum(d is Difficulty.INTERMEDIATE for d in level.values())
    draft = fallback_quiz("python", at_level + neighbour, Difficulty.BEGINNER)
    assert Difficulty.ADVANCED not in {level[q.text] for q in draft.questions}


def test_short_bank_is_topped_up_with_templates() -> None:
    draft = fallback_quiz("Python programming", MAX_QUESTIONS, Difficulty.INTERMEDIATE)
    from_bank = [q for q in draft.questions if q.text in bank_texts("python")]
    assert len(from_bank) == min(len(BANK["python"]), MAX_QUESTIONS)
    assert len({q.text for q in draft.questions}) == MAX_QUESTIONS


@pytest.mark.parametrize("topic", UNKNOWN)
def test_unknown_topics_get_questions_about_the_topic(topic: str) -> None:
    draft = fallback_quiz(topic, MAX_QUESTIONS, Difficulty.INTERMEDIATE)
    assert draft.topic == topic
    all_bank = set().union(*(bank_texts(b) for b in BANK))
    for q in draft.questions:
        assert topic in q.text
        assert q.text not in all_bank


def test_multiple_choice_options_are_shuffled() -> None:
    positions = {
        q.options.index(q.expected[0])
        for topic in ["python", "sql", "statistics", "machine learning", "algebra"]
        for q in fallback_quiz(topic, MAX_QUESTIONS, Difficulty.INTERMEDIATE).questions
        if q.type is QuestionType.MULTIPLE_CHOICE
    }
    assert len(positions) > 1


@pytest.mark.parametrize(
    ("topic", "count"), [("", 5), ("   ", 5), ("x" * 201, 5), ("x", 0), ("x", 21)]
)
def test_bad_input_is_refused(topic: str, count: int) -> None:
    with pytest.raises(ValueError):
        fallback_quiz(topic, count, Difficulty.BEGINNER)


# --- validation ---------------------------------------------------------------

GOOD = fallback_quiz("sql", 8, Difficulty.BEGINNER)


def first_of(kind: QuestionType) -> int:
    return next(i for i, q in enumerate(GOOD.questions) if q.type is kind)


def with_change(kind: QuestionType, **change: object) -> QuizDraft:
    index = first_of(kind)
    questions = list(GOOD.questions)
    questions[index] = dataclasses.replace(questions[index], **change)  # type: ignore[arg-type]
    return dataclasses.replace(GOOD, questions=tuple(questions))


MC, TF, OPEN, LIST = (
    QuestionType.MULTIPLE_CHOICE,
    QuestionType.TRUE_FALSE,
    QuestionType.OPEN,
    QuestionType.LIST,
)


@pytest.mark.parametrize(
    ("draft", "problem"),
    [
        (with_change(MC, options=("a", "b", "c")), "exactly 4 options"),
        (with_change(MC, options=("a", "b", "c", "d", "e")), "exactly 4 options"),
        (with_change(MC, options=("a", "A.", "b", "c"), expected=("a",)), "not distinct"),
        (with_change(MC, options=("a", "", "b", "c"), expected=("a",)), "option is blank"),
        (with_change(MC, options=("a", "b", "c", "d"), expected=("e",)), "one of the options"),
        (with_change(MC, options=("a", "b", "c", "d"), expected=("a", "b")), "one of the options"),
        (with_change(TF, options=("Yes", "No")), "options must be"),
        (with_change(TF, expected=("yes",)), '"True" or "False"'),
        (with_change(OPEN, expected=()), "must not be empty"),
        (with_change(OPEN, expected=("  ",)), "expected answer is blank"),
        (with_change(OPEN, options=("a",)), "take no options"),
        (with_change(OPEN, key_terms=("ok", " ")), "key term is blank"),
        (with_change(LIST, expected=()), "must not be empty"),
        (with_change(LIST, expected=("a", "A ")), "not distinct"),
        (with_change(MC, text="   "), "text is blank"),
        (with_change(TF, skill=""), "skill is blank"),
        (with_change(OPEN, number=7), "numbered 1..8"),
        (with_change(LIST, text=GOOD.questions[0].text), "repeats an earlier question"),
        (dataclasses.replace(GOOD, questions=()), "no questions"),
        (dataclasses.replace(GOOD, topic=" "), "topic is blank"),
    ],
)
def test_validate_draft_reports_problems(draft: QuizDraft, problem: str) -> None:
    problems = validate_draft(draft)
    assert any(problem in p for p in problems), problems


def test_validate_draft_checks_the_count_and_the_maximum() -> None:
    assert validate_draft(GOOD, count=8) == []
    assert any("9 were asked for" in p for p in validate_draft(GOOD, count=9))
    q = GOOD.questions[0]
    many = tuple(dataclasses.replace(q, number=n, text=f"{q.text} ({n})") for n in range(1, 22))
    assert any("more than 20" in p for p in validate_draft(QuizDraft("t", GOOD.difficulty, many)))


def test_validate_draft_accepts_a_hand_written_draft() -> None:
    draft = QuizDraft(
        "geography",
        Difficulty.BEGINNER,
        (
            QuizQuestion(
                1, "Capital?", MC, ("Paris", "Rome", "Oslo", "Bern"), "capitals", ("Paris",)
            ),
            QuizQuestion(2, "Is it?", TF, TRUE_FALSE_OPTIONS, "facts", ("False",)),
            QuizQuestion(3, "Name it.", OPEN, (), "rivers", ("Seine",), ("seine",)),
            QuizQuestion(4, "List them.", LIST, (), "oceans", ("Atlantic", "Pacific")),
        ),
    )
    assert validate_draft(draft) == []
    assert match_key(draft.questions[0].expected[0]) == "paris"
