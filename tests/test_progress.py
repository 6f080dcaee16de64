"""Enrolment, lesson activity, availability and progress through the API, against real
Postgres: the rules of ml.course_rules as a client meets them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import error_codes, learner_token
from tests.test_skills import SUBMIT, answers, quiz_on

ENROLL = "mutation($c: ID!, $s: ID) { enroll(input: {courseId: $c, studentId: $s}) { id status studentId course { id } } }"
ACTIVITY = """mutation($i: LessonActivityInput!) { recordLessonActivity(input: $i) {
  status completion score attempts activeSeconds completedAt lesson { id } } }"""
STATE = """query($c: ID!, $s: ID!) { course(id: $c) { enrollment(studentId: $s) {
  status progress completedLessons totalLessons nextLesson { id } completedAt }
  modules { lessons { id availability(studentId: $s) { status blockedByLessons { lesson { id } minScore }
    blockedByModules { id } blockedByCourses { id } weakPrerequisiteSkills { skill { id } band } }
    progress(studentId: $s) { status completion score } } } } }"""


async def lesson(gql: Any, module_id: str, title: str, **extra: Any) -> str:
    body = await gql(
        "mutation($i: LessonInput!) { createLesson(input: $i) { id } }",
        {"i": {"moduleId": module_id, "title": title, "estimatedMinutes": 5, **extra}},
    )
    assert "errors" not in body, body
    return body["data"]["createLesson"]["id"]


async def course(
    gql: Any, title: str = "C", *, prerequisites: list[str] | None = None
) -> dict[str, Any]:
    """A published course: module A (lessons a1, a2 after a1 with minScore 80) and module B
    after A (lesson b1), on skills basics <- advanced."""
    await gql(
        'mutation { upsertSkills(skills: [{id: "basics", name: "Basics"},'
        ' {id: "advanced", name: "Advanced", prerequisiteIds: ["basics"]}]) { id } }'
    )
    made = await gql(
        "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }",
        {"i": {"title": title, "prerequisiteCourseIds": prerequisites or []}},
    )
    course_id = made["data"]["createCourse"]["id"]
    modules = []
    for name, after in (("A", []), ("B", None)):
        body = await gql(
            "mutation($i: ModuleInput!) { createModule(input: $i) { id } }",
            {
                "i": {
                    "courseId": course_id,
                    "title": name,
                    "prerequisiteModuleIds": after if after is not None else [modules[0]],
                }
            },
        )
        modules.append(body["data"]["createModule"]["id"])
    a1 = await lesson(
        gql,
        modules[0],
        "a1",
        skills=[{"skillId": "basics"}],
        completion={"rule": "MIN_SCORE", "minScore": 60},
    )
    a2 = await lesson(
        gql,
        modules[0],
        "a2",
        skills=[{"skillId": "advanced", "weight": 3}, {"skillId": "basics", "weight": 1}],
        prerequisites=[{"lessonId": a1, "minScore": 80}],
        completion={"rule": "MIN_SCORE"},
    )
    b1 = await lesson(
        gql, modules[1], "b1", skills=[{"skillId": "advanced"}], completion={"rule": "MARK_DONE"}
    )
    await gql(
        "mutation($c: ID!) { updateCourse(input: {id: $c, published: true}) { id } }",
        {"c": course_id},
    )
    return {"id": course_id, "modules": modules, "a1": a1, "a2": a2, "b1": b1}


def activity(lesson_id: str, student: str, event_id: str, **values: Any) -> dict[str, Any]:
    return {"i": {"lessonId": lesson_id, "studentId": student, "eventId": event_id, **values}}


async def state(gql: Any, course_id: str, student: str, **auth: Any) -> dict[str, Any]:
    body = await gql(STATE, {"c": course_id, "s": student}, **auth)
    assert "errors" not in body, body
    lessons = [le for m in body["data"]["course"]["modules"] for le in m["lessons"]]
    return {
        "enrollment": body["data"]["course"]["enrollment"],
        "lessons": {le["id"]: le for le in lessons},
    }


async def test_enrolment_is_idempotent_and_reactivates_after_a_drop(gql):
    c = await course(gql)
    first = (await gql(ENROLL, {"c": c["id"], "s": "s-enr"}))["data"]["enroll"]
    again = (await gql(ENROLL, {"c": c["id"], "s": "s-enr"}))["data"]["enroll"]
    assert first == again and first["status"] == "ACTIVE"
    dropped = await gql(
        "mutation($e: ID!) { dropEnrollment(id: $e) { status } }", {"e": first["id"]}
    )
    assert dropped["data"]["dropEnrollment"]["status"] == "DROPPED"
    back = (await gql(ENROLL, {"c": c["id"], "s": "s-enr"}))["data"]["enroll"]
    assert back["id"] == first["id"] and back["status"] == "ACTIVE"
    listed = await gql(
        '{ student(id: "s-enr") { enrollments { edges { node { id course { id } } } } } }'
    )
    assert [e["node"]["id"] for e in listed["data"]["student"]["enrollments"]["edges"]] == [
        first["id"]
    ]
    missing = await gql(ENROLL, {"c": "course-nope", "s": "s-enr"})
    assert error_codes(missing) == ["NOT_FOUND"]


async def test_learners_enrol_themselves_in_published_courses_only(gql):
    c = await course(gql)
    hidden = await gql('mutation { createCourse(input: {title: "Draft"}) { id } }')
    token = await learner_token(gql, "enrol@example.org", "s-learner")
    own = await gql(ENROLL, {"c": c["id"]}, token=token)
    assert own["data"]["enroll"]["studentId"] == "s-learner"
    draft = await gql(ENROLL, {"c": hidden["data"]["createCourse"]["id"]}, token=token)
    assert error_codes(draft) == ["NOT_FOUND"]
    other = await gql(ENROLL, {"c": c["id"], "s": "s-else"}, token=token)
    assert error_codes(other) == ["FORBIDDEN"]
    peek = await gql(STATE, {"c": c["id"], "s": "s-else"}, token=token)
    assert "FORBIDDEN" in error_codes(peek)
    staff_only = await gql(
        "query($c: ID!) { course(id: $c) { enrollments { edges { cursor } } } }",
        {"c": c["id"]},
        token=token,
    )
    assert "FORBIDDEN" in error_codes(staff_only)


async def test_activity_needs_an_enrolment_and_an_open_lesson(gql):
    c = await course(gql)
    body = await gql(ACTIVITY, activity(c["a1"], "s-act", "e0"))
    assert error_codes(body) == ["BAD_USER_INPUT"] and "enrol" in body["errors"][0]["message"]
    await gql(ENROLL, {"c": c["id"], "s": "s-act"})
    locked = await gql(ACTIVITY, activity(c["a2"], "s-act", "e1"))
    assert error_codes(locked) == ["BAD_USER_INPUT"] and c["a1"] in locked["errors"][0]["message"]
    now = datetime.now(UTC)
    for values, field in (
        ({"occurredAt": (now + timedelta(minutes=6)).isoformat()}, "input.occurredAt"),
        ({"occurredAt": (now - timedelta(days=366)).isoformat()}, "input.occurredAt"),
        ({"activeSeconds": 3601}, "input.activeSeconds"),
        ({"completion": 1.5}, "input.completion"),
        ({"score": -1}, "input.score"),
        ({"pauses": -1}, "input.pauses"),
    ):
        bad = await gql(ACTIVITY, activity(c["a1"], "s-act", "e-bad", **values))
        assert error_codes(bad) == ["BAD_USER_INPUT"], values
        assert bad["errors"][0]["extensions"]["field"] == field


async def test_progress_counts_and_unlocks_in_order(gql):
    c = await course(gql)
    await gql(ENROLL, {"c": c["id"], "s": "s-path"})
    before = await state(gql, c["id"], "s-path")
    assert before["lessons"][c["a1"]]["availability"]["status"] == "AVAILABLE"
    a2 = before["lessons"][c["a2"]]["availability"]
    assert a2["status"] == "LOCKED" and a2["blockedByLessons"] == [
        {"lesson": {"id": c["a1"]}, "minScore": 80.0}
    ]
    assert before["lessons"][c["b1"]]["availability"]["blockedByModules"] == [
        {"id": c["modules"][0]}
    ]
    # advice: advanced's prerequisite basics is below PROFICIENT
    assert {"skill": {"id": "basics"}, "band": "NOT_STARTED"} in a2["weakPrerequisiteSkills"]
    assert before["enrollment"]["nextLesson"] == {"id": c["a1"]}

    first = (
        await gql(
            ACTIVITY, activity(c["a1"], "s-path", "e1", score=70, completion=0.5, activeSeconds=30)
        )
    )["data"]["recordLessonActivity"]
    assert first["status"] == "COMPLETED" and first["completion"] == 1.0 and first["attempts"] == 1
    still = await state(gql, c["id"], "s-path")
    assert still["lessons"][c["a2"]]["availability"]["status"] == "LOCKED"  # 70 < minScore 80
    repeat = (await gql(ACTIVITY, activity(c["a1"], "s-path", "e1", score=95)))["data"][
        "recordLessonActivity"
    ]
    assert repeat["score"] == 70 and repeat["attempts"] == 1  # the same eventId changes nothing
    better = (await gql(ACTIVITY, activity(c["a1"], "s-path", "e2", score=90)))["data"][
        "recordLessonActivity"
    ]
    assert (better["score"], better["attempts"], better["activeSeconds"]) == (90, 2, 30)
    worse = (await gql(ACTIVITY, activity(c["a1"], "s-path", "e3", score=10, completion=0.1)))[
        "data"
    ]["recordLessonActivity"]
    assert (worse["score"], worse["completion"], worse["status"]) == (90, 1.0, "COMPLETED")

    now = await state(gql, c["id"], "s-path")
    assert now["lessons"][c["a2"]]["availability"]["status"] == "AVAILABLE"
    assert now["enrollment"]["nextLesson"] == {"id": c["a2"]}
    progress = (await gql(ACTIVITY, activity(c["a2"], "s-path", "e4", score=69)))["data"][
        "recordLessonActivity"
    ]
    assert progress["status"] == "IN_PROGRESS"  # MIN_SCORE without a score rule: 70
    await gql(ACTIVITY, activity(c["a2"], "s-path", "e5", score=70))
    await gql(ACTIVITY, activity(c["b1"], "s-path", "e6", completion=0.9))
    middle = await state(gql, c["id"], "s-path")
    assert middle["lessons"][c["b1"]]["progress"] == {
        "status": "IN_PROGRESS",
        "completion": 0.9,
        "score": None,
    }
    enrollment = middle["enrollment"]
    assert (enrollment["completedLessons"], enrollment["totalLessons"]) == (2, 3)
    assert enrollment["progress"] == pytest.approx(2 / 3) and enrollment["status"] == "ACTIVE"
    await gql(ACTIVITY, activity(c["b1"], "s-path", "e7", markDone=True))
    done = (await state(gql, c["id"], "s-path"))["enrollment"]
    assert done["status"] == "COMPLETED" and done["completedAt"] and done["nextLesson"] is None


async def test_a_scored_activity_is_evidence_for_each_skill_of_the_lesson(gql):
    c = await course(gql)
    await gql(ENROLL, {"c": c["id"], "s": "s-ev"})
    await gql(ACTIVITY, activity(c["a1"], "s-ev", "e1", score=90))
    await gql(ACTIVITY, activity(c["a2"], "s-ev", "e2", score=50, hintsUsed=1))
    body = await gql(
        '{ student(id: "s-ev") { skills { edges { node { skill { id } history { edges { node {'
        " source sourceId correct weight reviewRating } } } } } } } }"
    )
    history = {
        e["node"]["skill"]["id"]: [h["node"] for h in e["node"]["history"]["edges"]]
        for e in body["data"]["student"]["skills"]["edges"]
    }
    assert history["advanced"] == [
        {
            "source": "LESSON_SCORE",
            "sourceId": c["a2"],
            "correct": False,
            "weight": 0.75,
            "reviewRating": None,
        }
    ]
    assert [h["weight"] for h in history["basics"]] == [0.25, 1.0]  # newest first
    assert history["basics"][1]["reviewRating"] == 3  # weight 1: an FSRS review (Good)


async def test_course_prerequisites_lock_until_that_course_is_completed(gql):
    first = await course(gql, "First")
    second = await course(gql, "Second", prerequisites=[first["id"]])
    for c in (first, second):
        await gql(ENROLL, {"c": c["id"], "s": "s-chain"})
    blocked = (await state(gql, second["id"], "s-chain"))["lessons"][second["a1"]]["availability"]
    assert blocked["status"] == "LOCKED" and blocked["blockedByCourses"] == [{"id": first["id"]}]
    for n, (lesson_id, values) in enumerate(
        (
            (first["a1"], {"score": 90}),
            (first["a2"], {"score": 90}),
            (first["b1"], {"markDone": True}),
        )
    ):
        await gql(ACTIVITY, activity(lesson_id, "s-chain", f"c{n}", **values))
    opened = (await state(gql, second["id"], "s-chain"))["lessons"][second["a1"]]["availability"]
    assert opened["status"] == "AVAILABLE"


async def test_parallel_activities_of_one_student_lose_nothing(gql):
    c = await course(gql)
    await gql(ENROLL, {"c": c["id"], "s": "s-par"})
    calls = [
        gql(ACTIVITY, activity(c["a1"], "s-par", f"p{n}", score=50 + n, activeSeconds=10))
        for n in range(10)
    ]
    for body in await asyncio.gather(*calls):
        assert "errors" not in body, body
    final = (await gql(ACTIVITY, activity(c["a1"], "s-par", "p-last", activeSeconds=0)))["data"][
        "recordLessonActivity"
    ]
    assert (final["attempts"], final["activeSeconds"], final["score"]) == (10, 100, 59)
    level = await gql('{ student(id: "s-par") { skill(id: "basics") { opportunities } } }')
    assert level["data"]["student"]["skill"]["opportunities"] == 10


async def test_a_lesson_quiz_counts_as_a_scored_activity(gql, runtime):
    c = await course(gql)
    quiz_id, questions = await quiz_on(runtime, ["basics", "basics"])
    await gql(
        "mutation($l: ID!, $q: ID!) { updateLesson(input: {id: $l, quizId: $q}) { id } }",
        {"l": c["a1"], "q": quiz_id},
    )
    await gql(ENROLL, {"c": c["id"], "s": "s-quiz"})
    await gql(SUBMIT, {"q": quiz_id, "s": "s-quiz", "a": answers(questions, [True, False])})
    lesson_state = (await state(gql, c["id"], "s-quiz"))["lessons"][c["a1"]]["progress"]
    assert lesson_state == {"status": "IN_PROGRESS", "completion": 0.0, "score": 50.0}


async def test_time_zones_are_iana_names(gql):
    body = await gql(
        'mutation { setStudentTimezone(studentId: "s-tz", timezone: "Europe/Paris") { id timezone } }'
    )
    assert body["data"]["setStudentTimezone"] == {"id": "s-tz", "timezone": "Europe/Paris"}
    for bad in ("Mars/Olympus", "", "../etc/passwd", "europe/paris"):
        refused = await gql(
            'mutation($t: String!) { setStudentTimezone(studentId: "s-tz", timezone: $t) { id } }',
            {"t": bad},
        )
        assert error_codes(refused) == ["BAD_USER_INPUT"], bad


@pytest.mark.parametrize("lessons_per_module", [1, 6])
async def test_a_tree_with_availability_and_progress_costs_the_same_statements(
    gql, runtime, lessons_per_module
):
    c = await course(gql)
    for module in c["modules"]:
        for n in range(lessons_per_module):
            await lesson(gql, module, f"extra {n}", skills=[{"skillId": "advanced"}])
    await gql(ENROLL, {"c": c["id"], "s": "s-count"})
    await gql(ACTIVITY, activity(c["a1"], "s-count", "e1", score=90))
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        body = await gql(STATE, {"c": c["id"], "s": "s-count"})
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
    assert "errors" not in body, body
    # The same for 3 and 13 lessons: every level of the tree is read once, batched.
    assert statements == 21, statements


async def test_the_demo_catalogue_shows_levels_and_progress_at_once(gql, runtime):
    from learntwin_graphql.demo_courses import STUDENTS, load_demo_courses

    assert await load_demo_courses(runtime) > 0
    assert await load_demo_courses(runtime) == 0  # an existing catalogue is left alone
    listed = await gql("{ courses { edges { node { id title published skills { id } } } } }")
    titles = [e["node"]["title"] for e in listed["data"]["courses"]["edges"]]
    assert titles == ["Data analysis with Python", "Python foundations"]
    assert all(e["node"]["published"] for e in listed["data"]["courses"]["edges"])
    skills = await gql("{ skills(first: 50) { edges { node { id } } } }")
    assert len(skills["data"]["skills"]["edges"]) == 15
    body = await gql(
        "query($s: ID!) { student(id: $s) { skills { edges { node { skill { id } band } } }"
        " enrollments { edges { node { progress completedLessons nextLesson { title } } } } } }",
        {"s": STUDENTS[-1]},
    )
    student = body["data"]["student"]
    assert (
        student["skills"]["edges"]
        and student["enrollments"]["edges"][0]["node"]["completedLessons"] > 0
    )
    # Every demo student has a goal with a path, an open recommendation and a dashboard.
    body = await gql(
        "query($s: ID!) { student(id: $s) { goals { edges { node { status path { version"
        " steps { lesson { id } } } } } } recommendations { edges { node { kind } } }"
        " dashboard { streak { longest } pace { status plannedMinutesPerWeek } } } }",
        {"s": STUDENTS[0]},
    )
    assert "errors" not in body, body
    first = body["data"]["student"]
    goal = first["goals"]["edges"][0]["node"]
    assert goal["status"] == "ACTIVE" and goal["path"]["steps"]
    assert first["recommendations"]["edges"]
    assert first["dashboard"]["pace"]["plannedMinutesPerWeek"] == 90
