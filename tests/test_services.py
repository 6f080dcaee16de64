"""The services called directly, as resolvers and REST routes call them: each checks its
permission, owns its transaction and hands back plain rows."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from db import tasks as task_rows
from learntwin_graphql.auth import ANONYMOUS, Principal, Role
from learntwin_graphql.errors import ApiError, BadUserInput, Forbidden, Unauthenticated
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import (
    accounts,
    analytics,
    exports,
    ingest,
    predictions,
    quizzes,
    tasks,
)
from ml.quiz import Difficulty
from tests.conftest import clean, free_port, make_settings
from workers import queueing
from workers.jobs import TRAIN_MODEL

ADMIN = Principal(role=Role.ADMIN, api_key_name="test")
INSTRUCTOR = Principal(role=Role.INSTRUCTOR, api_key_name="teacher")


def raw(class_id: str = "c1", student_id: str = "s1", **extra: object) -> dict[str, object]:
    return {
        "class_id": class_id,
        "student_id": student_id,
        "stuck": 0,
        "got_it": 1,
        "pause": 0,
        "example": 1,
        "confidence": 7,
        **extra,
    }


async def test_ingest_stores_the_valid_records_and_notifies(runtime):
    with pytest.raises(Unauthenticated):
        await ingest.ingest(runtime, ANONYMOUS, [raw()])
    pubsub = runtime.redis.pubsub()
    await pubsub.psubscribe("learntwin:event:class:*")
    result, errors = await ingest.ingest(runtime, INSTRUCTOR, [raw(), raw(confidence=11)])
    assert (result.accepted, result.class_ids) == (1, ("c1",))
    assert [(e.index, e.field) for e in errors] == [(1, "confidence")]
    message = None
    for _ in range(20):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.25)
        if message:
            break
    await pubsub.aclose()
    assert message is not None and message["channel"].endswith(b"class:c1")
    with pytest.raises(ingest.BatchTooLarge) as too_many:
        await ingest.ingest(runtime, ADMIN, [raw()] * (runtime.settings.max_ingest_batch + 1))
    assert too_many.value.http_status == 413


async def test_analytics_mastery_and_recommendations(runtime):
    await ingest.ingest(runtime, ADMIN, [raw(stuck=1, confidence=3)] * 4)
    stats = await analytics.class_mastery(runtime, INSTRUCTOR, "c1")
    assert stats.population == 4 and stats.rate_stuck == 1.0
    assert analytics.recommendations(runtime, stats)[0].action.value == "RECAP"
    empty = await analytics.class_mastery(runtime, ADMIN, "nobody")
    assert empty.population == 0 and empty.class_id == "nobody"
    learner = Principal(role=Role.LEARNER, user_id=1, student_id="s1")
    with pytest.raises(Forbidden):
        await analytics.class_mastery(runtime, learner, "c1")
    assert [row["id"] for row in await analytics.class_page(runtime, ADMIN, None, 10)] == ["c1"]


async def test_export_links_are_bound_to_their_class_and_range(runtime):
    link = exports.export_link(runtime, ADMIN, "http://host/", "数学 1", None, None)
    assert link.startswith("http://host/export/%E6%95%B0%E5%AD%A6%201.csv?token=")
    token = link.split("token=")[1]
    exports.check_link(runtime, token, "数学 1", None, None)
    with pytest.raises(Exception, match="does not match"):
        exports.check_link(runtime, token, "other", None, None)
    with pytest.raises(Unauthenticated):
        exports.export_link(runtime, ANONYMOUS, "http://host/", "c1", None, None)


async def test_accounts_register_link_and_login(runtime):
    await ingest.ingest(runtime, ADMIN, [raw(student_id="s-data")])
    with pytest.raises(BadUserInput):
        await accounts.register(runtime, "10.0.0.1", "a@example.org", "0123456789", "s-data")
    made = await accounts.register(runtime, "10.0.0.1", "a@example.org", "0123456789", None)
    linked = await accounts.link_student(runtime, INSTRUCTOR, str(made.user["id"]), "s-data")
    assert linked["student_id"] == "s-data"
    signed_in = await accounts.login(runtime, "10.0.0.1", "A@example.org", "0123456789")
    assert signed_in.user["student_id"] == "s-data"
    with pytest.raises(Unauthenticated):
        await accounts.login(runtime, "10.0.0.1", "a@example.org", "wrong password")
    key = await accounts.create_api_key(runtime, ADMIN, " dashboard ", Role.INSTRUCTOR)
    assert key.key.startswith("lt_") and key.name == "dashboard"
    with pytest.raises(Forbidden):
        await accounts.create_api_key(runtime, INSTRUCTOR, "x", Role.ADMIN)


async def test_quiz_generation_and_submission(runtime, jobs):
    task = await quizzes.generate(runtime, ADMIN, " sql ", 3, Difficulty.BEGINNER, None)
    assert task["status"] == task_rows.QUEUED and task["params"]["topic"] == "sql"
    await jobs.run()
    quiz_id = (await task_rows.get(runtime.engine, task["id"]))["result_id"]
    learner = Principal(role=Role.LEARNER, user_id=None, student_id="s-quiz")
    with pytest.raises(Forbidden):
        await quizzes.submit(runtime, learner, quiz_id, "s-other", [])
    done = await quizzes.submit(runtime, learner, quiz_id, "s-quiz", [])
    assert done.attempt["student_id"] == "s-quiz" and done.attempt["total_count"] == 3
    assert done.profile_task["kind"] == task_rows.PROFILE_ANALYSIS
    with pytest.raises(BadUserInput):
        await quizzes.submit(runtime, learner, quiz_id, "s-quiz", [("nope", ["x"])])


async def test_predictions_validate_store_and_refuse(runtime, score_model):
    student = SimpleNamespace(
        student_id="s1", comprehension=70, attention=70, focus=70, retention=70, engagement_time=90
    )
    first = await predictions.predict(runtime, INSTRUCTOR, [student])
    again = await predictions.predict(runtime, INSTRUCTOR, [student])
    assert (first.cache_hits, again.cache_hits) == (0, 1)
    assert again.predictions[0]["predicted_score"] == first.predictions[0]["predicted_score"]
    bad = SimpleNamespace(**{**vars(student), "focus": 101})
    with pytest.raises(BadUserInput) as refused:
        await predictions.predict(runtime, ADMIN, [student, bad])
    assert refused.value.extensions["field"] == "students.1.focus"
    with pytest.raises(Forbidden):
        await predictions.cache_stats(runtime, INSTRUCTOR)
    assert (await predictions.cache_stats(runtime, ADMIN)).hits >= 1


async def test_a_task_that_cannot_be_queued_is_failed_and_said_so(services):
    await clean(services)
    # Nothing listens on this port: the queue is unreachable.
    settings = make_settings(services, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    async with await Runtime.start(settings, run_migrations=False) as runtime:
        async with runtime.engine.begin() as conn:
            row = await queueing.create(
                conn,
                runtime.worker_config,
                kind=task_rows.MODEL_TRAINING,
                params={},
                owner_user_id=None,
                owner_student_id=None,
            )
        with pytest.raises(ApiError, match="not queued"):
            await tasks.enqueue(runtime, row, TRAIN_MODEL)
        assert (await task_rows.get(runtime.engine, row["id"]))["status"] == task_rows.FAILED
