"""Grading rules: normalization, each question type, and the expected-verbatim invariant."""

from __future__ import annotations

import itertools

import pytest

from ml.grading import contains_term, grade, match_key, normalize
from ml.quiz import TRUE_FALSE_OPTIONS, Difficulty, QuestionType, QuizQuestion
from ml.quizbank import BANK, BankQuestion
from ml.quizgen import fallback_quiz


def as_question(entry: BankQuestion, number: int = 1) -> QuizQuestion:
    return QuizQuestion(
        number=number,
        text=entry.text,
        type=entry.type,
        options=entry.options,
        skill=entry.skill,
        expected=entry.expected,
        key_terms=entry.key_terms,
    )


def verbatim(q: QuizQuestion) -> list[str]:
    """What a client sends back after reading the answer key."""
    return list(q.expected) if q.type is QuestionType.LIST else [q.expected[0]]


def wrong_answers(q: QuizQuestion) -> list[list[str]]:
    """Answers that are clearly wrong for the question."""
    if q.type is QuestionType.MULTIPLE_CHOICE:
        return [[o] for o in q.options if o != q.expected[0]]
    if q.type is QuestionType.TRUE_FALSE:
        return [[o for o in TRUE_FALSE_OPTIONS if o != q.expected[0]]]
    if q.type is QuestionType.LIST:
        answers = [[*q.expected, "certainly not an item"], []]
        if len(q.expected) > 1:
            answers.append(list(q.expected[:-1]))
        return answers
    return [["I have no idea"], [""], []]


MC = QuizQuestion(
    1,
    "Pick Paris.",
    QuestionType.MULTIPLE_CHOICE,
    ("Paris", "Rome", "Oslo", "Bern"),
    "geo",
    ("Paris",),
)
TF = QuizQuestion(
    2, "Water is wet.", QuestionType.TRUE_FALSE, TRUE_FALSE_OPTIONS, "facts", ("True",)
)
LIST = QuizQuestion(
    3, "Name the primary colours.", QuestionType.LIST, (), "colour", ("Red", "Yellow", "Blue")
)
OPEN = QuizQuestion(
    4,
    "Which theorem is it?",
    QuestionType.OPEN,
    (),
    "sampling",
    ("central limit theorem", "CLT"),
    ("central", "limit"),
)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("  Hello   World. ", "hello world"),
        ('"Paris"', "paris"),
        ("\u201cParis!\u201d", "paris"),
        ("ORDER\tBY\n", "order by"),
        ("-3", "-3"),
        (".5", ".5"),
        ("(x - 2)(x - 3)", "(x - 2)(x - 3)"),
        ("__str__()", "__str__()"),
        ("\uff21\uff22\uff23", "abc"),  # full-width letters
        ("Straße", "strasse"),
        ("   ", ""),
        ("?!", ""),
    ],
)
def test_normalize(raw: str, normal: str) -> None:
    assert normalize(raw) == normal


def test_match_key_ignores_spaces() -> None:
    assert match_key("x = 5") == match_key("X=5") == "x=5"


def test_multiple_choice_needs_the_one_correct_option() -> None:
    assert grade(MC, ["Paris"])
    assert grade(MC, ["  paris. "])
    assert grade(MC, ["Paris", ""])  # blank values count as not given
    assert grade(MC, ["Paris", "PARIS"])  # the same answer twice is still one answer
    assert grade(MC, "Paris")  # a bare string is one value, not characters
    assert not grade(MC, ["Rome"])
    assert not grade(MC, ["Paris", "Rome"])
    assert not grade(MC, [])
    assert not grade(MC, ["Par"])


@pytest.mark.parametrize("value", ["True", "true", " TRUE. ", "t", "Yes"])
def test_true_false_accepts_common_spellings(value: str) -> None:
    assert grade(TF, [value])


@pytest.mark.parametrize("given", [["False"], ["no"], ["f"], ["maybe"], ["True", "False"], []])
def test_true_false_rejects_everything_else(given: list[str]) -> None:
    assert not grade(TF, given)


def test_list_is_a_set_ignoring_order_case_spacing_and_repeats() -> None:
    assert grade(LIST, ["Red", "Yellow", "Blue"])
    assert grade(LIST, [" blue", "RED ", "yel low", "red", ""])
    assert not grade(LIST, ["Red", "Blue"])
    assert not grade(LIST, ["Red", "Yellow", "Blue", "Green"])
    assert not grade(LIST, ["Red, Yellow, Blue"])  # one value is one item
    assert not grade(LIST, [])


def test_open_accepts_answers_and_key_terms() -> None:
    assert grade(OPEN, ["Central Limit Theorem."])
    assert grade(OPEN, ["clt"])
    assert grade(OPEN, ["It is the central limit result"])  # every key term present
    assert not grade(OPEN, ["the limit of a sequence"])  # one key term missing
    assert not grade(OPEN, ["centralized limits"])  # terms count as whole words only
    assert not grade(OPEN, [""])
    assert not grade(OPEN, [])


def test_open_with_several_values_needs_every_one_acceptable() -> None:
    assert grade(OPEN, ["central limit theorem", "CLT"])  # the whole key, echoed back
    assert not grade(OPEN, ["CLT", "law of large numbers"])


def test_open_without_key_terms_needs_an_accepted_answer() -> None:
    q = QuizQuestion(1, "Keyword?", QuestionType.OPEN, (), "functions", ("def",))
    assert grade(q, ["DEF"])
    assert not grade(q, ["define"])


def test_contains_term_respects_word_boundaries() -> None:
    assert contains_term("The testing effect.", "testing effect")
    assert contains_term("use L1!", "l1")
    assert not contains_term("use L10", "l1")
    assert not contains_term("retesting", "testing")
    assert not contains_term("anything", "  ")


ALL_BANK = [as_question(e) for e in itertools.chain.from_iterable(BANK.values())]


@pytest.mark.parametrize("question", ALL_BANK, ids=lambda q: q.text[:40])
def test_every_bank_question_grades_its_key_right_and_wrong_answers_wrong(
    question: QuizQuestion,
) -> None:
    assert grade(question, verbatim(question))
    assert grade(question, list(question.expected))  # the GradedAnswer's expected list
    for accepted in question.expected if question.type is QuestionType.OPEN else ():
        assert grade(question, [accepted])
    for wrong in wrong_answers(question):
        assert not grade(question, wrong), wrong


TOPICS = [
    "python",
    "SQL queries",
    "stats",
    "ML",
    "algebra",
    "French Revolution",
    "photosynthesis",
    "jazz piano",
    "C++ templates",
    "{curly} topic",
    "Quantum field theory and its applications",
]


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("difficulty", list(Difficulty))
def test_generated_quizzes_grade_their_keys_right(topic: str, difficulty: Difficulty) -> None:
    for count in (1, 4, 11, 20):
        for q in fallback_quiz(topic, count, difficulty).questions:
            assert grade(q, verbatim(q)), q
            assert grade(q, list(q.expected)), q
            for wrong in wrong_answers(q):
                assert not grade(q, wrong), (q, wrong)
