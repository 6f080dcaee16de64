"""Student recommendations: each candidate rule, their order, and the reconcile lifecycle."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.student_recommendations import (
    BREAK_RATE,
    EXPIRY,
    SUPPRESSION,
    Candidate,
    Decision,
    DifficultyInfo,
    DueReview,
    NextLesson,
    NextStep,
    PauseInfo,
    RecommendationInput,
    Stored,
    StruggleInfo,
    can_respond,
    candidates,
    expires_at,
    reconcile,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

STEP = NextStep("l-frac2", "Fractions 2", "g-1", 3, ("Fractions",), "prerequisite of the goal")
LESSON = NextLesson("l-alg4", "Equations", "c-alg", "Algebra", 3, 9)


def make(**fields: object) -> RecommendationInput:
    base = RecommendationInput(
        next_step=None,
        next_lesson=None,
        due_reviews=(),
        struggles=(),
        difficulty=None,
        pauses=None,
        now=NOW,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def review(skill: str = "s-1", r: float | None = 0.8, lesson: str | None = "l-r") -> DueReview:
    return DueReview(skill, f"Skill {skill}", NOW - timedelta(days=2), r, lesson)


def struggle(
    skill: str = "s-1", severity: str = "MEDIUM", lesson: str | None = None
) -> StruggleInfo:
    return StruggleInfo(
        skill, f"Skill {skill}", 0.32, ("LOW_MASTERY", "STUCK"), severity, "Stuck often.", lesson
    )


def difficulty(current: int = 3, suggested: int = 4, answers: int = 10) -> DifficultyInfo:
    return DifficultyInfo(current, suggested, 0.9, answers, 0.75, "Accuracy above target.")


def only(inp: RecommendationInput, kind: str) -> list[Candidate]:
    return [c for c in candidates(inp) if c.kind == kind]


# --- NEXT_LESSON ----------------------------------------------------------------------


def test_path_step_beats_the_enrolment() -> None:
    [next_lesson] = only(make(next_step=STEP, next_lesson=LESSON), "NEXT_LESSON")
    assert next_lesson.lesson_id == "l-frac2" and next_lesson.goal_id == "g-1"
    assert next_lesson.target == "NEXT_LESSON:l-frac2"
    assert next_lesson.priority == "MEDIUM" and next_lesson.confidence == 0.8
    assert next_lesson.reason == "Next on your path (step 3): Fractions 2 — teaches Fractions."
    assert next_lesson.evidence["source"] == "PATH"
    assert next_lesson.evidence["goalId"] == "g-1" and next_lesson.evidence["position"] == 3


def test_enrolment_lesson_when_there_is_no_path_step() -> None:
    [next_lesson] = only(make(next_lesson=LESSON), "NEXT_LESSON")
    assert next_lesson.lesson_id == "l-alg4" and next_lesson.goal_id is None
    assert next_lesson.confidence == 0.6 and next_lesson.priority == "MEDIUM"
    assert next_lesson.reason == "Next in Algebra: lesson 4 of 9, 3 completed."
    assert next_lesson.evidence["source"] == "ENROLLMENT"
    assert next_lesson.evidence["courseId"] == "c-alg"
    assert (next_lesson.evidence["completed"], next_lesson.evidence["total"]) == (3, 9)


def test_no_step_and_no_lesson_gives_no_next_lesson() -> None:
    assert only(make(), "NEXT_LESSON") == []
    assert candidates(make()) == []


# --- REVISION -------------------------------------------------------------------------


def test_review_and_struggle_of_one_skill_merge_into_one_candidate() -> None:
    inp = make(due_reviews=[review("s-1", 0.4)], struggles=[struggle("s-1", "MEDIUM")])
    [revision] = only(inp, "REVISION")
    assert revision.target == "REVISION:s-1"
    assert revision.evidence["signals"] == ["LOW_MASTERY", "STUCK", "REVIEW_DUE"]
    assert revision.evidence["pMastery"] == 0.32
    assert revision.evidence["dueAt"] == (NOW - timedelta(days=2)).isoformat()
    assert revision.evidence["retrievability"] == 0.4
    assert "Stuck often." in revision.reason and "review is due too" in revision.reason
    assert revision.priority == "MEDIUM"
    # The stronger of the two signals: the MEDIUM struggle's 0.7 beats the review's 1 - 0.4.
    assert revision.confidence == pytest.approx(0.7)
    # Struggle has no lesson; the review's lesson fills in.
    assert revision.lesson_id == "l-r"


def test_distinct_skills_give_one_revision_each() -> None:
    inp = make(due_reviews=[review("s-1"), review("s-1", 0.1)], struggles=[struggle("s-2")])
    targets = [c.target for c in only(inp, "REVISION")]
    assert sorted(targets) == ["REVISION:s-1", "REVISION:s-2"]
    [first] = [c for c in only(inp, "REVISION") if c.skill_id == "s-1"]
    assert first.evidence["retrievability"] == 0.8  # the first entry of a skill counts


@pytest.mark.parametrize(
    ("reviews", "struggles", "priority", "confidence"),
    [
        ([], [struggle(severity="HIGH")], "HIGH", 0.85),
        ([review(r=0.9)], [struggle(severity="HIGH")], "HIGH", 0.85),
        ([review(r=0.1)], [struggle(severity="MEDIUM")], "MEDIUM", 0.9),
        ([], [struggle(severity="MEDIUM")], "MEDIUM", 0.7),
        ([], [struggle(severity="LOW")], "MEDIUM", 0.7),
        ([review(r=0.69)], [], "MEDIUM", 0.5),
        ([review(r=0.7)], [], "LOW", 0.5),
        ([review(r=0.02)], [], "MEDIUM", 0.95),
        ([review(r=None)], [], "LOW", 0.6),
    ],
)
def test_revision_priority_and_confidence(
    reviews: list[DueReview], struggles: list[StruggleInfo], priority: str, confidence: float
) -> None:
    [revision] = only(make(due_reviews=reviews, struggles=struggles), "REVISION")
    assert revision.priority == priority
    assert revision.confidence == pytest.approx(confidence)


def test_revision_lesson_comes_from_the_item_and_may_be_none() -> None:
    [with_lesson] = only(make(struggles=[struggle(lesson="l-s")]), "REVISION")
    assert with_lesson.lesson_id == "l-s"
    [without] = only(make(due_reviews=[review(lesson=None)]), "REVISION")
    assert without.lesson_id is None


# --- DIFFICULTY -----------------------------------------------------------------------


def test_difficulty_only_when_the_level_changes() -> None:
    assert only(make(difficulty=difficulty(3, 3)), "DIFFICULTY") == []
    [change] = only(make(difficulty=difficulty(3, 4, answers=10)), "DIFFICULTY")
    assert change.target == "DIFFICULTY:4" and change.difficulty == difficulty(3, 4, 10)
    assert change.priority == "MEDIUM" and change.confidence == 0.5
    assert change.reason == "Accuracy above target."
    assert change.evidence == {
        "current": 3,
        "suggested": 4,
        "recentAccuracy": 0.9,
        "answersConsidered": 10,
        "targetAccuracy": 0.75,
    }


@pytest.mark.parametrize(("answers", "confidence"), [(0, 0.25), (3, 0.25), (10, 0.5), (40, 1.0)])
def test_difficulty_confidence_grows_with_answers(answers: int, confidence: float) -> None:
    [change] = only(make(difficulty=difficulty(answers=answers)), "DIFFICULTY")
    assert change.confidence == confidence


# --- BREAK ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pauses", "records", "offered"),
    [
        (3, 10, True),
        (30, 100, True),
        (29, 100, False),
        (2, 4, False),
        (4, 4, False),
        (1, 5, False),
        (2, 5, True),
    ],
)
def test_break_from_a_pause_rate_of_at_least_30_percent_over_5_records(
    pauses: int, records: int, offered: bool
) -> None:
    assert BREAK_RATE == 0.30
    found = only(make(pauses=PauseInfo(pauses, records)), "BREAK")
    assert bool(found) is offered


def test_break_priority_confidence_and_evidence() -> None:
    [medium] = only(make(pauses=PauseInfo(4, 10)), "BREAK")
    assert medium.priority == "MEDIUM" and medium.confidence == 0.5
    assert medium.evidence == {"pauseRate": 0.4, "pauses": 4, "records": 10, "days": 7}
    assert medium.target == "BREAK"
    [high] = only(make(pauses=PauseInfo(5, 10)), "BREAK")
    assert high.priority == "HIGH"
    [sure] = only(make(pauses=PauseInfo(30, 40)), "BREAK")
    assert sure.confidence == 1.0


# --- all of them ----------------------------------------------------------------------


def full() -> RecommendationInput:
    return make(
        next_step=STEP,
        next_lesson=LESSON,
        due_reviews=[review("s-b", 0.9), review("s-a", 0.3), review("s-c", float("nan"))],
        struggles=[struggle("s-a", "HIGH"), struggle("s-d", "LOW")],
        difficulty=difficulty(),
        pauses=PauseInfo(6, 10),
    )


def test_order_is_priority_then_kind_then_target() -> None:
    order = [(c.priority, c.target) for c in candidates(full())]
    assert order == [
        ("HIGH", "REVISION:s-a"),
        ("HIGH", "BREAK"),
        ("MEDIUM", "NEXT_LESSON:l-frac2"),
        ("MEDIUM", "REVISION:s-d"),
        ("MEDIUM", "DIFFICULTY:4"),
        ("LOW", "REVISION:s-b"),
        ("LOW", "REVISION:s-c"),
    ]


def test_evidence_is_json_serialisable() -> None:
    for candidate in candidates(full()):
        # allow_nan=False: a NaN estimate must not leak out as invalid JSON.
        text = json.dumps(candidate.evidence, allow_nan=False)
        assert json.loads(text) == candidate.evidence
        assert 0.0 <= candidate.confidence <= 1.0


# --- reconcile ------------------------------------------------------------------------


def cand(kind: str, key: str) -> Candidate:
    return Candidate(
        kind=kind,
        lesson_id=key if kind == "NEXT_LESSON" else None,
        skill_id=key if kind == "REVISION" else None,
        difficulty=difficulty(suggested=int(key)) if kind == "DIFFICULTY" else None,
        reason="r",
        evidence={},
        priority="MEDIUM",
        confidence=0.5,
    )


def row(
    id: str,
    candidate: Candidate,
    status: str = "OPEN",
    age: timedelta = timedelta(hours=1),
    responded: timedelta | None = None,
) -> Stored:
    created = NOW - age
    return Stored(
        id=id,
        target=candidate.target,
        kind=candidate.kind,
        status=status,
        created_at=created,
        expires_at=expires_at(created),
        responded_at=None if responded is None else NOW - responded,
    )


def test_expiry_at_exactly_seven_days() -> None:
    a, b = cand("REVISION", "s-1"), cand("REVISION", "s-2")
    stored = [row("old", a, age=EXPIRY), row("young", b, age=EXPIRY - timedelta(seconds=1))]
    decision = reconcile(stored, [a, b], NOW)
    assert decision.expire == ("old",)
    assert decision.keep == ("young",)
    # The expired one's target is still wanted: a fresh OPEN one replaces it.
    assert [c.target for c in decision.create] == [a.target]


def test_a_row_without_expiry_ages_out_at_the_default() -> None:
    a = cand("BREAK", "")
    stored = [replace(row("x", a, age=EXPIRY), expires_at=None)]
    assert reconcile(stored, [a], NOW).expire == ("x",)


@pytest.mark.parametrize("status", ["ACCEPTED", "SKIPPED", "DISMISSED"])
@pytest.mark.parametrize(
    ("ago", "suppressed"),
    [(timedelta(hours=23, minutes=59), True), (timedelta(hours=24, minutes=1), False)],
)
def test_an_answered_target_is_not_offered_again_for_24_hours(
    status: str, ago: timedelta, suppressed: bool
) -> None:
    a = cand("NEXT_LESSON", "l-1")
    stored = [row("done", a, status=status, age=ago + timedelta(hours=1), responded=ago)]
    decision = reconcile(stored, [a], NOW)
    assert decision.create == (() if suppressed else (a,))
    assert decision.keep == decision.supersede == decision.expire == ()


def test_suppression_boundary_is_exactly_24_hours() -> None:
    a = cand("BREAK", "")
    stored = [row("done", a, status="DISMISSED", age=timedelta(days=2), responded=SUPPRESSION)]
    assert reconcile(stored, [a], NOW).create == (a,)


def test_expired_and_superseded_answers_do_not_suppress() -> None:
    a = cand("BREAK", "")
    stored = [
        replace(row("e", a, status="EXPIRED"), responded_at=NOW),
        replace(row("s", a, status="SUPERSEDED"), responded_at=NOW),
    ]
    assert reconcile(stored, [a], NOW).create == (a,)


def test_keep_without_churn() -> None:
    fresh = candidates(full())
    first = reconcile([], fresh, NOW)
    assert first.create == tuple(fresh)
    stored = [row(f"id-{i}", c) for i, c in enumerate(first.create)]
    again = reconcile(stored, candidates(full()), NOW)
    assert again == Decision(
        create=(), supersede=(), expire=(), keep=tuple(sorted(s.id for s in stored))
    )


def test_a_replaced_next_lesson_is_superseded() -> None:
    old, new = cand("NEXT_LESSON", "l-1"), cand("NEXT_LESSON", "l-2")
    decision = reconcile([row("old", old)], [new], NOW)
    assert decision.supersede == ("old",)
    assert decision.create == (new,) and decision.keep == ()


def test_a_stale_revision_is_superseded() -> None:
    stale, still = cand("REVISION", "s-1"), cand("REVISION", "s-2")
    decision = reconcile([row("a", stale), row("b", still)], [still], NOW)
    assert decision.supersede == ("a",)
    assert decision.keep == ("b",) and decision.create == ()


def test_duplicated_fresh_targets_first_wins() -> None:
    a1 = cand("REVISION", "s-1")
    a2 = replace(a1, reason="second")
    n1, n2 = cand("NEXT_LESSON", "l-1"), cand("NEXT_LESSON", "l-2")
    decision = reconcile([], [a1, n1, a2, n2], NOW)
    assert decision.create == (a1, n1)


def test_two_open_rows_of_one_target_keep_the_oldest() -> None:
    a = cand("REVISION", "s-1")
    stored = [row("b", a, age=timedelta(hours=1)), row("a", a, age=timedelta(hours=2))]
    decision = reconcile(stored, [a], NOW)
    assert decision.keep == ("a",) and decision.supersede == ("b",)


def test_an_unknown_kind_has_no_target() -> None:
    with pytest.raises(ValueError, match="unknown recommendation kind"):
        _ = replace(cand("BREAK", ""), kind="NAP").target


def test_only_open_recommendations_can_be_answered() -> None:
    assert can_respond("OPEN")
    for status in ("ACCEPTED", "SKIPPED", "DISMISSED", "EXPIRED", "SUPERSEDED"):
        assert not can_respond(status)
    assert expires_at(NOW) == NOW + timedelta(days=7)


# --- the property ---------------------------------------------------------------------

POOL = [
    cand("NEXT_LESSON", "l-1"),
    cand("NEXT_LESSON", "l-2"),
    cand("NEXT_LESSON", "l-3"),
    cand("REVISION", "s-1"),
    cand("REVISION", "s-2"),
    cand("DIFFICULTY", "2"),
    cand("DIFFICULTY", "4"),
    cand("BREAK", ""),
]
STATUSES = ["OPEN", "OPEN", "ACCEPTED", "SKIPPED", "DISMISSED", "EXPIRED", "SUPERSEDED"]
HOURS = st.integers(min_value=0, max_value=24 * 9)


@st.composite
def stored_rows(draw: st.DrawFn) -> list[Stored]:
    rows = []
    for i in range(draw(st.integers(min_value=0, max_value=10))):
        candidate = draw(st.sampled_from(POOL))
        status = draw(st.sampled_from(STATUSES))
        age = timedelta(hours=draw(HOURS))
        responded = None
        if status in ("ACCEPTED", "SKIPPED", "DISMISSED"):
            responded = timedelta(hours=draw(st.integers(min_value=0, max_value=age.days * 24)))
        rows.append(row(f"r{i:02d}", candidate, status, age, responded))
    return rows


def apply(stored: list[Stored], decision: Decision) -> list[Stored]:
    status = {i: "EXPIRED" for i in decision.expire} | {i: "SUPERSEDED" for i in decision.supersede}
    after = [replace(s, status=status.get(s.id, s.status)) for s in stored]
    return after + [
        Stored(f"new{i}", c.target, c.kind, "OPEN", NOW, expires_at(NOW), None)
        for i, c in enumerate(decision.create)
    ]


@settings(max_examples=300, deadline=None)
@given(stored=stored_rows(), fresh=st.lists(st.sampled_from(POOL), max_size=8))
def test_after_a_decision_at_most_one_open_per_target_and_one_next_lesson(
    stored: list[Stored], fresh: list[Candidate]
) -> None:
    decision = reconcile(stored, fresh, NOW)
    open_ids = sorted(s.id for s in stored if s.status == "OPEN")
    # Every OPEN row gets exactly one verdict, and no other row gets any.
    assert sorted(decision.keep + decision.supersede + decision.expire) == open_ids
    after = apply(stored, decision)
    open_after = [s for s in after if s.status == "OPEN"]
    assert max(Counter(s.target for s in open_after).values(), default=0) <= 1
    assert sum(1 for s in open_after if s.kind == "NEXT_LESSON") <= 1
    assert all(expires_at(s.created_at) > NOW for s in open_after)
    # Reconciling again against the same candidates changes nothing: no churn.
    settled = reconcile(after, fresh, NOW)
    assert settled.create == settled.supersede == settled.expire == ()
