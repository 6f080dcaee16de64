"""Learning goals and their versioned learning paths through the API, against real
Postgres and Redis: creation with version 1 in the same request, refusals, new versions
only when the ordered steps change (mastery, goal edits, content), live step status,
completion, coalesced recomputes, the path subscription, enrolments serving a goal and
who may see what."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import func, select, text

from db.path_tables import learning_goals, learning_paths
from tests.conftest import ADMIN_KEY, error_codes, learner_token, ws_client, ws_connect
from tests.test_progress import ACTIVITY, ENROLL, activity, course, lesson

STEP = """fragment S on PathStep { position kind lesson { id } skills { id } reasonCode reason
  leadsTo { id } estimatedMinutes status }"""
PATH = """fragment P on LearningPath { id version active trigger reason estimatedMinutes
  estimatedCompletionDate createdAt uncoveredSkills { id } goal { id }
  steps { ...S } diff { added { ...S } removed { ...S } moved { ...S } } }"""
GOAL_FIELDS = """id studentId description status progress weeklyMinutes targetDate completedAt
  createdAt updatedAt targetSkills { skill { id } targetMastery }
  gaps { skill { id } pMastery targetMastery blockedBy { id } }
  initialSnapshot { skill { id } pMastery } path { ...P }"""
CREATE = (
    f"mutation($i: CreateGoalInput!) {{ createLearningGoal(input: $i) {{ {GOAL_FIELDS} }} }}"
    + PATH
    + STEP
)
UPDATE = (
    f"mutation($i: UpdateGoalInput!) {{ updateLearningGoal(input: $i) {{ {GOAL_FIELDS} }} }}"
    + PATH
    + STEP
)
GOAL = (
    f"""query($g: ID!) {{ learningGoal(id: $g) {{ {GOAL_FIELDS}
      pathVersions(first: 20) {{ edges {{ cursor node {{ ...P }} }} pageInfo {{ hasNextPage endCursor }} }}
    }} }}"""
    + PATH
    + STEP
)
VERSIONS = """query($g: ID!, $first: Int!, $after: String) { learningGoal(id: $g) {
      pathVersions(first: $first, after: $after) { edges { cursor node { id version active } }
        pageInfo { hasNextPage endCursor } } } }"""
PATH_BY_ID = "query($p: ID!) { learningPath(id: $p) { ...P } }" + PATH + STEP
RECOMPUTE = "mutation($g: ID!) { recomputeLearningPath(goalId: $g) { ...P } }" + PATH + STEP
LEVEL = 'query($s: ID!) { student(id: $s) { skill(id: "basics") { pMastery } } }'


async def ok(gql: Any, query: str, variables: dict[str, Any] | None = None, **auth: Any) -> Any:
    body = await gql(query, variables, **auth)
    assert "errors" not in body, body
    return body["data"]


def goal_input(student: str, targets: list[Any], **extra: Any) -> dict[str, Any]:
    skills = [t if isinstance(t, dict) else {"skillId": t} for t in targets]
    return {
        "i": {
            "studentId": student,
            "description": extra.pop("description", "Learn it"),
            "targetSkills": skills,
            **extra,
        }
    }


async def create_goal(
    gql: Any, student: str, targets: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    auth = {k: extra.pop(k) for k in ("token", "api_key") if k in extra}
    body = await gql(CREATE, goal_input(student, targets or ["advanced"], **extra), **auth)
    assert "errors" not in body, body
    return body["data"]["createLearningGoal"]


async def goal(gql: Any, goal_id: str, **auth: Any) -> dict[str, Any]:
    return (await ok(gql, GOAL, {"g": goal_id}, **auth))["learningGoal"]


async def basics(gql: Any, student: str) -> float:
    return (await ok(gql, LEVEL, {"s": student}))["student"]["skill"]["pMastery"]


async def master_basics(gql: Any, c: dict[str, Any], student: str, tag: str = "m") -> int:
    """Score 100 on a1 (basics) until basics is mastered; returns the activities sent."""
    for n in range(1, 30):
        await ok(gql, ACTIVITY, activity(c["a1"], student, f"{tag}{n}", score=100))
        if await basics(gql, student) >= 0.95:
            return n
    raise AssertionError("basics never reached 0.95")


def lessons_of(path: dict[str, Any]) -> list[str]:
    return [s["lesson"]["id"] for s in path["steps"]]


async def receive(ws: Any, within: float = 10.0) -> dict[str, Any]:
    """The next protocol message, answering keep-alive pings on the way."""
    while True:
        message = await asyncio.wait_for(ws.receive_json(), within)
        if message["type"] == "ping":
            await ws.send_json({"type": "pong"})
        elif message["type"] != "pong":
            return message


async def subscribe(
    ws: Any, payload: dict[str, Any], query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """Open the connection and one subscription; returns its first message."""
    await ws.send_json({"type": "connection_init", "payload": payload})
    assert (await receive(ws))["type"] == "connection_ack"
    await ws.send_json(
        {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
    )
    return await receive(ws)


def refused_codes(message: dict[str, Any]) -> list[str]:
    """The error codes of a refused subscription (a `next` carrying the errors)."""
    assert message["type"] in ("next", "error"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    return [e["extensions"]["code"] for e in errors]


async def count_rows(runtime: Any, table: Any) -> int:
    async with runtime.engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(table))


# --- creation -----------------------------------------------------------------------


async def test_a_goal_is_created_with_version_1_of_its_path_in_prerequisite_order(gql):
    c = await course(gql)
    made = await create_goal(
        gql, "s-new", ["advanced"], weeklyMinutes=60, description="  Learn advanced  "
    )
    assert made["studentId"] == "s-new" and made["status"] == "ACTIVE"
    assert made["description"] == "Learn advanced"  # stripped
    assert made["weeklyMinutes"] == 60 and made["completedAt"] is None
    assert made["targetSkills"] == [{"skill": {"id": "advanced"}, "targetMastery": 0.95}]
    assert made["progress"] == 0.0
    assert made["gaps"] == [
        {
            "skill": {"id": "advanced"},
            "pMastery": 0.2,
            "targetMastery": 0.95,
            "blockedBy": [{"id": "basics"}],
        }
    ]
    assert made["initialSnapshot"] == [{"skill": {"id": "advanced"}, "pMastery": 0.2}]
    path = made["path"]
    assert (path["version"], path["active"], path["trigger"]) == (1, True, "INITIAL")
    assert path["diff"] is None and path["uncoveredSkills"] == []
    assert path["goal"] == {"id": made["id"]}
    assert lessons_of(path) == [c["a1"], c["b1"]]  # the prerequisite first
    first, second = path["steps"]
    assert [s["position"] for s in path["steps"]] == [1, 2]
    assert first["kind"] == "LEARN" and first["reasonCode"] == "PREREQUISITE"
    assert first["skills"] == [{"id": "basics"}] and first["leadsTo"] == [{"id": "advanced"}]
    assert second["reasonCode"] == "TARGET_SKILL" and second["skills"] == [{"id": "advanced"}]
    assert second["leadsTo"] == [{"id": "advanced"}]
    # reasons carry the numbers behind them
    assert "0.20" in first["reason"] and "0.95" in first["reason"] and "Advanced" in first["reason"]
    assert "0.20" in second["reason"] and "0.95" in second["reason"]
    assert all(s["status"] == "PENDING" for s in path["steps"])
    assert [s["estimatedMinutes"] for s in path["steps"]] == [5, 5]
    assert path["estimatedMinutes"] == 10
    assert re.search(r"\b2\b", path["reason"]) and "10" in path["reason"]
    assert path["estimatedCompletionDate"] is not None  # 10 minutes at 60 a week
    # the same goal read back, with its one version
    again = await goal(gql, made["id"])
    assert again["path"]["id"] == path["id"]
    assert [e["node"]["version"] for e in again["pathVersions"]["edges"]] == [1]


async def test_a_goal_without_a_plan_has_no_completion_date(gql):
    await course(gql)
    made = await create_goal(gql, "s-noplan", ["advanced"])
    assert made["weeklyMinutes"] is None
    assert made["path"]["estimatedCompletionDate"] is None


async def test_bad_goal_input_is_refused_with_the_field_and_nothing_stored(gql, runtime):
    await course(gql)
    cases = [
        ({"targetSkills": []}, "input.targetSkills"),
        (
            {"targetSkills": [{"skillId": f"k{n}"} for n in range(51)]},
            "input.targetSkills",
        ),
        (
            {"targetSkills": [{"skillId": "advanced", "targetMastery": 0}]},
            "input.targetSkills[0].targetMastery",
        ),
        (
            {"targetSkills": [{"skillId": "advanced", "targetMastery": 1.5}]},
            "input.targetSkills[0].targetMastery",
        ),
        (
            {"targetSkills": [{"skillId": "advanced", "targetMastery": -0.1}]},
            "input.targetSkills[0].targetMastery",
        ),
        ({"description": "   "}, "input.description"),
        ({"description": ""}, "input.description"),
        ({"description": "x" * 2001}, "input.description"),
        ({"weeklyMinutes": 0}, "input.weeklyMinutes"),
        ({"weeklyMinutes": -5}, "input.weeklyMinutes"),
        ({"weeklyMinutes": 7 * 24 * 60 + 1}, "input.weeklyMinutes"),
        ({"targetSkills": [{"skillId": "nope"}]}, "input.targetSkills[0].skillId"),
        (
            {"targetSkills": [{"skillId": "advanced"}, {"skillId": "nope"}]},
            "input.targetSkills[1].skillId",
        ),
        (
            {"targetSkills": [{"skillId": "advanced"}, {"skillId": "advanced"}]},
            "input.targetSkills[1].skillId",
        ),
    ]
    for change, field in cases:
        variables = goal_input("s-bad", ["advanced"])
        variables["i"].update(change)
        body = await gql(CREATE, variables)
        assert error_codes(body) == ["BAD_USER_INPUT"], (change, body)
        assert body["errors"][0]["extensions"]["field"] == field, (change, body)
    assert await count_rows(runtime, learning_goals) == 0
    assert await count_rows(runtime, learning_paths) == 0
    async with runtime.engine.connect() as conn:  # not even the student was made
        assert await conn.scalar(text("SELECT count(*) FROM students WHERE id = 's-bad'")) == 0


async def test_fifty_targets_and_boundary_masteries_are_accepted(gql):
    skills = ", ".join(f'{{id: "t{n}", name: "T{n}"}}' for n in range(50))
    await ok(gql, f"mutation {{ upsertSkills(skills: [{skills}]) {{ id }} }}")
    made = await create_goal(
        gql,
        "s-fifty",
        [{"skillId": f"t{n}", "targetMastery": 1.0 if n else 0.01} for n in range(50)],
        weeklyMinutes=7 * 24 * 60,
    )
    assert len(made["targetSkills"]) == 50
    assert made["targetSkills"][0] == {"skill": {"id": "t0"}, "targetMastery": 0.01}
    assert [t["skill"]["id"] for t in made["targetSkills"]] == [f"t{n}" for n in range(50)]


async def test_a_target_no_published_lesson_teaches_is_uncovered(gql):
    c = await course(gql)
    await ok(gql, 'mutation { upsertSkills(skills: [{id: "orphan", name: "Orphan"}]) { id } }')
    made = await create_goal(gql, "s-unc", ["orphan", "advanced"])
    path = made["path"]
    assert path["uncoveredSkills"] == [{"id": "orphan"}]
    assert lessons_of(path) == [c["a1"], c["b1"]]  # the covered ones still get steps
    # an unpublished lesson teaching it does not cover it
    draft = await ok(gql, 'mutation { createCourse(input: {title: "Draft"}) { id } }')
    module = await ok(
        gql,
        'mutation($c: ID!) { createModule(input: {courseId: $c, title: "M"}) { id } }',
        {"c": draft["createCourse"]["id"]},
    )
    await lesson(gql, module["createModule"]["id"], "hidden", skills=[{"skillId": "orphan"}])
    again = await ok(gql, RECOMPUTE, {"g": made["id"]})
    assert again["recomputeLearningPath"]["uncoveredSkills"] == [{"id": "orphan"}]


async def test_a_goal_already_reached_is_completed_at_creation(gql):
    await course(gql)
    made = await create_goal(gql, "s-done", [{"skillId": "basics", "targetMastery": 0.15}])
    assert made["status"] == "COMPLETED" and made["completedAt"] is not None
    assert made["progress"] == 1.0 and made["gaps"] == []
    assert made["path"]["version"] == 1 and made["path"]["steps"] == []
    assert "target" in made["path"]["reason"]
    listed = await ok(
        gql, '{ student(id: "s-done") { goals(status: COMPLETED) { edges { node { id } } } } }'
    )
    assert [e["node"]["id"] for e in listed["student"]["goals"]["edges"]] == [made["id"]]
    active = await ok(
        gql, '{ student(id: "s-done") { goals(status: ACTIVE) { edges { node { id } } } } }'
    )
    assert active["student"]["goals"]["edges"] == []


async def test_progress_is_the_share_of_targets_reached(gql):
    await course(gql)
    made = await create_goal(
        gql, "s-half", [{"skillId": "basics", "targetMastery": 0.9}, "advanced"]
    )
    assert made["progress"] == 0.0
    half = await create_goal(
        gql,
        "s-half2",
        [{"skillId": "basics", "targetMastery": 0.1}, {"skillId": "advanced"}],
    )
    assert half["progress"] == 0.5 and half["status"] == "ACTIVE"
    assert [g["skill"]["id"] for g in half["gaps"]] == ["advanced"]


# --- versions -----------------------------------------------------------------------


async def test_recomputing_an_unchanged_path_returns_the_same_version(gql, runtime):
    await course(gql)
    made = await create_goal(gql, "s-same", ["advanced"])
    for _ in range(2):
        again = (await ok(gql, RECOMPUTE, {"g": made["id"]}))["recomputeLearningPath"]
        assert again["id"] == made["path"]["id"]
        assert again["version"] == 1 and again["trigger"] == "INITIAL"
    assert await count_rows(runtime, learning_paths) == 1
    missing = await gql(RECOMPUTE, {"g": "goal-nope"})
    assert error_codes(missing) == ["NOT_FOUND"]


async def test_a_mastery_change_that_changes_the_steps_makes_version_2(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-v2"})
    made = await create_goal(gql, "s-v2", ["advanced"])
    v1 = made["path"]
    await master_basics(gql, c, "s-v2")
    assert await jobs.run() >= 1
    now = await goal(gql, made["id"])
    v2 = now["path"]
    assert v2["version"] == 2 and v2["active"] and v2["trigger"] == "MASTERY_CHANGED"
    assert v2["id"] != v1["id"]
    assert lessons_of(v2) == [c["b1"]] and v2["steps"][0]["position"] == 1
    assert v2["diff"]["removed"] and [s["lesson"]["id"] for s in v2["diff"]["removed"]] == [c["a1"]]
    assert v2["diff"]["removed"][0]["position"] == 1  # as it was
    assert v2["diff"]["added"] == [] and v2["diff"]["moved"] == []
    assert "1 removed" in v2["reason"]
    assert v2["estimatedMinutes"] == 5
    # basics is no longer a blocker
    assert now["gaps"][0]["blockedBy"] == []
    # newest first, the old version still readable and inactive
    versions = [e["node"] for e in now["pathVersions"]["edges"]]
    assert [(v["version"], v["active"]) for v in versions] == [(2, True), (1, False)]
    old = (await ok(gql, PATH_BY_ID, {"p": v1["id"]}))["learningPath"]
    assert (old["version"], old["active"], old["trigger"]) == (1, False, "INITIAL")
    assert lessons_of(old) == [c["a1"], c["b1"]]
    # nothing new to do: recompute changes nothing
    again = (await ok(gql, RECOMPUTE, {"g": made["id"]}))["recomputeLearningPath"]
    assert again["id"] == v2["id"] and again["version"] == 2


async def test_path_versions_page_newest_first(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-pages"})
    made = await create_goal(gql, "s-pages", ["advanced"])
    await master_basics(gql, c, "s-pages")
    await jobs.run()
    # a third version: a new target (goal change)
    await ok(gql, UPDATE, {"i": {"id": made["id"], "targetSkills": [{"skillId": "basics"}]}})
    page = (await ok(gql, VERSIONS, {"g": made["id"], "first": 2, "after": None}))["learningGoal"]
    first = page["pathVersions"]
    assert [e["node"]["version"] for e in first["edges"]] == [3, 2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (
        await ok(
            gql, VERSIONS, {"g": made["id"], "first": 2, "after": first["pageInfo"]["endCursor"]}
        )
    )["learningGoal"]["pathVersions"]
    assert [e["node"]["version"] for e in rest["edges"]] == [1]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["active"] for e in first["edges"] + rest["edges"]] == [True, False, False]


async def test_a_step_status_is_read_live_from_lesson_progress(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-live"})
    made = await create_goal(gql, "s-live", ["advanced"])
    assert [s["status"] for s in made["path"]["steps"]] == ["PENDING", "PENDING"]
    # b1 started (no score, no mastery change) -> IN_PROGRESS, still version 1
    await ok(gql, ACTIVITY, activity(c["a1"], "s-live", "e1", completion=0.5))
    now = (await goal(gql, made["id"]))["path"]
    assert now["version"] == 1
    assert [s["status"] for s in now["steps"]] == ["IN_PROGRESS", "PENDING"]
    # a1 completed with a score too low to master basics: DONE, the path unchanged
    await ok(gql, ACTIVITY, activity(c["a1"], "s-live", "e2", score=70))
    assert await basics(gql, "s-live") < 0.95
    await jobs.run()
    now = (await goal(gql, made["id"]))["path"]
    by_lesson = {s["lesson"]["id"]: s for s in now["steps"]}
    assert by_lesson[c["a1"]]["status"] == "DONE"
    assert by_lesson[c["b1"]]["status"] == "PENDING"
    # the old version's steps show live status too
    old = (await ok(gql, PATH_BY_ID, {"p": made["path"]["id"]}))["learningPath"]
    assert old["steps"][0]["status"] == "DONE"


async def test_a_completed_lesson_whose_skill_is_still_low_is_remediation(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-rem"})
    made = await create_goal(gql, "s-rem", ["advanced"])
    await ok(gql, ACTIVITY, activity(c["a1"], "s-rem", "e1", score=60))
    await jobs.run()
    # the same steps (same version), the reason computed again only on a new version
    again = (await ok(gql, RECOMPUTE, {"g": made["id"]}))["recomputeLearningPath"]
    assert again["version"] == 1 and again["id"] == made["path"]["id"]


async def test_reaching_every_target_through_evidence_completes_the_goal(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-reach"})
    made = await create_goal(gql, "s-reach", [{"skillId": "basics", "targetMastery": 0.9}])
    assert made["status"] == "ACTIVE" and lessons_of(made["path"]) == [c["a1"]]
    await master_basics(gql, c, "s-reach")
    await jobs.run()
    now = await goal(gql, made["id"])
    assert now["status"] == "COMPLETED" and now["completedAt"] is not None
    assert now["progress"] == 1.0 and now["gaps"] == []
    assert now["path"]["version"] == 2 and now["path"]["steps"] == []
    assert "Every target skill is at its target mastery" in now["path"]["reason"]


# --- updates ------------------------------------------------------------------------


async def test_changing_the_targets_rebuilds_with_goal_changed(gql):
    c = await course(gql)
    made = await create_goal(gql, "s-upd", ["advanced"], weeklyMinutes=30)
    changed = (
        await ok(
            gql,
            UPDATE,
            {
                "i": {
                    "id": made["id"],
                    "targetSkills": [{"skillId": "basics", "targetMastery": 0.8}],
                    "description": "Only basics",
                }
            },
        )
    )["updateLearningGoal"]
    assert changed["description"] == "Only basics" and changed["weeklyMinutes"] == 30
    assert changed["targetSkills"] == [{"skill": {"id": "basics"}, "targetMastery": 0.8}]
    path = changed["path"]
    assert (path["version"], path["trigger"]) == (2, "GOAL_CHANGED")
    assert lessons_of(path) == [c["a1"]] and path["steps"][0]["reasonCode"] == "TARGET_SKILL"
    assert [s["lesson"]["id"] for s in path["diff"]["removed"]] == [c["b1"]]
    assert changed["updatedAt"] > made["updatedAt"]
    # the snapshot stays the one taken at creation
    assert changed["initialSnapshot"] == made["initialSnapshot"]
    # an edit that changes no step keeps the version
    same = (await ok(gql, UPDATE, {"i": {"id": made["id"], "weeklyMinutes": 90}}))[
        "updateLearningGoal"
    ]
    assert same["weeklyMinutes"] == 90 and same["path"]["id"] == path["id"]


async def test_update_refuses_completed_and_bad_values_and_accepts_paused(gql, runtime):
    await course(gql)
    made = await create_goal(gql, "s-st", ["advanced"])
    for change, field in (
        ({"status": "COMPLETED"}, "input.status"),
        ({"description": " "}, "input.description"),
        ({"weeklyMinutes": 0}, "input.weeklyMinutes"),
        ({"targetSkills": []}, "input.targetSkills"),
        ({"targetSkills": [{"skillId": "ghost"}]}, "input.targetSkills[0].skillId"),
    ):
        body = await gql(UPDATE, {"i": {"id": made["id"], **change}})
        assert error_codes(body) == ["BAD_USER_INPUT"], (change, body)
        assert body["errors"][0]["extensions"]["field"] == field
    unchanged = await goal(gql, made["id"])
    assert unchanged["status"] == "ACTIVE" and unchanged["targetSkills"] == made["targetSkills"]
    assert unchanged["description"] == made["description"]
    paused = (await ok(gql, UPDATE, {"i": {"id": made["id"], "status": "PAUSED"}}))[
        "updateLearningGoal"
    ]
    assert paused["status"] == "PAUSED"
    listed = await ok(
        gql, '{ student(id: "s-st") { goals(status: PAUSED) { edges { node { id } } } } }'
    )
    assert [e["node"]["id"] for e in listed["student"]["goals"]["edges"]] == [made["id"]]
    back = (await ok(gql, UPDATE, {"i": {"id": made["id"], "status": "ACTIVE"}}))[
        "updateLearningGoal"
    ]
    assert back["status"] == "ACTIVE"
    abandoned = (await ok(gql, UPDATE, {"i": {"id": made["id"], "status": "ABANDONED"}}))[
        "updateLearningGoal"
    ]
    assert abandoned["status"] == "ABANDONED"
    missing = await gql(UPDATE, {"i": {"id": "goal-nope", "status": "PAUSED"}})
    assert error_codes(missing) == ["NOT_FOUND"]


async def test_a_paused_goal_is_not_rebuilt(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-pause"})
    made = await create_goal(gql, "s-pause", ["advanced"])
    await ok(gql, UPDATE, {"i": {"id": made["id"], "status": "PAUSED"}})
    await master_basics(gql, c, "s-pause")
    await jobs.run()
    now = await goal(gql, made["id"])
    assert now["path"]["version"] == 1 and now["status"] == "PAUSED"


# --- content changes ----------------------------------------------------------------


async def test_a_new_lesson_teaching_a_target_makes_a_content_changed_version(gql, jobs):
    c = await course(gql)
    await ok(gql, 'mutation { upsertSkills(skills: [{id: "extra", name: "Extra"}]) { id } }')
    made = await create_goal(gql, "s-content", ["advanced", "extra"])
    assert made["path"]["uncoveredSkills"] == [{"id": "extra"}]
    assert await jobs.run() == 0  # creating a goal queues nothing: it was built at once
    new = await lesson(gql, c["modules"][1], "teaches extra", skills=[{"skillId": "extra"}])
    assert await jobs.run() == 1
    now = (await goal(gql, made["id"]))["path"]
    assert (now["version"], now["trigger"]) == (2, "CONTENT_CHANGED")
    assert "Course content changed" in now["reason"]
    # extra has no prerequisite: it is ready with basics, before advanced
    assert lessons_of(now) == [c["a1"], new, c["b1"]] and now["uncoveredSkills"] == []
    assert [s["lesson"]["id"] for s in now["diff"]["added"]] == [new]
    assert now["diff"]["removed"] == [] and now["diff"]["moved"] == []
    step = now["steps"][1]
    assert step["reasonCode"] == "TARGET_SKILL" and step["leadsTo"] == [{"id": "extra"}]


async def test_a_lesson_in_a_published_course_changes_a_path_through_the_job(gql, jobs):
    c = await course(gql)
    made = await create_goal(gql, "s-content2", ["basics"])
    assert lessons_of(made["path"]) == [c["a1"]]
    await jobs.run()
    # a lesson teaching basics only, and easier: tied on weight 1, lower difficulty wins
    easy = await lesson(
        gql, c["modules"][0], "easy basics", skills=[{"skillId": "basics"}], difficulty=1
    )
    await jobs.run()
    now = (await goal(gql, made["id"]))["path"]
    assert now["trigger"] == "CONTENT_CHANGED" and now["version"] == 2
    assert lessons_of(now) == [easy]


# --- coalescing ---------------------------------------------------------------------


async def test_a_burst_of_mastery_changes_queues_one_job_per_student(gql, jobs, runtime):
    c = await course(gql)
    for s in ("s-co1", "s-co2"):
        await ok(gql, ENROLL, {"c": c["id"], "s": s})
        await create_goal(gql, s, ["advanced"])
    await jobs.run()
    for n in range(4):
        await ok(gql, ACTIVITY, activity(c["a1"], "s-co1", f"a{n}", score=100))
    await ok(gql, ACTIVITY, activity(c["a1"], "s-co2", "b0", score=100))
    queued = await runtime.redis.zcard("learntwin:queue")
    assert queued == 2  # one per student, however many changes
    ran = await jobs.run()
    assert ran == 2
    assert await runtime.redis.zcard("learntwin:queue") == 0
    # the job saw the last state: four perfect scores master basics
    assert await basics(gql, "s-co1") >= 0.95
    path = (
        await ok(
            gql,
            '{ student(id: "s-co1") { goals { edges { node { path { version trigger'
            " steps { lesson { id } } } } } } } }",
        )
    )["student"]["goals"]["edges"][0]["node"]["path"]
    assert path["version"] == 2 and path["trigger"] == "MASTERY_CHANGED"
    assert [s["lesson"]["id"] for s in path["steps"]] == [c["b1"]]
    assert await jobs.run() == 0  # nothing left to do


# --- the subscription ---------------------------------------------------------------


async def test_learning_path_updated_sends_the_current_path_then_each_new_version(gql, app, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-sub"})
    made = await create_goal(gql, "s-sub", ["advanced"])
    query = (
        "subscription($g: ID!) { learningPathUpdated(goalId: $g) { id version trigger active"
        " steps { lesson { id } } } }"
    )
    async with ws_client(app) as http, ws_connect(http) as ws:
        first = await subscribe(ws, {"apiKey": ADMIN_KEY}, query, {"g": made["id"]})
        assert first["type"] == "next", first
        current = first["payload"]["data"]["learningPathUpdated"]
        assert current["id"] == made["path"]["id"] and current["version"] == 1
        await master_basics(gql, c, "s-sub")
        await jobs.run()
        pushed = await receive(ws)
        new = pushed["payload"]["data"]["learningPathUpdated"]
        assert new["version"] == 2 and new["trigger"] == "MASTERY_CHANGED" and new["active"]
        assert [s["lesson"]["id"] for s in new["steps"]] == [c["b1"]]
        # a goal edit (stored by the API, not the worker) is pushed too
        await ok(gql, UPDATE, {"i": {"id": made["id"], "targetSkills": [{"skillId": "basics"}]}})
        edited = await receive(ws)
        assert edited["payload"]["data"]["learningPathUpdated"]["version"] == 3


# --- enrolments serving a goal ------------------------------------------------------

ENROLL_GOAL = """mutation($c: ID!, $s: ID, $g: ID) { enroll(input: {courseId: $c, studentId: $s, goalId: $g}) {
  id studentId goal { id description } } }"""


async def test_an_enrolment_may_serve_a_goal_of_the_student(gql):
    c = await course(gql)
    mine = await create_goal(gql, "s-eg", ["advanced"])
    other = await create_goal(gql, "s-eg-other", ["advanced"])
    refused = await gql(ENROLL_GOAL, {"c": c["id"], "s": "s-eg", "g": other["id"]})
    assert error_codes(refused) == ["BAD_USER_INPUT"]
    assert refused["errors"][0]["extensions"]["field"] == "input.goalId"
    unknown = await gql(ENROLL_GOAL, {"c": c["id"], "s": "s-eg", "g": "goal-nope"})
    assert error_codes(unknown) == ["BAD_USER_INPUT"]
    plain = (await ok(gql, ENROLL_GOAL, {"c": c["id"], "s": "s-eg", "g": None}))["enroll"]
    assert plain["goal"] is None  # the refusals stored nothing
    linked = (await ok(gql, ENROLL_GOAL, {"c": c["id"], "s": "s-eg", "g": mine["id"]}))["enroll"]
    assert linked["id"] == plain["id"]
    assert linked["goal"] == {"id": mine["id"], "description": "Learn it"}
    # enrolling again without a goal keeps the link
    again = (await ok(gql, ENROLL_GOAL, {"c": c["id"], "s": "s-eg", "g": None}))["enroll"]
    assert again["goal"] == {"id": mine["id"], "description": "Learn it"}
    listed = await ok(
        gql, '{ student(id: "s-eg") { enrollments { edges { node { goal { id } } } } } }'
    )
    assert listed["student"]["enrollments"]["edges"] == [{"node": {"goal": {"id": mine["id"]}}}]


# --- access -------------------------------------------------------------------------


async def test_a_learner_sees_and_changes_only_its_own_goals_and_paths(gql, app):
    c = await course(gql)
    token = await learner_token(gql, "goals@example.org", "s-me")
    other = await learner_token(gql, "other@example.org", "s-them")
    mine = await create_goal(gql, "s-me", ["advanced"], token=token)
    assert mine["studentId"] == "s-me" and mine["path"]["version"] == 1
    assert lessons_of(mine["path"]) == [c["a1"], c["b1"]]
    # staff create for anyone
    theirs = await create_goal(gql, "s-them", ["advanced"])
    assert theirs["studentId"] == "s-them"
    # own reads work
    assert (await goal(gql, mine["id"], token=token))["id"] == mine["id"]
    own_path = await ok(gql, PATH_BY_ID, {"p": mine["path"]["id"]}, token=token)
    assert own_path["learningPath"]["id"] == mine["path"]["id"]
    # someone else's are FORBIDDEN
    for query, variables in (
        (GOAL, {"g": mine["id"]}),
        (PATH_BY_ID, {"p": mine["path"]["id"]}),
        (RECOMPUTE, {"g": mine["id"]}),
        (UPDATE, {"i": {"id": mine["id"], "status": "PAUSED"}}),
        (CREATE, goal_input("s-me", ["advanced"])),
        ('{ student(id: "s-me") { goals { edges { node { id } } } } }', None),
    ):
        body = await gql(query, variables, token=other)
        assert "FORBIDDEN" in error_codes(body), (query, body)
    assert (await goal(gql, mine["id"]))["status"] == "ACTIVE"  # the PAUSE was refused
    # anonymous callers see nothing
    anon = await gql(GOAL, {"g": mine["id"]}, api_key=None)
    assert error_codes(anon), anon
    # the subscription is refused for someone else's goal, allowed for one's own
    query = "subscription($g: ID!) { learningPathUpdated(goalId: $g) { id } }"
    async with ws_client(app) as http, ws_connect(http) as ws:
        refused = await subscribe(
            ws, {"authorization": f"Bearer {other}"}, query, {"g": mine["id"]}
        )
        assert refused_codes(refused) == ["FORBIDDEN"]
    async with ws_client(app) as http, ws_connect(http) as ws:
        first = await subscribe(ws, {"authorization": f"Bearer {token}"}, query, {"g": mine["id"]})
        assert first["type"] == "next" and "errors" not in first["payload"], first
        assert first["payload"]["data"]["learningPathUpdated"]["id"] == mine["path"]["id"]


async def test_nothing_is_stored_when_a_learner_creates_for_someone_else(gql, runtime):
    await course(gql)
    token = await learner_token(gql, "sneaky@example.org", "s-sneak")
    body = await gql(CREATE, goal_input("s-victim", ["advanced"]), token=token)
    assert error_codes(body) == ["FORBIDDEN"]
    assert await count_rows(runtime, learning_goals) == 0
    async with runtime.engine.connect() as conn:
        assert (await conn.scalar(text("SELECT count(*) FROM students WHERE id = 's-victim'"))) == 0


async def test_a_lesson_completed_without_mastery_is_a_pending_remediation_step(gql):
    """a1 completed at its minimum score, basics still low: the step to revisit it is
    pending (not DONE because the lesson was completed once), and it is what comes next."""
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-remedy"})
    await ok(gql, ACTIVITY, activity(c["a1"], "s-remedy", "r1", score=60))
    made = await create_goal(gql, "s-remedy", ["basics"])
    steps = made["path"]["steps"]
    assert [(s["lesson"]["id"], s["reasonCode"], s["status"]) for s in steps] == [
        (c["a1"], "REMEDIATION", "PENDING")
    ]
    recs = await ok(
        gql,
        'query { student(id: "s-remedy") { recommendations { edges { node { kind lesson { id } } } } } }',
    )
    kinds = [
        (e["node"]["kind"], e["node"]["lesson"])
        for e in recs["student"]["recommendations"]["edges"]
    ]
    assert ("NEXT_LESSON", {"id": c["a1"]}) in kinds
    # revisiting the lesson after the version was made: the step is done
    await ok(gql, ACTIVITY, activity(c["a1"], "s-remedy", "r2", score=62))
    again = await goal(gql, made["id"])
    assert again["path"]["steps"][0]["status"] == "DONE"
