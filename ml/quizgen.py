"""The deterministic fallback quiz generator, and the checks every quiz draft must pass.

`fallback_quiz` is what a quiz task returns when no LLM is configured or the LLM fails:
bank questions (`ml.quizbank`) for topics the bank knows, study-method templates for any
other topic. The same (topic, count, difficulty) always gives the same quiz, because the
random generator is seeded from a SHA-256 of the normalized inputs (Python's `hash()` is
salted per process, so it would give each worker a different quiz).

`validate_draft` is the one definition of a well-formed quiz: the fallback always passes
it, and the LLM path uses it to reject malformed LLM output before storing anything.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from ml.grading import match_key, normalize
from ml.quiz import TRUE_FALSE_OPTIONS, Difficulty, QuestionType, QuizDraft, QuizQuestion
from ml.quizbank import BANK, GENERIC_TEMPLATES, TOPIC_ALIASES, BankQuestion

MAX_QUESTIONS = 20
TOPIC_MAX = 200
MC_OPTIONS = 4

_LEVEL = {Difficulty.BEGINNER: 0, Difficulty.INTERMEDIATE: 1, Difficulty.ADVANCED: 2}
_TYPES = tuple(QuestionType)

# Words that say how a topic is studied rather than what it is ("Intro to Python
# programming", "SQL basics"); dropped before topics are compared with the aliases.
_FILLER = frozenset(
    """a an the to of for in on with and intro introduction introductory basic basics
    fundamental fundamentals essential essentials beginner beginners beginning advanced
    intermediate applied course class lesson lessons tutorial crash primer overview quiz
    practice concepts programming language learn""".split()
)


def topic_words(topic: str) -> tuple[str, ...]:
    """The topic's meaningful words: case-folded, punctuation and version numbers gone.

    "Machine-Learning", "machine learning 101" and "Intro to machine learning" all give
    ("machine", "learning"); "C++" and "C#" keep their symbols.
    """
    words = re.findall(r"[a-z0-9+#]+", unicodedata.normalize("NFKC", topic).casefold())
    return tuple(w for w in words if w not in _FILLER and not w.isdigit())


_ALIAS_INDEX: dict[tuple[str, ...], str] = {
    topic_words(alias): bank for bank, aliases in TOPIC_ALIASES.items() for alias in aliases
}


def bank_topic(topic: str) -> str | None:
    """The bank (a key of `ml.quizbank.BANK`) the topic names, or None for other topics."""
    return _ALIAS_INDEX.get(topic_words(topic))


def _clean_topic(topic: str) -> str:
    return " ".join(topic.split())


def _rng(topic: str, count: int, difficulty: Difficulty) -> random.Random:
    material = "\x1f".join((_clean_topic(topic).casefold(), str(count), difficulty.value))
    seed = int.from_bytes(hashlib.sha256(material.encode("utf-8")).digest()[:8], "big")
    return random.Random(seed)


def _fill(entry: BankQuestion, topic: str) -> BankQuestion:
    """A template with the topic put in (templates only: bank texts may hold braces)."""

    def put(text: str) -> str:
        return text.format(topic=topic)

    return BankQuestion(
        put(entry.text),
        entry.type,
        entry.skill,
        entry.difficulty,
        tuple(put(e) for e in entry.expected),
        tuple(put(o) for o in entry.options),
        entry.key_terms,
    )


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _computed_templates(topic: str, rng: random.Random) -> list[BankQuestion]:
    """Templates whose answers are worked out from numbers in the question itself."""
    sessions, minutes = rng.randint(3, 6), rng.choice((20, 25, 30, 45))
    total = sessions * minutes
    asked = rng.choice((10, 20, 25, 50))
    right = rng.randint(asked // 2, asked - 1)
    pct = right * 100 // asked  # exact: every `asked` divides 100
    weak = set(rng.sample(range(1, 5), rng.randint(1, 3)))
    scores = {u: rng.randint(2, 6) if u in weak else rng.randint(7, 10) for u in range(1, 5)}
    listing = ", ".join(f"Unit {u} {s}/10" for u, s in scores.items())
    week = dict(zip(_DAYS, (rng.choice((0, 15, 30, 45, 60)) for _ in _DAYS), strict=True))
    while not 0 < sum(m >= 30 for m in week.values()) < len(week):
        week[rng.choice(_DAYS)] = rng.choice((0, 15, 30, 45, 60))
    log = ", ".join(f"{day} {m} minutes" for day, m in week.items())
    work, pause = rng.choice(((25, 5), (45, 15), (50, 10)))
    start = rng.randint(8, 16) * 60
    starts = [start + k * (work + pause) for k in range(3)]
    first = rng.choice((1, 2))
    gaps = (first, first * 2, first * 4)
    days = [1 + sum(gaps[: i + 1]) for i in range(3)]
    return [
        BankQuestion(
            f"A study plan for {topic} has {sessions} sessions of {minutes} minutes each. "
            "How many minutes of study is that in total?",
            QuestionType.OPEN,
            "study planning",
            Difficulty.BEGINNER,
            (str(total), f"{total} minutes", f"{total} min"),
        ),
        BankQuestion(
            f"On a practice test on {topic} you answered {right} of {asked} questions "
            "correctly. What percentage did you score?",
            QuestionType.OPEN,
            "self-assessment",
            Difficulty.BEGINNER,
            (f"{pct}%", str(pct), f"{pct} percent"),
        ),
        BankQuestion(
            f"Your practice scores on four units of {topic} were: {listing}. "
            "List the units where you scored below 7/10, each in the form 'Unit N', "
            "to plan your review.",
            QuestionType.LIST,
            "self-assessment",
            Difficulty.BEGINNER,
            tuple(f"Unit {u}" for u in sorted(weak)),
        ),
        BankQuestion(
            f"You first study {topic} on day 1 and plan three reviews: one "
            f"{gaps[0]} day{'s' if gaps[0] > 1 else ''} later, the next {gaps[1]} days after "
            f"that review, and the last {gaps[2]} days after the second review. On which "
            "days are the three reviews? Answer with the day numbers only.",
            QuestionType.LIST,
            "spaced practice",
            Difficulty.INTERMEDIATE,
            tuple(str(d) for d in days),
        ),
        BankQuestion(
            f"Last week you studied {topic} for: {log}. List the days on which you "
            "studied for at least 30 minutes.",
            QuestionType.LIST,
            "study planning",
            Difficulty.BEGINNER,
            tuple(day for day, m in week.items() if m >= 30),
        ),
        BankQuestion(
            f"You study {topic} in {work}-minute work intervals, each followed by a "
            f"{pause}-minute break, starting at {_clock(start)}. List the start times of "
            "the first three work intervals, in the form H:MM on a 24-hour clock.",
            QuestionType.LIST,
            "time management",
            Difficulty.INTERMEDIATE,
            tuple(_clock(t) for t in starts),
        ),
    ]


def _pick(
    pool: Iterable[BankQuestion],
    wanted: int,
    difficulty: Difficulty,
    rng: random.Random,
    counts: Counter[QuestionType],
) -> list[BankQuestion]:
    """Up to `wanted` entries: the requested difficulty first, then nearer before farther
    ones; within that, always the least-used question type so far, so quizzes mix types.
    """
    type_order = list(_TYPES)
    rng.shuffle(type_order)
    rank = {t: i for i, t in enumerate(type_order)}
    tiers: dict[int, dict[QuestionType, list[BankQuestion]]] = {}
    for entry in pool:
        distance = abs(_LEVEL[entry.difficulty] - _LEVEL[difficulty])
        tiers.setdefault(distance, {}).setdefault(entry.type, []).append(entry)
    chosen: list[BankQuestion] = []
    for distance in sorted(tiers):
        groups = tiers[distance]
        for group in groups.values():
            rng.shuffle(group)
        while len(chosen) < wanted and any(groups.values()):
            kind = min((t for t in groups if groups[t]), key=lambda t: (counts[t], rank[t]))
            chosen.append(groups[kind].pop())
            counts[kind] += 1
    return chosen


def _number(entry: BankQuestion, number: int, rng: random.Random) -> QuizQuestion:
    options = list(entry.options)
    if entry.type is QuestionType.MULTIPLE_CHOICE:
        rng.shuffle(options)  # the bank lists the correct option first
    return QuizQuestion(
        number=number,
        text=entry.text,
        type=entry.type,
        options=tuple(options),
        skill=entry.skill,
        expected=entry.expected,
        key_terms=entry.key_terms,
    )


def fallback_quiz(topic: str, count: int, difficulty: Difficulty) -> QuizDraft:
    """A quiz of `count` well-formed questions on `topic`, the same for the same input.

    Bank topics get bank questions (requested difficulty first, then its neighbours),
    topped up with study-method templates when the bank runs short; other topics get
    templates only. Raises ValueError for a blank topic, one over 200 characters,
    or a count outside 1..20.
    """
    clean = _clean_topic(topic)
    if not clean:
        raise ValueError("topic must not be blank")
    if len(clean) > TOPIC_MAX:
        raise ValueError(f"topic must be at most {TOPIC_MAX} characters")
    if not 1 <= count <= MAX_QUESTIONS:
        raise ValueError(f"count must be between 1 and {MAX_QUESTIONS}")
    rng = _rng(clean, count, difficulty)
    templates = [_fill(t, clean) for t in GENERIC_TEMPLATES]
    templates += _computed_templates(clean, rng)
    counts: Counter[QuestionType] = Counter()
    bank = bank_topic(clean)
    chosen = _pick(BANK[bank], count, difficulty, rng, counts) if bank else []
    chosen += _pick(templates, count - len(chosen), difficulty, rng, counts)
    questions = tuple(_number(entry, n, rng) for n, entry in enumerate(chosen, start=1))
    return QuizDraft(topic=clean, difficulty=difficulty, questions=questions)


def _question_problems(q: QuizQuestion) -> list[str]:
    problems: list[str] = []
    if not q.text.strip():
        problems.append("text is blank")
    if not q.skill.strip():
        problems.append("skill is blank")
    if any(not normalize(e) for e in q.expected):
        problems.append("an expected answer is blank")
    if any(not normalize(t) for t in q.key_terms):
        problems.append("a key term is blank")
    if q.type is QuestionType.MULTIPLE_CHOICE:
        if len(q.options) != MC_OPTIONS:
            problems.append(f"needs exactly {MC_OPTIONS} options, has {len(q.options)}")
        keys = [match_key(o) for o in q.options]
        if "" in keys:
            problems.append("an option is blank")
        if len(set(keys)) != len(keys):
            problems.append("options are not distinct")
        if len(q.expected) != 1 or q.expected[0] not in q.options:
            problems.append("expected must be exactly one of the options")
    elif q.type is QuestionType.TRUE_FALSE:
        if tuple(q.options) != TRUE_FALSE_OPTIONS:
            problems.append(f"options must be {TRUE_FALSE_OPTIONS}")
        if len(q.expected) != 1 or q.expected[0] not in TRUE_FALSE_OPTIONS:
            problems.append('expected must be exactly one of "True" or "False"')
    else:
        if q.options:
            problems.append(f"{q.type.value} questions take no options")
        if not q.expected:
            problems.append("expected must not be empty")
        if q.type is QuestionType.LIST:
            keys = [match_key(e) for e in q.expected]
            if len(set(keys)) != len(keys):
                problems.append("expected items are not distinct")
    return problems


def validate_draft(draft: QuizDraft, *, count: int | None = None) -> list[str]:
    """Everything wrong with a draft, as readable messages; an empty list means valid.

    `count`, when given, is the number of questions the draft must have (the LLM path
    passes the requested count, since a model may return more or fewer).
    """
    problems: list[str] = []
    if not draft.topic.strip():
        problems.append("topic is blank")
    n = len(draft.questions)
    if n == 0:
        problems.append("the quiz has no questions")
    if n > MAX_QUESTIONS:
        problems.append(f"the quiz has {n} questions, more than {MAX_QUESTIONS}")
    if count is not None and n != count:
        problems.append(f"the quiz has {n} questions, {count} were asked for")
    numbers = [q.number for q in draft.questions]
    if numbers != list(range(1, n + 1)):
        problems.append(f"questions must be numbered 1..{n} in order, got {numbers}")
    seen: set[str] = set()
    for index, q in enumerate(draft.questions, start=1):
        problems.extend(f"question {index}: {p}" for p in _question_problems(q))
        text = normalize(q.text)
        if text and text in seen:
            problems.append(f"question {index}: repeats an earlier question")
        seen.add(text)
    return problems
