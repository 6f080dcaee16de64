"""The learner model: BKT updates, soft evidence, bands, parameter checks, FSRS cards."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml.learner_model import (
    DEFAULT_TRACING,
    MASTERED_AT,
    SKILL_ID_MAX,
    InvalidParameter,
    Observation,
    TracingParams,
    apply_all,
    apply_observation,
    band,
    bkt_update,
    card_due,
    card_retrievability,
    card_stability,
    check_tracing,
    initial_state,
    is_skill_id,
    level,
    new_card,
    p_correct_next,
    recent_accuracy,
    review_card,
    review_rating,
    slugify,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
weights = st.floats(min_value=1e-6, max_value=1.0, allow_nan=False)
valid_params = st.builds(
    TracingParams,
    prior=st.floats(min_value=0.01, max_value=0.99),
    learn=st.floats(min_value=0.01, max_value=0.99),
    guess=st.floats(min_value=0.0, max_value=0.3),
    slip=st.floats(min_value=0.0, max_value=0.1),
    forget=st.floats(min_value=0.0, max_value=0.99),
)


def test_the_documented_sequence() -> None:
    p = DEFAULT_TRACING.prior
    seen = []
    for correct in (True, True, False):
        p = bkt_update(p, correct, DEFAULT_TRACING)
        seen.append(round(p, 4))
    assert seen == [0.5765, 0.8737, 0.5173]


def test_soft_evidence_moves_less_in_the_same_direction() -> None:
    p = 0.5
    for correct in (True, False):
        full = bkt_update(p, correct, DEFAULT_TRACING, 1.0)
        soft = bkt_update(p, correct, DEFAULT_TRACING, 0.3)
        only_learn = p + (1 - p) * DEFAULT_TRACING.learn
        # the same direction relative to the no-evidence transition, but less far
        assert (full - only_learn) * (soft - only_learn) > 0
        assert abs(soft - only_learn) < abs(full - only_learn)
    tiny = bkt_update(p, False, DEFAULT_TRACING, 1e-9)
    assert tiny == pytest.approx(p + (1 - p) * DEFAULT_TRACING.learn, abs=1e-6)


def test_forgetting_lowers_a_mastered_skill() -> None:
    params = TracingParams(forget=0.2)
    assert bkt_update(0.99, True, params) < 0.99
    assert bkt_update(0.99, True, DEFAULT_TRACING) >= 0.99


def test_zero_denominator_keeps_p() -> None:
    params = TracingParams(guess=0.0, slip=0.0, learn=0.1)
    # p = 1 and a wrong answer: both terms vanish, p is kept, then the transition
    assert bkt_update(1.0, False, params) == 1.0


@given(p=unit, correct=st.booleans(), w=weights, params=valid_params)
def test_p_stays_a_probability(p: float, correct: bool, w: float, params: TracingParams) -> None:
    assert 0.0 <= bkt_update(p, correct, params, w) <= 1.0


@given(p=unit, w=weights, params=valid_params)
def test_a_correct_answer_never_lowers_p_without_forgetting(
    p: float, w: float, params: TracingParams
) -> None:
    params = TracingParams(params.prior, params.learn, params.guess, params.slip, 0.0)
    assert bkt_update(p, True, params, w) >= p - 1e-12


def test_p_correct_next() -> None:
    assert p_correct_next(0.0, DEFAULT_TRACING) == pytest.approx(0.2)
    assert p_correct_next(1.0, DEFAULT_TRACING) == pytest.approx(0.9)


def test_level_and_band_boundaries() -> None:
    assert level(0.0) == 1
    assert level(1.0) == 10
    assert level(0.5) == 6
    assert level(-1.0) == 1 and level(2.0) == 10
    assert band(0.99, 0) == "NOT_STARTED"
    assert band(0.19, 1) == "NOVICE"
    assert band(0.2, 1) == "DEVELOPING"
    assert band(0.6, 1) == "PROFICIENT"
    assert band(0.9499, 1) == "PROFICIENT"
    assert band(MASTERED_AT, 1) == "MASTERED"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prior", 0.0),
        ("prior", 1.0),
        ("learn", 0.0),
        ("learn", math.nan),
        ("guess", 0.31),
        ("guess", -0.1),
        ("slip", 0.11),
        ("slip", math.inf),
        ("forget", 1.0),
        ("forget", -0.01),
    ],
)
def test_check_tracing_names_the_field(field: str, value: float) -> None:
    params = TracingParams(**{field: value})
    with pytest.raises(InvalidParameter) as error:
        check_tracing(params)
    assert error.value.field == field
    assert field in str(error.value)
    assert isinstance(error.value, ValueError)


def test_check_tracing_accepts_edges() -> None:
    check_tracing(DEFAULT_TRACING)
    check_tracing(TracingParams(guess=0.0, slip=0.0, forget=0.0))
    check_tracing(TracingParams(guess=0.3, slip=0.1, forget=0.99))


def test_slugify_and_skill_ids() -> None:
    assert slugify("data types") == "data-types"
    assert slugify("  C++ / Pointers!") == "c-pointers"
    assert slugify("!!!") == ""
    long = slugify("a" * 63 + " b")
    assert long == "a" * 63 and len(long) <= SKILL_ID_MAX
    assert is_skill_id("data-types")
    assert is_skill_id("x" * SKILL_ID_MAX)
    assert not is_skill_id("x" * (SKILL_ID_MAX + 1))
    assert not is_skill_id("")
    assert not is_skill_id("Data")
    assert not is_skill_id("a b")


@given(st.text())
def test_slugs_are_skill_ids_or_empty(text: str) -> None:
    slug = slugify(text)
    assert slug == "" or is_skill_id(slug)
    assert not slug.startswith("-") and not slug.endswith("-")


def test_fsrs_due_times_without_fuzzing() -> None:
    card = new_card(card_id=1)
    assert card_due(card) is None
    assert card_stability(card) is None
    assert card_retrievability(card, T0) is None
    assert card_retrievability(None, T0) is None
    good = review_card(card, 3, T0)
    again = review_card(card, 1, T0)
    assert card_due(good) == T0 + timedelta(minutes=10)
    assert card_due(again) == T0 + timedelta(minutes=1)
    stability = card_stability(good)
    assert stability is not None and stability > 0
    retrievability = card_retrievability(good, T0 + timedelta(days=3))
    assert retrievability is not None and 0.0 < retrievability < 1.0


def test_review_accepts_any_aware_timezone_and_refuses_naive() -> None:
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    reviewed = review_card(new_card(card_id=1), 3, plus_two)
    assert card_due(reviewed) == T0 + timedelta(minutes=10)
    with pytest.raises(ValueError):
        review_card(new_card(card_id=1), 3, T0.replace(tzinfo=None))


def test_review_rating() -> None:
    assert review_rating(False, 0) == 1
    assert review_rating(False, 3) == 1
    assert review_rating(True, 1) == 2
    assert review_rating(True, 0) == 3


def test_apply_observation_bookkeeping() -> None:
    state = initial_state(DEFAULT_TRACING)
    assert state.p_mastery == DEFAULT_TRACING.prior
    assert recent_accuracy(state) is None
    soft = apply_observation(state, Observation(True, 0.3, T0), DEFAULT_TRACING)
    assert soft.review_rating is None
    assert soft.after.card is None
    assert soft.after.opportunities == 1 and soft.after.correct == 1
    assert soft.p_before == state.p_mastery and soft.p_after == soft.after.p_mastery
    assert soft.before is state

    graded = apply_observation(
        soft.after, Observation(True, 1.0, T0 + timedelta(hours=1), hints_used=2), DEFAULT_TRACING
    )
    assert graded.review_rating == 2
    assert graded.after.card is not None
    assert card_due(graded.after.card) is not None
    assert graded.after.last_practiced_at == T0 + timedelta(hours=1)

    later = apply_observation(
        graded.after, Observation(True, 0.3, T0 + timedelta(hours=2)), DEFAULT_TRACING
    )
    assert later.after.card == graded.after.card  # soft evidence leaves the card alone


def test_apply_all_keeps_the_last_five() -> None:
    outcomes = [False, True, True, False, True, True, False]
    observations = [Observation(c, 1.0, T0 + timedelta(minutes=i)) for i, c in enumerate(outcomes)]
    updates = apply_all(initial_state(DEFAULT_TRACING), observations, DEFAULT_TRACING)
    assert len(updates) == len(outcomes)
    for previous, current in itertools.pairwise(updates):
        assert current.before == previous.after
    final = updates[-1].after
    assert final.opportunities == 7 and final.correct == 4
    assert final.recent == tuple(outcomes[-5:])
    assert recent_accuracy(final) == pytest.approx(3 / 5)
    assert [u.review_rating for u in updates] == [1 if not c else 3 for c in outcomes]
    assert updates[0].after.card is not None


def test_apply_observation_refuses_bad_weights() -> None:
    state = initial_state(DEFAULT_TRACING)
    for weight in (0.0, -0.5, 1.5, math.nan):
        with pytest.raises(ValueError):
            apply_observation(state, Observation(True, weight, T0), DEFAULT_TRACING)
