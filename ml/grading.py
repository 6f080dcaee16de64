"""Grading one answer against a question's key: pure, predictable string rules.

The rules are deliberately simple so that a learner (and a test) can predict them:

- `normalize` applies Unicode NFKC, case-folds, collapses runs of whitespace to one
  space, and drops quotes around the answer and sentence punctuation (`. , ; : ! ?`)
  after it. Nothing inside the answer changes, and leading `-`, `(`, `[` or `.` are
  kept, because in "-3", "(x - 2)(x - 3)" or ".5" they carry meaning.
- Exact matches compare `match_key`, the normalized text with its spaces removed, so
  "x = 5" matches "x=5" and "ORDER  BY" matches "order by".
- MULTIPLE_CHOICE: exactly one non-blank value, matching the correct option.
- TRUE_FALSE: exactly one non-blank value; "true"/"t"/"yes" and "false"/"f"/"no" (after
  normalization) are accepted, because those are the spellings people type for a
  yes/no statement and none of them can be mistaken for the other answer.
- LIST: the set of given items must equal the set of expected items; order, case,
  spacing and repeated items do not matter, blank items are ignored. A value is one
  item: "a, b" is not split, because items may themselves contain commas.
- OPEN: every non-blank value must be acceptable, and there must be at least one. A
  value is acceptable when it matches one accepted answer, or when it contains every key
  term as a whole word or phrase. Allowing several values lets a client send back the
  whole `expected` list it was shown, which must always count as correct.

Submitting `question.expected` verbatim is always correct for a well-formed question
(one `ml.quizgen.validate_draft` accepts).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ml.quiz import QuestionType, QuizQuestion

_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb"
_TRAILING = _QUOTES + ".,;:!? "
_LEADING = _QUOTES + " "

TRUE_SPELLINGS = frozenset({"true", "t", "yes"})
FALSE_SPELLINGS = frozenset({"false", "f", "no"})


def normalize(text: str) -> str:
    """The comparable form of an answer: see the module docstring for the exact rules."""
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return text.lstrip(_LEADING).rstrip(_TRAILING).strip()


def match_key(text: str) -> str:
    """What exact matches compare: the normalized text without any spaces."""
    return normalize(text).replace(" ", "")


def _values(given: Sequence[str]) -> list[str]:
    """The given values that say something: blank ones are treated as not given."""
    return [value for value in given if normalize(value)]


def _single(given: Sequence[str]) -> str | None:
    """The one answer to a single-answer question, or None when there is not exactly one."""
    keys = {match_key(value) for value in _values(given)}
    return next(iter(keys)) if len(keys) == 1 else None


def _truth(key: str) -> bool | None:
    if key in TRUE_SPELLINGS:
        return True
    if key in FALSE_SPELLINGS:
        return False
    return None


def contains_term(answer: str, term: str) -> bool:
    """Whether the normalized answer holds the normalized term as a whole word or phrase.

    Word boundaries keep "test" from matching inside "testing" and "l1" inside "l10".
    """
    needle = normalize(term)
    if not needle:
        return False
    pattern = rf"(?<!\w){re.escape(needle)}(?!\w)"
    return re.search(pattern, normalize(answer)) is not None


def _open_value_ok(question: QuizQuestion, value: str) -> bool:
    key = match_key(value)
    if any(key == match_key(accepted) for accepted in question.expected):
        return True
    terms = [term for term in question.key_terms if normalize(term)]
    return bool(terms) and all(contains_term(value, term) for term in terms)


def grade(question: QuizQuestion, given: Sequence[str]) -> bool:
    """Whether `given` answers `question` correctly under the rules of this module."""
    if isinstance(given, str):
        # A bare string is a Sequence[str] of characters; treat it as the one value meant.
        given = [given]
    if question.type is QuestionType.MULTIPLE_CHOICE:
        answer = _single(given)
        return answer is not None and any(answer == match_key(e) for e in question.expected)
    if question.type is QuestionType.TRUE_FALSE:
        answer = _single(given)
        if answer is None or _truth(answer) is None:
            return False
        return any(_truth(answer) is _truth(match_key(e)) for e in question.expected)
    if question.type is QuestionType.LIST:
        expected = {match_key(item) for item in question.expected} - {""}
        return bool(expected) and {match_key(v) for v in _values(given)} == expected
    values = _values(given)
    return bool(values) and all(_open_value_ok(question, value) for value in values)
