"""The course catalogue through the API: authoring (checked field by field), ordering,
publication and what a learner sees, soft deletes, content versions, derived figures,
and the cost of a whole course tree in SQL statements."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from learntwin_graphql import permissions
from learntwin_graphql.auth import ANONYMOUS, Principal, Role
from learntwin_graphql.errors import Unauthenticated
from tests.conftest import error_codes, learner_token
from tests.test_skills import quiz_on

UPSERT = "mutation($s: [SkillInput!]!) { upsertSkills(skills: $s) { id } }"
CREATE_COURSE = """mutation($i: CreateCourseInput!) { createCourse(input: $i) {
  id title summary description difficulty published contentVersion prerequisites { id } } }"""
UPDATE_COURSE = """mutation($i: UpdateCourseInput!) { updateCourse(input: $i) {
  id title summary published contentVersion updatedAt prerequisites { id } } }"""
CREATE_MODULE = """mutation($i: ModuleInput!) { createModule(input: $i) {
  id title position course { id } prerequisites { id } } }"""
LESSON_FIELDS = """id title position published contentType learningObjectives difficulty
  estimatedMinutes skills { skill { id } weight } prerequisites { lesson { id } minScore
  minCompletion } completion { rule minScore minMinutes } quiz { id } module { id }
  course { id }"""
CREATE_LESSON = f"mutation($i: LessonInput!) {{ createLesson(input: $i) {{ {LESSON_FIELDS} }} }}"
UPDATE_LESSON = (
    f"mutation($i: UpdateLessonInput!) {{ updateLesson(input: $i) {{ {LESSON_FIELDS} }} }}"
)
DELETE_LESSON = "mutation($id: ID!) { deleteLesson(id: $id) }"
TREE = """query($c: ID!) { course(id: $c) { id contentVersion estimatedMinutes skills { id }
  modules { id position estimatedMinutes lessons { id title position } } } }"""
COURSE_VERSION = "query($c: ID!) { course(id: $c) { contentVersion updatedAt } }"


async def ok(gql: Any, query: str, variables: dict[str, Any] | None = None, **auth: Any) -> Any:
    body = await gql(query, variables or {}, **auth)
    assert "errors" not in body, body
    return body["data"]


async def refused(gql: Any, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    body = await gql(query, variables)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["field"] == field, body
    return body["errors"][0]


async def skills(gql: Any, *ids: str) -> None:
    await ok(gql, UPSERT, {"s": [{"id": i, "name": i.title()} for i in ids]})


async def course(gql: Any, title: str = "Course", **extra: Any) -> str:
    data = await ok(gql, CREATE_COURSE, {"i": {"title": title, **extra}})
    return data["createCourse"]["id"]


async def publish(gql: Any, course_id: str, published: bool = True) -> None:
    await ok(gql, UPDATE_COURSE, {"i": {"id": course_id, "published": published}})


async def module(gql: Any, course_id: str, title: str = "Module", **extra: Any) -> dict[str, Any]:
    data = await ok(gql, CREATE_MODULE, {"i": {"courseId": course_id, "title": title, **extra}})
    return data["createModule"]


async def lesson(gql: Any, module_id: str, title: str = "Lesson", **extra: Any) -> dict[str, Any]:
    values = {"moduleId": module_id, "title": title, "estimatedMinutes": 10}
    values["skills"] = [{"skillId": "algebra"}]
    data = await ok(gql, CREATE_LESSON, {"i": {**values, **extra}})
    return data["createLesson"]


async def version(gql: Any, course_id: str) -> int:
    return (await ok(gql, COURSE_VERSION, {"c": course_id}))["course"]["contentVersion"]


def test_the_content_rule():
    staff = Principal(role=Role.INSTRUCTOR, api_key_name="t")
    learner = Principal(role=Role.LEARNER, user_id=1, student_id="s")
    assert permissions.can_see_content(staff, False, False)
    assert permissions.can_see_content(learner, True, True)
    assert not permissions.can_see_content(learner, True, False)
    assert not permissions.can_see_content(learner, False, True)
    assert permissions.sees_unpublished_content(staff)
    assert not permissions.sees_unpublished_content(learner)
    with pytest.raises(Unauthenticated):
        permissions.can_see_content(ANONYMOUS, True)


async def test_authoring_a_course_tree(gql, runtime):
    await skills(gql, "algebra", "geometry")
    quiz_id, _ = await quiz_on(runtime, ["algebra"])
    base = await course(gql, "  Basics  ")
    made = await ok(
        gql,
        CREATE_COURSE,
        {
            "i": {
                "title": "Algebra I",
                "summary": "Equations",
                "difficulty": "INTERMEDIATE",
                "prerequisiteCourseIds": [base],
            }
        },
    )
    created = made["createCourse"]
    assert created["id"].startswith("course-") and len(created["id"]) == len("course-") + 12
    assert created["title"] == "Algebra I" and created["difficulty"] == "INTERMEDIATE"
    assert created["published"] is False and created["contentVersion"] == 1
    assert created["prerequisites"] == [{"id": base}]
    course_id = created["id"]
    first = await module(gql, course_id, "Numbers")
    second = await module(gql, course_id, "Equations", prerequisiteModuleIds=[first["id"]])
    assert first["id"].startswith("module-") and (first["position"], second["position"]) == (0, 1)
    assert second["prerequisites"] == [{"id": first["id"]}]
    assert second["course"] == {"id": course_id}
    intro = await lesson(
        gql,
        first["id"],
        "Intro",
        skills=[{"skillId": "algebra", "weight": 3}, {"skillId": "geometry"}],
        learningObjectives=[" count ", "add"],
        contentType="VIDEO",
        difficulty=2,
    )
    assert intro["id"].startswith("lesson-") and intro["published"] is True
    assert intro["skills"] == [
        {"skill": {"id": "algebra"}, "weight": 0.75},
        {"skill": {"id": "geometry"}, "weight": 0.25},
    ]
    assert intro["learningObjectives"] == ["count", "add"] and intro["contentType"] == "VIDEO"
    assert intro["completion"] == {"rule": "VIEW", "minScore": None, "minMinutes": None}
    graded = await lesson(
        gql,
        second["id"],
        "Solve",
        prerequisites=[{"lessonId": intro["id"], "minScore": 80, "minCompletion": 0.5}],
        completion={"rule": "MIN_SCORE"},
        quizId=quiz_id,
        estimatedMinutes=25,
    )
    assert graded["prerequisites"] == [
        {"lesson": {"id": intro["id"]}, "minScore": 80.0, "minCompletion": 0.5}
    ]
    assert graded["completion"] == {"rule": "MIN_SCORE", "minScore": 70.0, "minMinutes": None}
    assert graded["quiz"] == {"id": quiz_id}
    assert graded["module"] == {"id": second["id"]} and graded["course"] == {"id": course_id}
    timed = await ok(
        gql,
        UPDATE_LESSON,
        {"i": {"id": graded["id"], "completion": {"rule": "MIN_TIME", "minMinutes": 15}}},
    )
    assert timed["updateLesson"]["completion"] == {
        "rule": "MIN_TIME",
        "minScore": None,
        "minMinutes": 15,
    }
    tree = (await ok(gql, TREE, {"c": course_id}))["course"]
    assert [m["id"] for m in tree["modules"]] == [first["id"], second["id"]]
    assert [[le["title"] for le in m["lessons"]] for m in tree["modules"]] == [["Intro"], ["Solve"]]
    assert tree["estimatedMinutes"] == 35
    assert [m["estimatedMinutes"] for m in tree["modules"]] == [10, 25]
    assert tree["skills"] == [{"id": "algebra"}, {"id": "geometry"}]
    # created 1, two modules, two lessons, one lesson update
    assert tree["contentVersion"] == 6
    renamed = await ok(
        gql, UPDATE_COURSE, {"i": {"id": base, "title": "Basics 2", "summary": None}}
    )
    assert renamed["updateCourse"]["title"] == "Basics 2"
    assert renamed["updateCourse"]["summary"] is None
    back = await ok(gql, "query($c: ID!) { course(id: $c) { title } }", {"c": base})
    assert back["course"]["title"] == "Basics 2"


async def test_positions_are_dense_and_insertion_shifts_the_others(gql):
    await skills(gql, "algebra")
    course_id = await course(gql)
    m_b = await module(gql, course_id, "B")
    m_a = await module(gql, course_id, "A", position=0)
    m_c = await module(gql, course_id, "C", position=99)  # clamped to the end
    assert (m_a["position"], m_c["position"]) == (0, 2)
    one = await lesson(gql, m_b["id"], "1")
    three = await lesson(gql, m_b["id"], "3")
    zero = await lesson(gql, m_b["id"], "0", position=0)
    two = await lesson(gql, m_b["id"], "2", position=2)
    last = await lesson(gql, m_b["id"], "4", position=50)
    assert last["position"] == 4

    async def order() -> list[list[tuple[str, int]]]:
        tree = (await ok(gql, TREE, {"c": course_id}))["course"]
        return [[(le["title"], le["position"]) for le in m["lessons"]] for m in tree["modules"]]

    async def titles() -> list[str]:
        return [title for title, _ in (await order())[1]]

    tree = (await ok(gql, TREE, {"c": course_id}))["course"]
    assert [(m["id"], m["position"]) for m in tree["modules"]] == [
        (m_a["id"], 0),
        (m_b["id"], 1),
        (m_c["id"], 2),
    ]
    assert (await order())[1] == [("0", 0), ("1", 1), ("2", 2), ("3", 3), ("4", 4)]
    moved = await ok(gql, UPDATE_LESSON, {"i": {"id": zero["id"], "position": 3}})
    assert moved["updateLesson"]["position"] == 3
    assert await titles() == ["1", "2", "3", "0", "4"]
    await ok(gql, UPDATE_LESSON, {"i": {"id": last["id"], "position": 0}})
    assert await titles() == ["4", "1", "2", "3", "0"]
    await ok(gql, UPDATE_LESSON, {"i": {"id": one["id"], "position": 100}})
    assert await titles() == ["4", "2", "3", "0", "1"]
    await ok(gql, DELETE_LESSON, {"id": two["id"]})
    assert (await order())[1] == [("4", 0), ("3", 1), ("0", 2), ("1", 3)]
    assert three["position"] == 1  # as it was when created


async def test_every_value_is_checked_with_its_field_named(gql, runtime):
    await skills(gql, "algebra")
    course_id = await course(gql)
    other_course = await course(gql, "Other")
    m0 = (await module(gql, course_id))["id"]
    m1 = (await module(gql, course_id))["id"]
    foreign = (await module(gql, other_course))["id"]
    existing = (await lesson(gql, m0))["id"]
    good = {"moduleId": m0, "title": "L", "estimatedMinutes": 5, "skills": [{"skillId": "algebra"}]}
    lesson_cases = [
        ({"title": "  "}, "input.title"),
        ({"title": "x" * 201}, "input.title"),
        ({"difficulty": 0}, "input.difficulty"),
        ({"difficulty": 11}, "input.difficulty"),
        ({"estimatedMinutes": 0}, "input.estimatedMinutes"),
        ({"estimatedMinutes": 601}, "input.estimatedMinutes"),
        ({"skills": []}, "input.skills"),
        ({"skills": [{"skillId": "algebra", "weight": 0}]}, "input.skills.0.weight"),
        ({"skills": [{"skillId": "algebra", "weight": -1}]}, "input.skills.0.weight"),
        ({"skills": [{"skillId": "algebra"}, {"skillId": "nope"}]}, "input.skills.1.skillId"),
        ({"skills": [{"skillId": "algebra"}, {"skillId": "algebra"}]}, "input.skills.1"),
        ({"moduleId": "module-missing"}, "input.moduleId"),
        ({"quizId": "no-such-quiz"}, "input.quizId"),
        ({"position": -1}, "input.position"),
        ({"learningObjectives": ["ok", " "]}, "input.learningObjectives.1"),
        (
            {"prerequisites": [{"lessonId": existing}, {"lessonId": "lesson-missing"}]},
            "input.prerequisites.1.lessonId",
        ),
        (
            {"prerequisites": [{"lessonId": existing, "minScore": 101}]},
            "input.prerequisites.0.minScore",
        ),
        (
            {"prerequisites": [{"lessonId": existing, "minCompletion": 1.5}]},
            "input.prerequisites.0.minCompletion",
        ),
        ({"completion": {"rule": "MIN_SCORE", "minScore": -1}}, "input.completion.minScore"),
        ({"completion": {"rule": "MIN_TIME"}}, "input.completion.minMinutes"),
        ({"completion": {"rule": "MIN_TIME", "minMinutes": 0}}, "input.completion.minMinutes"),
        ({"completion": {"rule": "VIEW", "minScore": 50}}, "input.completion.minScore"),
    ]
    for change, field in lesson_cases:
        await refused(gql, CREATE_LESSON, {"i": {**good, **change}}, field)
    update_cases = [
        ({"title": None}, "input.title"),
        ({"skills": []}, "input.skills"),
        ({"difficulty": 12}, "input.difficulty"),
        ({"prerequisites": [{"lessonId": existing}]}, "input.prerequisites.0.lessonId"),
    ]
    for change, field in update_cases:
        await refused(gql, UPDATE_LESSON, {"i": {"id": existing, **change}}, field)
    module_cases = [
        ({"courseId": "course-missing"}, "input.courseId"),
        ({"title": ""}, "input.title"),
        ({"position": -2}, "input.position"),
        ({"prerequisiteModuleIds": ["module-missing"]}, "input.prerequisiteModuleIds.0"),
        ({"prerequisiteModuleIds": [m0, foreign]}, "input.prerequisiteModuleIds.1"),
        ({"position": 1, "prerequisiteModuleIds": [m0, m1]}, "input.prerequisiteModuleIds.1"),
    ]
    for change, field in module_cases:
        values = {"courseId": course_id, "title": "M", **change}
        await refused(gql, CREATE_MODULE, {"i": values}, field)
    course_cases = [
        (CREATE_COURSE, {"title": " "}, "input.title"),
        (
            CREATE_COURSE,
            {"title": "T", "prerequisiteCourseIds": ["x"]},
            "input.prerequisiteCourseIds.0",
        ),
        (UPDATE_COURSE, {"id": course_id, "title": "  "}, "input.title"),
        (UPDATE_COURSE, {"id": course_id, "published": None}, "input.published"),
        (
            UPDATE_COURSE,
            {"id": course_id, "prerequisiteCourseIds": [other_course, course_id]},
            "input.prerequisiteCourseIds.1",
        ),
    ]
    for query, values, field in course_cases:
        await refused(gql, query, {"i": values}, field)
    for query, values in (
        (UPDATE_COURSE, {"id": "course-missing", "title": "T"}),
        (UPDATE_LESSON, {"id": "lesson-missing", "title": "T"}),
    ):
        body = await gql(query, {"i": values})
        assert (
            error_codes(body) == ["NOT_FOUND"]
            and body["errors"][0]["extensions"]["field"] == "input.id"
        )
    # The schema-wide checks name the argument too.
    await refused(gql, CREATE_LESSON, {"i": {**good, "body": "a\x00b"}}, "input.body")
    # Nothing of a refused write was stored, not even a new content version.
    assert await version(gql, course_id) == 4  # created, two modules, one lesson


async def test_prerequisite_cycles_are_refused_with_the_cycle_named(gql):
    await skills(gql, "algebra")
    c1, c2 = await course(gql, "One"), await course(gql, "Two")
    await ok(gql, UPDATE_COURSE, {"i": {"id": c2, "prerequisiteCourseIds": [c1]}})
    error = await refused(
        gql,
        UPDATE_COURSE,
        {"i": {"id": c1, "prerequisiteCourseIds": [c2]}},
        "input.prerequisiteCourseIds",
    )
    assert "cycle" in error["message"] and c1 in error["message"] and c2 in error["message"]
    assert sorted(error["extensions"]["courseIds"]) == sorted([c1, c2])
    m1, m2 = (await module(gql, c1))["id"], (await module(gql, c2))["id"]
    a = (await lesson(gql, m1, "A"))["id"]
    b = (await lesson(gql, m2, "B", prerequisites=[{"lessonId": a}]))["id"]  # another course
    c = (await lesson(gql, m2, "C", prerequisites=[{"lessonId": b}]))["id"]
    error = await refused(
        gql,
        UPDATE_LESSON,
        {"i": {"id": a, "prerequisites": [{"lessonId": c}]}},
        "input.prerequisites",
    )
    assert all(i in error["message"] for i in (a, b, c)) and "cycle" in error["message"]
    assert sorted(error["extensions"]["lessonIds"]) == sorted([a, b, c])
    # A deleted lesson closes no cycle.
    await ok(gql, DELETE_LESSON, {"id": b})
    fine = await ok(gql, UPDATE_LESSON, {"i": {"id": a, "prerequisites": [{"lessonId": c}]}})
    assert fine["updateLesson"]["prerequisites"] == [
        {"lesson": {"id": c}, "minScore": None, "minCompletion": None}
    ]
    listed = await ok(
        gql, "query($l: ID!) { lesson(id: $l) { prerequisites { lesson { id } } } }", {"l": c}
    )
    assert listed["lesson"]["prerequisites"] == []  # its prerequisite was deleted


async def test_a_learner_sees_published_content_only(gql):
    await skills(gql, "algebra")
    course_id = await course(gql, "Hidden until published")
    m = (await module(gql, course_id))["id"]
    shown = (await lesson(gql, m, "Shown"))["id"]
    draft = (await lesson(gql, m, "Draft"))["id"]
    await ok(gql, UPDATE_LESSON, {"i": {"id": draft, "published": False}})
    token = await learner_token(gql, "reader@example.org", "s-reader")
    single = "query($c: ID!) { course(id: $c) { id modules { lessons { id } } } }"
    listed = "{ courses { edges { node { id } } } }"
    by_skill = '{ skill(id: "algebra") { lessons { edges { node { id } } } } }'
    lesson_q = "query($l: ID!) { lesson(id: $l) { id } }"

    async def seen(query: str, variables: dict[str, Any] | None = None, **auth: Any) -> Any:
        return await ok(gql, query, variables, **auth)

    assert (await seen(single, {"c": course_id}, token=token))["course"] is None
    assert (await seen(listed, token=token))["courses"]["edges"] == []
    assert (await seen(by_skill, token=token))["skill"]["lessons"]["edges"] == []
    assert (await seen(lesson_q, {"l": shown}, token=token))["lesson"] is None
    staff_view = (await seen(single, {"c": course_id}))["course"]
    assert [le["id"] for le in staff_view["modules"][0]["lessons"]] == [shown, draft]
    assert len((await seen(listed))["courses"]["edges"]) == 1
    unpublished = await seen("{ courses(published: false) { edges { node { id } } } }")
    assert [e["node"]["id"] for e in unpublished["courses"]["edges"]] == [course_id]

    await publish(gql, course_id)
    learner_view = (await seen(single, {"c": course_id}, token=token))["course"]
    assert learner_view["modules"][0]["lessons"] == [{"id": shown}]
    assert [e["node"]["id"] for e in (await seen(listed, token=token))["courses"]["edges"]] == [
        course_id
    ]
    asked = await seen("{ courses(published: false) { edges { node { id } } } }", token=token)
    assert asked["courses"]["edges"] == []
    lessons = (await seen(by_skill, token=token))["skill"]["lessons"]["edges"]
    assert [e["node"]["id"] for e in lessons] == [shown]
    assert (await seen(lesson_q, {"l": draft}, token=token))["lesson"] is None
    assert (await seen(lesson_q, {"l": shown}, token=token))["lesson"] == {"id": shown}
    assert (await seen(lesson_q, {"l": draft}))["lesson"] == {"id": draft}
    staff_lessons = (await seen(by_skill))["skill"]["lessons"]["edges"]
    assert {e["node"]["id"] for e in staff_lessons} == {shown, draft}

    await publish(gql, course_id, False)
    assert (await seen(lesson_q, {"l": shown}, token=token))["lesson"] is None
    for query, variables in ((single, {"c": course_id}), (listed, {}), (lesson_q, {"l": shown})):
        body = await gql(query, variables, api_key=None)
        assert error_codes(body) == ["UNAUTHENTICATED"], body
    body = await gql(CREATE_COURSE, {"i": {"title": "Mine"}}, token=token)
    assert error_codes(body) == ["FORBIDDEN"]


async def test_soft_deleted_lessons_disappear_from_every_read(gql):
    await skills(gql, "algebra", "geometry")
    course_id = await course(gql)
    await publish(gql, course_id)
    m = (await module(gql, course_id))["id"]
    keep = (await lesson(gql, m, "Keep"))["id"]
    gone = await lesson(gql, m, "Gone", skills=[{"skillId": "geometry"}], estimatedMinutes=30)
    after = (await lesson(gql, m, "After", prerequisites=[{"lessonId": gone["id"]}]))["id"]
    before = await version(gql, course_id)
    deleted = await ok(gql, DELETE_LESSON, {"id": gone["id"]})
    assert deleted == {"deleteLesson": gone["id"]}
    assert await version(gql, course_id) == before + 1
    tree = (await ok(gql, TREE, {"c": course_id}))["course"]
    assert [le["id"] for le in tree["modules"][0]["lessons"]] == [keep, after]
    assert tree["estimatedMinutes"] == 20 and tree["skills"] == [{"id": "algebra"}]
    lesson_q = "query($l: ID!) { lesson(id: $l) { id prerequisites { lesson { id } } } }"
    assert (await ok(gql, lesson_q, {"l": gone["id"]}))["lesson"] is None
    assert (await ok(gql, lesson_q, {"l": after}))["lesson"]["prerequisites"] == []
    by_skill = '{ skill(id: "geometry") { lessons { edges { node { id } } } } }'
    assert (await ok(gql, by_skill))["skill"]["lessons"]["edges"] == []
    # Deleting again changes nothing; an update of a deleted lesson finds none.
    assert (await ok(gql, DELETE_LESSON, {"id": gone["id"]}))["deleteLesson"] == gone["id"]
    assert await version(gql, course_id) == before + 1
    body = await gql(UPDATE_LESSON, {"i": {"id": gone["id"], "title": "Back"}})
    assert error_codes(body) == ["NOT_FOUND"]
    assert error_codes(await gql(DELETE_LESSON, {"id": "lesson-never"})) == ["NOT_FOUND"]


async def test_each_content_change_bumps_the_version_once(gql):
    await skills(gql, "algebra")
    course_id = await course(gql)
    seen = [await ok(gql, COURSE_VERSION, {"c": course_id})]
    m = (await module(gql, course_id))["id"]
    seen.append(await ok(gql, COURSE_VERSION, {"c": course_id}))
    made = (await lesson(gql, m))["id"]
    seen.append(await ok(gql, COURSE_VERSION, {"c": course_id}))
    await ok(gql, UPDATE_LESSON, {"i": {"id": made, "title": "New title"}})
    seen.append(await ok(gql, COURSE_VERSION, {"c": course_id}))
    await ok(gql, UPDATE_COURSE, {"i": {"id": course_id, "summary": "Now with a summary"}})
    seen.append(await ok(gql, COURSE_VERSION, {"c": course_id}))
    await ok(gql, DELETE_LESSON, {"id": made})
    seen.append(await ok(gql, COURSE_VERSION, {"c": course_id}))
    # An update that changes nothing makes no new version.
    await ok(gql, UPDATE_COURSE, {"i": {"id": course_id}})
    seen.append(await ok(gql, COURSE_VERSION, {"c": course_id}))
    versions = [s["course"]["contentVersion"] for s in seen]
    assert versions == [1, 2, 3, 4, 5, 6, 6]
    stamps = [s["course"]["updatedAt"] for s in seen[:-1]]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert seen[-1] == seen[-2]


async def test_derived_minutes_and_skills_count_published_lessons_only(gql):
    await skills(gql, "algebra", "geometry", "logic")
    course_id = await course(gql)
    m1, m2 = (await module(gql, course_id))["id"], (await module(gql, course_id))["id"]
    await lesson(gql, m1, estimatedMinutes=15)
    hidden = await lesson(gql, m1, estimatedMinutes=40, skills=[{"skillId": "logic"}])
    await lesson(gql, m2, estimatedMinutes=5, skills=[{"skillId": "geometry"}])
    await ok(gql, UPDATE_LESSON, {"i": {"id": hidden["id"], "published": False}})
    tree = (await ok(gql, TREE, {"c": course_id}))["course"]
    assert tree["estimatedMinutes"] == 20
    assert [m["estimatedMinutes"] for m in tree["modules"]] == [15, 5]
    assert tree["skills"] == [{"id": "algebra"}, {"id": "geometry"}]
    empty = await course(gql, "Empty")
    assert (await ok(gql, TREE, {"c": empty}))["course"]["estimatedMinutes"] == 0


async def test_courses_are_listed_in_title_order_with_search_and_pages(gql):
    for title in ("Beta", "Alpha", "Gamma ray", "Delta"):
        await course(gql, title, summary=f"About {title.lower()}")
    query = """query($s: String, $a: String) { courses(search: $s, first: 2, after: $a) {
      edges { node { title } } pageInfo { hasNextPage endCursor } } }"""
    page = (await ok(gql, query))["courses"]
    assert [e["node"]["title"] for e in page["edges"]] == ["Alpha", "Beta"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await ok(gql, query, {"a": page["pageInfo"]["endCursor"]}))["courses"]
    assert [e["node"]["title"] for e in rest["edges"]] == ["Delta", "Gamma ray"]
    assert rest["pageInfo"]["hasNextPage"] is False
    found = (await ok(gql, query, {"s": "RAY"}))["courses"]
    assert [e["node"]["title"] for e in found["edges"]] == ["Gamma ray"]
    assert error_codes(await gql(query, {"a": "not a cursor"})) == ["BAD_USER_INPUT"]


async def test_skill_lessons_come_easiest_first_in_pages(gql):
    await skills(gql, "algebra")
    course_id = await course(gql)
    await publish(gql, course_id)
    m = (await module(gql, course_id))["id"]
    for title, difficulty in (("Hard", 9), ("Easy", 1), ("Middle", 5), ("Easy too", 1)):
        await lesson(gql, m, title, difficulty=difficulty)
    query = """query($a: String) { skill(id: "algebra") { lessons(first: 3, after: $a) {
      edges { node { title difficulty } } pageInfo { hasNextPage endCursor } } } }"""
    page = (await ok(gql, query))["skill"]["lessons"]
    assert [e["node"]["difficulty"] for e in page["edges"]] == [1, 1, 5]
    rest = (await ok(gql, query, {"a": page["pageInfo"]["endCursor"]}))["skill"]["lessons"]
    assert [e["node"]["title"] for e in rest["edges"]] == ["Hard"]


NESTED = """query($c: ID!) { course(id: $c) { id modules { id lessons { id
  skills { skill { id } weight } prerequisites { lesson { id } } quiz { id } } } } }"""


@pytest.mark.parametrize(("modules", "lessons"), [(2, 2), (5, 8)])
async def test_a_course_tree_costs_the_same_statements_for_any_size(gql, runtime, modules, lessons):
    await skills(gql, "algebra", "geometry")
    quiz_id, _ = await quiz_on(runtime, ["algebra"])
    course_id = await course(gql)
    previous = None
    for m in range(modules):
        module_id = (await module(gql, course_id, f"M{m}"))["id"]
        for n in range(lessons):
            extra: dict[str, Any] = {
                "quizId": quiz_id,
                "skills": [{"skillId": "algebra"}, {"skillId": "geometry", "weight": 2}],
            }
            if previous is not None:
                extra["prerequisites"] = [{"lessonId": previous}]
            previous = (await lesson(gql, module_id, f"L{m}.{n}", **extra))["id"]
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        body = await ok(gql, NESTED, {"c": course_id})
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
    tree = body["course"]["modules"]
    assert [len(m["lessons"]) for m in tree] == [lessons] * modules
    assert all(
        le["quiz"] == {"id": quiz_id} and len(le["skills"]) == 2
        for m in tree
        for le in m["lessons"]
    )
    # the course, its modules, their lessons, the lessons' skills, the skills, the
    # prerequisites (their lessons were loaded with the tree), the quizzes
    assert statements == 7
