"""Learner profiles from a graded attempt, as pure functions.

The profile task asks an LLM for `ProfileLLM` JSON (built by `profile_prompt`) and, on any
failure, uses `fallback_profile`: deterministic rules, so a profile always exists and the
same attempt always yields the same one. (XP and streaks are in `ml.gamification`.)

Scores are percentages (0..100). They are clamped into that range, because a slightly
out-of-range figure from rounding upstream should not fail a profile; NaN is a bug
upstream and raises `ValueError` instead of silently becoming some level.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ml.quiz import AnswerOutcome, ProfileDraft, QuestionType

# (low %, high %, first level, last level). A band holds low <= score < high, except the
# last, which also holds 100: so 30 is level 4, 50 is 6, 70 is 8 and 85 is 10.
LEVEL_BANDS: tuple[tuple[float, float, int, int], ...] = (
    (0.0, 30.0, 1, 3),
    (30.0, 50.0, 4, 5),
    (50.0, 70.0, 6, 7),
    (70.0, 85.0, 8, 9),
    (85.0, 100.0, 10, 10),
)

STRENGTH_ACCURACY = 0.75  # at or above: a strength
WEAKNESS_ACCURACY = 0.40  # at or below: a weakness
MIN_ANSWERS = 2  # one answer says little about a question type or a skill
MIN_STYLE_ANSWERS = 4  # fewer answers in all: no learning-style guess
TREND_POINTS = 5.0  # a change smaller than this from the last attempt is "steady"

MAX_LIST_ITEMS = 8
MAX_ITEM_CHARS = 300
MAX_SUMMARY_CHARS = 1000
MAX_STYLE_CHARS = 200

TYPE_LABELS: dict[QuestionType, str] = {
    QuestionType.MULTIPLE_CHOICE: "multiple-choice questions",
    QuestionType.TRUE_FALSE: "true/false questions",
    QuestionType.OPEN: "open questions",
    QuestionType.LIST: "list questions",
}

_TYPE_ADVICE: dict[QuestionType, str] = {
    QuestionType.MULTIPLE_CHOICE: "rule out wrong options one by one and justify the one you keep",
    QuestionType.TRUE_FALSE: "look for the word or condition that would make a statement false",
    QuestionType.OPEN: "explain each key idea in your own words, using its key terms",
    QuestionType.LIST: "write the complete set of items from memory, then check what you missed",
}

_TYPE_STYLES: dict[QuestionType, str] = {
    QuestionType.MULTIPLE_CHOICE: "recognition-oriented: worked examples and comparisons suit",
    QuestionType.TRUE_FALSE: "detail-oriented: precise definitions and counter-examples suit",
    QuestionType.OPEN: "verbal and reflective: explaining ideas in writing suits",
    QuestionType.LIST: "structured: outlines, checklists and summaries suit",
}


def clamp_pct(value: float) -> float:
    """A score percentage clamped into 0..100; NaN raises (see the module docstring)."""
    if math.isnan(value):
        raise ValueError("a score percentage cannot be NaN")
    return min(100.0, max(0.0, float(value)))


def _fmt_pct(value: float) -> str:
    """At most one decimal, truncated, so 99.96% never reads as a perfect 100%."""
    text = f"{math.floor(value * 10 + 1e-9) / 10:.1f}"  # 1e-9: 57.3 * 10 may be 572.99…
    return (text[:-2] if text.endswith(".0") else text) + "%"


def level_for_score(score_pct: float) -> int:
    """The AI4D level (1..10) for a score percentage.

    Each band is split into equal-width steps, one per level: [0, 10) is 1, [10, 20) is 2,
    [20, 30) is 3, [30, 40) is 4, [40, 50) is 5, [50, 60) is 6, [60, 70) is 7,
    [70, 77.5) is 8, [77.5, 85) is 9 and [85, 100] is 10: each step holds its lower edge.
    """
    score = clamp_pct(score_pct)
    for low, high, first, last in LEVEL_BANDS:
        if score < high or high == 100.0:
            steps = last - first + 1
            # Multiply before dividing so edges such as 20% land exactly on a step.
            return min(last, first + math.floor((score - low) * steps / (high - low)))
    raise AssertionError("unreachable: the bands cover 0..100")


@dataclass(frozen=True)
class _Tally:
    """Answers to one question type or one skill; `name` is how a profile shows it."""

    name: str
    order: int  # a stable tie-break: enum order for types, first appearance for skills
    total: int
    correct: int
    qtype: QuestionType | None = None  # set for a question type, None for a skill

    @property
    def accuracy(self) -> float:
        return self.correct / self.total


def _type_tallies(outcomes: Sequence[AnswerOutcome]) -> list[_Tally]:
    """Per question type that occurs, in enum order."""
    out = []
    for order, qtype in enumerate(QuestionType):
        answers = [o for o in outcomes if o.type is qtype]
        if answers:
            correct = sum(o.correct for o in answers)
            out.append(_Tally(TYPE_LABELS[qtype], order, len(answers), correct, qtype))
    return out


def _skill_tallies(outcomes: Sequence[AnswerOutcome]) -> list[_Tally]:
    """Per skill, grouped case-insensitively (a generator may write "Joins" and "joins")."""
    spelling: dict[str, str] = {}
    counts: dict[str, list[int]] = {}
    for o in outcomes:
        skill = o.skill.strip()
        if not skill:
            continue
        key = skill.casefold()
        spelling.setdefault(key, skill)
        total_correct = counts.setdefault(key, [0, 0])
        total_correct[0] += 1
        total_correct[1] += o.correct
    return [
        _Tally(f"skill: {spelling[key]}", order, total, correct)
        for order, (key, (total, correct)) in enumerate(counts.items())
    ]


def _pick(tallies: Sequence[_Tally], *, strong: bool) -> list[_Tally]:
    """Strengths best first, weaknesses worst first; more answers first on equal accuracy."""
    if strong:
        chosen = [t for t in tallies if t.total >= MIN_ANSWERS and t.accuracy >= STRENGTH_ACCURACY]
        return sorted(chosen, key=lambda t: (-t.accuracy, -t.total, t.order))
    chosen = [t for t in tallies if t.total >= MIN_ANSWERS and t.accuracy <= WEAKNESS_ACCURACY]
    return sorted(chosen, key=lambda t: (t.accuracy, -t.total, t.order))


def _learning_style(types: Sequence[_Tally]) -> str | None:
    """A guess from the question type that went best; None without enough evidence.

    It needs MIN_STYLE_ANSWERS answers in all, at least two question types with
    MIN_ANSWERS answers each to compare, and something answered correctly.
    """
    if sum(t.total for t in types) < MIN_STYLE_ANSWERS:
        return None
    comparable = [t for t in types if t.total >= MIN_ANSWERS]
    if len(comparable) < 2:
        return None
    best = min(comparable, key=lambda t: (-t.accuracy, -t.total, t.order))
    if best.correct == 0 or best.qtype is None:
        return None
    if all(t.accuracy == best.accuracy for t in comparable):
        return "balanced: did equally well across question types, so varied practice suits"
    return f"{_TYPE_STYLES[best.qtype]} (best on {best.name}, {best.accuracy:.0%} correct)"


def _band_recommendation(score: float, topic: str) -> str:
    """One recommendation per score band; the bands do not overlap, so exactly one fires."""
    if score < 50.0:
        return f"Revisit the fundamentals of {topic} before moving on: core definitions first, then simple examples."
    if score < 70.0:
        return (
            f"Consolidate {topic} with more practice at this level before raising the difficulty."
        )
    if score < 90.0:
        return f"Keep practising {topic} at this level and review the questions you missed."
    return f"Take on harder material in {topic}: advanced questions or a real project."


def _trend(score: float, history: Sequence[float]) -> str | None:
    if not history:
        return None
    last = clamp_pct(history[-1])
    delta = score - last
    if delta >= TREND_POINTS:
        return f"Up {delta:.0f} points from the previous attempt ({_fmt_pct(last)})."
    if delta <= -TREND_POINTS:
        return f"Down {-delta:.0f} points from the previous attempt ({_fmt_pct(last)})."
    return f"Steady compared with the previous attempt ({_fmt_pct(last)})."


def fallback_profile(
    score_pct: float,
    outcomes: Sequence[AnswerOutcome],
    topic: str,
    history: Sequence[float] = (),
) -> ProfileDraft:
    """The deterministic profile used whenever the LLM is unavailable or answers badly.

    A question type or skill with at least MIN_ANSWERS answers is a strength at
    STRENGTH_ACCURACY or better and a weakness at WEAKNESS_ACCURACY or worse; types come
    before skills. `history` holds previous attempt scores, oldest first; the last one
    gives the trend remark. Lists are capped at MAX_LIST_ITEMS so a fallback profile
    satisfies the same limits as an LLM one.
    """
    score = clamp_pct(score_pct)
    level = level_for_score(score)
    topic = topic.strip() or "this topic"
    types = _type_tallies(outcomes)
    skills = _skill_tallies(outcomes)
    strengths = _pick(types, strong=True) + _pick(skills, strong=True)
    weaknesses = _pick(types, strong=False) + _pick(skills, strong=False)

    recommendations = [_band_recommendation(score, topic)]
    for weak in weaknesses:
        if weak.qtype is not None:
            advice = _TYPE_ADVICE[weak.qtype]
            recommendations.append(f"Practise {weak.name} on {topic}: {advice}.")
        else:
            skill = weak.name.removeprefix("skill: ")
            recommendations.append(
                f"Review {skill} in {topic} and redo the questions on it that you missed."
            )

    parts = [f"Scored {_fmt_pct(score)} on {topic}, which is level {level} of 10."]
    if strengths:
        parts.append(f"Strongest on {strengths[0].name} ({strengths[0].accuracy:.0%} correct).")
    if weaknesses:
        parts.append(f"Needs work on {weaknesses[0].name} ({weaknesses[0].accuracy:.0%} correct).")
    trend = _trend(score, history)
    if trend:
        parts.append(trend)

    return ProfileDraft(
        level=level,
        summary=" ".join(parts)[:MAX_SUMMARY_CHARS],
        strengths=tuple(t.name[:MAX_ITEM_CHARS] for t in strengths[:MAX_LIST_ITEMS]),
        weaknesses=tuple(t.name[:MAX_ITEM_CHARS] for t in weaknesses[:MAX_LIST_ITEMS]),
        recommendations=tuple(r[:MAX_ITEM_CHARS] for r in recommendations[:MAX_LIST_ITEMS]),
        learning_style=_learning_style(types),
    )


_Item = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ITEM_CHARS)
]


class ProfileLLM(BaseModel):
    """The profile JSON an LLM must return; anything that fails validation means fallback.

    Strict: a level of "7" or 7.5 is rejected rather than coerced, unknown keys are
    ignored, strings are stripped, and blank list items are rejected. A blank
    `learning_style` reads as no guess. Duplicates (ignoring case) are dropped.
    """

    # The schema goes to the LLM: describe the JSON to it, not this class to developers.
    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        json_schema_extra={"description": "A learner's profile from one graded quiz attempt."},
    )

    level: int = Field(ge=1, le=10)
    summary: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUMMARY_CHARS)
    ]
    strengths: list[_Item] = Field(max_length=MAX_LIST_ITEMS)
    weaknesses: list[_Item] = Field(max_length=MAX_LIST_ITEMS)
    recommendations: list[_Item] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    learning_style: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_STYLE_CHARS)] | None
    ) = None

    @field_validator("learning_style")
    @classmethod
    def _blank_style_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("strengths", "weaknesses", "recommendations")
    @classmethod
    def _drop_duplicates(cls, items: list[str]) -> list[str]:
        seen: set[str] = set()
        unique = []
        for item in items:
            if item.casefold() not in seen:
                seen.add(item.casefold())
                unique.append(item)
        return unique

    def to_draft(self) -> ProfileDraft:
        return ProfileDraft(
            level=self.level,
            summary=self.summary,
            strengths=tuple(self.strengths),
            weaknesses=tuple(self.weaknesses),
            recommendations=tuple(self.recommendations),
            learning_style=self.learning_style,
        )


_SYSTEM = f"""You analyse a learner's graded quiz attempt and write their learning profile.
Answer with one JSON object and nothing else, with exactly these keys:
- "level": integer 1..10. Use these bands: 0-30% -> 1-3, 30-50% -> 4-5, 50-70% -> 6-7, 70-85% -> 8-9, 85-100% -> 10 (linear inside a band).
- "summary": one to three sentences that quote the score and the level.
- "strengths": list of short strings (at most {MAX_LIST_ITEMS}), question types or skills answered well; may be empty.
- "weaknesses": list of short strings (at most {MAX_LIST_ITEMS}), question types or skills answered badly; may be empty.
- "recommendations": list of 1 to {MAX_LIST_ITEMS} concrete next steps for this topic.
- "learning_style": a short guess at what kind of practice suits the learner, or null.
Every string must be non-empty and at most {MAX_ITEM_CHARS} characters (summary at most {MAX_SUMMARY_CHARS}).
Base everything on the answers given; do not invent answers."""


def profile_prompt(
    topic: str,
    score_pct: float,
    outcomes: Sequence[AnswerOutcome],
    question_texts: Sequence[str] | None = None,
) -> tuple[str, str]:
    """The (system, user) messages asking an LLM for `ProfileLLM` JSON.

    Topic and question texts are JSON-quoted so they read as data, not instructions.
    The rule-based level is given as a reference so an LLM profile and a fallback one
    agree on the level for the same score. `question_texts`, when given, align with
    `outcomes`; each is cut to MAX_ITEM_CHARS.
    """
    if question_texts is not None and len(question_texts) != len(outcomes):
        raise ValueError("question_texts must have one text per outcome")
    score = clamp_pct(score_pct)
    correct = sum(o.correct for o in outcomes)
    lines = [
        f"Topic: {json.dumps(topic.strip())}",
        f"Score: {_fmt_pct(score)} ({correct} of {len(outcomes)} correct)",
        f"Level by the bands: {level_for_score(score)}",
        "Answers (number, question type, skill, result):",
    ]
    for i, o in enumerate(outcomes, start=1):
        line = f"{i}. {o.type.value}, skill {json.dumps(o.skill.strip())}, {'correct' if o.correct else 'wrong'}"
        if question_texts is not None:
            line += f", question {json.dumps(question_texts[i - 1][:MAX_ITEM_CHARS])}"
        lines.append(line)
    lines.append("Return the profile JSON now.")
    return _SYSTEM, "\n".join(lines)
