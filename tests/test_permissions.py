"""Who may do what: the rules of `permissions`, and a table of every root field,
mutation and subscription with the roles allowed, checked role by role through the API.

A field the schema gains without a row here fails `test_every_root_field_has_a_rule`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx_ws import WebSocketDisconnect

from db import recommendations as recommendations_db
from db import tutor as tutor_db
from db.engine import asyncpg_connection
from learntwin_graphql import permissions
from learntwin_graphql.auth import ANONYMOUS, Principal, Role
from learntwin_graphql.errors import Forbidden, Unauthenticated
from learntwin_graphql.schema import schema
from tests.conftest import ADMIN_KEY, error_codes, learner_token, ws_client, ws_connect
from tests.test_analytics import ingest, record

ADMIN = Principal(role=Role.ADMIN, api_key_name="k")
INSTRUCTOR = Principal(role=Role.INSTRUCTOR, api_key_name="t")
LEARNER = Principal(role=Role.LEARNER, user_id=7, student_id="s-own")


# --- the rules themselves -------------------------------------------------------


def test_staff_and_admin_rules():
    for rule in (permissions.require_staff, permissions.require_admin):
        with pytest.raises(Unauthenticated):
            rule(ANONYMOUS)
        with pytest.raises(Forbidden):
            rule(LEARNER)
        assert rule(ADMIN) is ADMIN
    assert permissions.require_staff(INSTRUCTOR) is INSTRUCTOR
    with pytest.raises(Forbidden, match="ADMIN role"):
        permissions.require_admin(INSTRUCTOR)


def test_a_learner_reaches_only_its_student_and_its_tasks():
    assert permissions.require_student(LEARNER, "s-own") is LEARNER
    with pytest.raises(Forbidden):
        permissions.require_student(LEARNER, "s-other")
    assert permissions.require_student(INSTRUCTOR, "s-other") is INSTRUCTOR
    assert permissions.require_task_owner(LEARNER, {"owner_user_id": 7}) is LEARNER
    with pytest.raises(Forbidden):
        permissions.require_task_owner(LEARNER, {"owner_user_id": 8})
    with pytest.raises(Forbidden):  # a key-holding caller owns no user's tasks
        permissions.require_task_owner(Principal(role=Role.LEARNER), {"owner_user_id": None})
    assert permissions.require_task_owner(ADMIN, {"owner_user_id": 8}) is ADMIN


def test_the_student_a_request_acts_for():
    assert permissions.student_acted_for(LEARNER, None) == "s-own"
    assert permissions.student_acted_for(LEARNER, "s-own") == "s-own"
    with pytest.raises(Forbidden):
        permissions.student_acted_for(LEARNER, "s-other")
    assert permissions.student_acted_for(INSTRUCTOR, None) is None
    assert permissions.student_acted_for(INSTRUCTOR, "s-other") == "s-other"
    with pytest.raises(Unauthenticated):
        permissions.student_acted_for(ANONYMOUS, None)


# --- the table ------------------------------------------------------------------

EVERYONE = frozenset({"anonymous", "ADMIN", "INSTRUCTOR", "LEARNER"})
SIGNED_IN = frozenset({"ADMIN", "INSTRUCTOR", "LEARNER"})
STAFF = frozenset({"ADMIN", "INSTRUCTOR"})
ADMIN_ONLY = frozenset({"ADMIN"})
OWNER = frozenset({"LEARNER"})  # the learner whose session it is (staff read, never post)
NOBODY = frozenset()
FEATURES = {"comprehension": 50, "attention": 50, "focus": 50, "retention": 50}


@dataclass(frozen=True)
class Rule:
    field: str  # Query.x, Mutation.x or Subscription.x
    query: str
    allowed: frozenset[str]
    variables: dict[str, Any] = field(default_factory=dict)  # "$task", "$quiz" filled in


RULES = [
    Rule("Query.viewer", "{ viewer { role } }", EVERYONE),
    Rule("Query.class", '{ class(id: "c1") { id } }', STAFF),
    Rule("Query.classes", "{ classes { edges { cursor } } }", STAFF),
    Rule("Query.student", 'query { student(id: "s-own") { id } }', SIGNED_IN),
    Rule("Query.student", 'query { student(id: "s-other") { id } }', STAFF),
    Rule("Query.task", "query($t: ID!) { task(id: $t) { id } }", SIGNED_IN, {"t": "$own-task"}),
    Rule("Query.task", "query($t: ID!) { task(id: $t) { id } }", STAFF, {"t": "$staff-task"}),
    Rule("Query.quiz", "query($q: ID!) { quiz(id: $q) { id } }", SIGNED_IN, {"q": "$quiz"}),
    Rule("Query.predictionModel", "{ predictionModel { version } }", SIGNED_IN),
    Rule("Query.cacheStats", "{ cacheStats { hits } }", ADMIN_ONLY),
    Rule(
        "Mutation.register",
        'mutation($e: String!) { register(input: {email: $e, password: "0123456789"}) { token } }',
        EVERYONE,
        {"e": "$email"},
    ),
    Rule(
        "Mutation.login",
        'mutation { login(email: "own@example.org", password: "correct horse battery") { token } }',
        EVERYONE,
    ),
    Rule(
        "Mutation.createApiKey",
        'mutation { createApiKey(name: "k", role: INSTRUCTOR) { key } }',
        ADMIN_ONLY,
    ),
    Rule(
        "Mutation.linkStudent",
        'mutation($u: ID!) { linkStudent(userId: $u, studentId: "s-link") { id } }',
        STAFF,
        {"u": "$link-user"},
    ),
    Rule(
        "Mutation.ingestMetrics",
        "mutation($r: [MetricInput!]!) { ingestMetrics(records: $r) { accepted } }",
        STAFF,
        {"r": [record("c1", "s-own")]},
    ),
    Rule(
        "Mutation.predictScores",
        "mutation($s: [StudentFeaturesInput!]!) { predictScores(students: $s) { cacheHits } }",
        SIGNED_IN,
        {"s": [{**FEATURES, "engagementTime": 60, "studentId": "s-own"}]},
    ),
    Rule(
        "Mutation.predictScores",
        "mutation($s: [StudentFeaturesInput!]!) { predictScores(students: $s) { cacheHits } }",
        STAFF,
        {"s": [{**FEATURES, "engagementTime": 60, "studentId": "s-other"}]},
    ),
    Rule("Mutation.trainPredictionModel", "mutation { trainPredictionModel { id } }", ADMIN_ONLY),
    Rule(
        "Mutation.generateQuiz",
        'mutation { generateQuiz(input: {topic: "sql", studentId: "s-own"}) { id } }',
        SIGNED_IN,
    ),
    Rule(
        "Mutation.generateQuiz",
        'mutation { generateQuiz(input: {topic: "sql", studentId: "s-other"}) { id } }',
        STAFF,
    ),
    Rule(
        "Mutation.submitQuiz",
        'mutation($q: ID!) { submitQuiz(input: {quizId: $q, studentId: "s-own", answers: []}) { attempt { id } } }',
        SIGNED_IN,
        {"q": "$quiz"},
    ),
    Rule(
        "Mutation.submitQuiz",
        'mutation($q: ID!) { submitQuiz(input: {quizId: $q, studentId: "s-other", answers: []}) { attempt { id } } }',
        STAFF,
        {"q": "$quiz"},
    ),
    Rule("Mutation.clearPredictionCache", "mutation { clearPredictionCache }", ADMIN_ONLY),
    Rule("Query.skill", '{ skill(id: "perm-skill") { id name } }', SIGNED_IN),
    Rule("Query.skills", "{ skills { edges { cursor } } }", SIGNED_IN),
    Rule(
        "Mutation.upsertSkills",
        'mutation { upsertSkills(skills: [{id: "perm-skill", name: "P"}]) { id } }',
        STAFF,
    ),
    Rule(
        "Mutation.setKnowledgeTracing",
        'mutation { setKnowledgeTracing(input: {skillId: "perm-skill", prior: 0.3, learn: 0.1,'
        " guess: 0.2, slip: 0.1}) { id } }",
        STAFF,
    ),
    Rule("Query.course", "query($c: ID!) { course(id: $c) { id } }", SIGNED_IN, {"c": "$course"}),
    Rule("Query.courses", "{ courses { edges { cursor } } }", SIGNED_IN),
    Rule("Query.lesson", "query($l: ID!) { lesson(id: $l) { id } }", SIGNED_IN, {"l": "$lesson"}),
    Rule("Mutation.createCourse", 'mutation { createCourse(input: {title: "T"}) { id } }', STAFF),
    Rule(
        "Mutation.updateCourse",
        'mutation($c: ID!) { updateCourse(input: {id: $c, summary: "S"}) { id } }',
        STAFF,
        {"c": "$course"},
    ),
    Rule(
        "Mutation.createModule",
        'mutation($c: ID!) { createModule(input: {courseId: $c, title: "M"}) { id } }',
        STAFF,
        {"c": "$course"},
    ),
    Rule(
        "Mutation.createLesson",
        'mutation($m: ID!) { createLesson(input: {moduleId: $m, title: "L", estimatedMinutes: 5,'
        ' skills: [{skillId: "perm-skill"}]}) { id } }',
        STAFF,
        {"m": "$module"},
    ),
    Rule(
        "Mutation.updateLesson",
        'mutation($l: ID!) { updateLesson(input: {id: $l, title: "L2"}) { id } }',
        STAFF,
        {"l": "$lesson"},
    ),
    Rule(
        "Mutation.deleteLesson",
        "mutation($l: ID!) { deleteLesson(id: $l) }",
        STAFF,
        {"l": "$lesson-to-delete"},
    ),
    Rule(
        "Mutation.enroll",
        'mutation($c: ID!) { enroll(input: {courseId: $c, studentId: "s-own"}) { id } }',
        SIGNED_IN,
        {"c": "$course"},
    ),
    Rule(
        "Mutation.enroll",
        'mutation($c: ID!) { enroll(input: {courseId: $c, studentId: "s-other"}) { id } }',
        STAFF,
        {"c": "$course"},
    ),
    Rule(
        "Mutation.recordLessonActivity",
        "mutation($l: ID!, $e: String!) { recordLessonActivity(input: {lessonId: $l,"
        ' studentId: "s-own", eventId: $e}) { status } }',
        SIGNED_IN,
        {"l": "$lesson", "e": "$email"},
    ),
    Rule(
        "Mutation.recordLessonActivity",
        "mutation($l: ID!, $e: String!) { recordLessonActivity(input: {lessonId: $l,"
        ' studentId: "s-other", eventId: $e}) { status } }',
        STAFF,
        {"l": "$lesson", "e": "$email"},
    ),
    Rule(
        "Mutation.dropEnrollment",
        "mutation($e: ID!) { dropEnrollment(id: $e) { status } }",
        SIGNED_IN,
        {"e": "$own-enrollment"},
    ),
    Rule(
        "Mutation.dropEnrollment",
        "mutation($e: ID!) { dropEnrollment(id: $e) { status } }",
        STAFF,
        {"e": "$other-enrollment"},
    ),
    Rule(
        "Mutation.setStudentTimezone",
        'mutation { setStudentTimezone(studentId: "s-own", timezone: "Europe/Paris") { timezone } }',
        SIGNED_IN,
    ),
    Rule(
        "Mutation.setStudentTimezone",
        'mutation { setStudentTimezone(studentId: "s-other", timezone: "Asia/Tokyo") { timezone } }',
        STAFF,
    ),
    Rule(
        "Subscription.skillLevelUpdated",
        'subscription { skillLevelUpdated(studentId: "s-own", skillId: "perm-skill") { pMastery } }',
        SIGNED_IN,
    ),
    Rule(
        "Subscription.skillLevelUpdated",
        'subscription { skillLevelUpdated(studentId: "s-other", skillId: "perm-skill") { pMastery } }',
        STAFF,
    ),
    Rule(
        "Subscription.classMastery",
        'subscription { classMastery(classId: "c1") { population } }',
        STAFF,
    ),
    Rule(
        "Subscription.task",
        "subscription($t: ID!) { task(id: $t) { status } }",
        SIGNED_IN,
        {"t": "$own-task"},
    ),
    Rule(
        "Subscription.task",
        "subscription($t: ID!) { task(id: $t) { status } }",
        STAFF,
        {"t": "$staff-task"},
    ),
    Rule(
        "Subscription.profileUpdated",
        'subscription { profileUpdated(studentId: "s-own") { level } }',
        SIGNED_IN,
    ),
    Rule(
        "Subscription.profileUpdated",
        'subscription { profileUpdated(studentId: "s-other") { level } }',
        STAFF,
    ),
    Rule(
        "Query.learningGoal",
        "query($g: ID!) { learningGoal(id: $g) { id path { id } } }",
        SIGNED_IN,
        {"g": "$own-goal"},
    ),
    Rule(
        "Query.learningGoal",
        "query($g: ID!) { learningGoal(id: $g) { id } }",
        STAFF,
        {"g": "$other-goal"},
    ),
    Rule(
        "Query.learningPath",
        "query($p: ID!) { learningPath(id: $p) { id } }",
        SIGNED_IN,
        {"p": "$own-path"},
    ),
    Rule(
        "Query.learningPath",
        "query($p: ID!) { learningPath(id: $p) { id } }",
        STAFF,
        {"p": "$other-path"},
    ),
    Rule(
        "Query.recommendation",
        "query($r: ID!) { recommendation(id: $r) { id } }",
        SIGNED_IN,
        {"r": "$own-rec"},
    ),
    Rule(
        "Query.recommendation",
        "query($r: ID!) { recommendation(id: $r) { id } }",
        STAFF,
        {"r": "$other-rec"},
    ),
    Rule(
        "Mutation.respondToRecommendation",
        "mutation($r: ID!) { respondToRecommendation(input: {id: $r, response: SKIPPED}) { id } }",
        OWNER,
        {"r": "$own-answer"},  # one per role (an answer is given once), before any recompute
    ),
    Rule(
        "Mutation.respondToRecommendation",
        "mutation($r: ID!) { respondToRecommendation(input: {id: $r, response: SKIPPED}) { id } }",
        NOBODY,
        {"r": "$other-answer"},
    ),
    Rule(
        "Mutation.createLearningGoal",
        'mutation { createLearningGoal(input: {studentId: "s-own", description: "G",'
        ' targetSkills: [{skillId: "perm-skill"}]}) { id } }',
        SIGNED_IN,
    ),
    Rule(
        "Mutation.createLearningGoal",
        'mutation { createLearningGoal(input: {studentId: "s-other", description: "G",'
        ' targetSkills: [{skillId: "perm-skill"}]}) { id } }',
        STAFF,
    ),
    Rule(
        "Mutation.updateLearningGoal",
        'mutation($g: ID!) { updateLearningGoal(input: {id: $g, description: "New"}) { id } }',
        SIGNED_IN,
        {"g": "$own-goal"},
    ),
    Rule(
        "Mutation.updateLearningGoal",
        'mutation($g: ID!) { updateLearningGoal(input: {id: $g, description: "New"}) { id } }',
        STAFF,
        {"g": "$other-goal"},
    ),
    Rule(
        "Mutation.recomputeLearningPath",
        "mutation($g: ID!) { recomputeLearningPath(goalId: $g) { id } }",
        SIGNED_IN,
        {"g": "$own-goal"},
    ),
    Rule(
        "Mutation.recomputeLearningPath",
        "mutation($g: ID!) { recomputeLearningPath(goalId: $g) { id } }",
        STAFF,
        {"g": "$other-goal"},
    ),
    Rule(
        "Subscription.learningPathUpdated",
        "subscription($g: ID!) { learningPathUpdated(goalId: $g) { id } }",
        SIGNED_IN,
        {"g": "$own-goal"},
    ),
    Rule(
        "Subscription.learningPathUpdated",
        "subscription($g: ID!) { learningPathUpdated(goalId: $g) { id } }",
        STAFF,
        {"g": "$other-goal"},
    ),
    Rule(
        "Subscription.recommendationUpdated",
        'subscription { recommendationUpdated(studentId: "s-own") { id } }',
        SIGNED_IN,
    ),
    Rule(
        "Subscription.recommendationUpdated",
        'subscription { recommendationUpdated(studentId: "s-other") { id } }',
        STAFF,
    ),
    Rule(
        "Query.chatSession",
        "query($c: ID!) { chatSession(id: $c) { id messages { edges { cursor } } } }",
        SIGNED_IN,
        {"c": "$own-chat"},
    ),
    Rule(
        "Query.chatSession",
        "query($c: ID!) { chatSession(id: $c) { id } }",
        STAFF,
        {"c": "$other-chat"},
    ),
    Rule(
        "Query.chatMessage",
        "query($m: ID!) { chatMessage(id: $m) { id } }",
        SIGNED_IN,
        {"m": "$own-reply"},
    ),
    Rule(
        "Query.chatMessage",
        "query($m: ID!) { chatMessage(id: $m) { id } }",
        STAFF,
        {"m": "$other-reply"},
    ),
    Rule(
        "Mutation.startChatSession",
        'mutation { startChatSession(input: {studentId: "s-own"}) { id } }',
        SIGNED_IN,
    ),
    Rule(
        "Mutation.startChatSession",
        'mutation { startChatSession(input: {studentId: "s-other"}) { id } }',
        STAFF,
    ),
    Rule(
        "Mutation.updateChatSession",
        'mutation($c: ID!) { updateChatSession(input: {id: $c, title: "T"}) { id } }',
        OWNER,
        {"c": "$own-chat"},
    ),
    Rule(
        "Mutation.updateChatSession",
        'mutation($c: ID!) { updateChatSession(input: {id: $c, title: "T"}) { id } }',
        NOBODY,
        {"c": "$other-chat"},
    ),
    Rule(
        "Mutation.sendTutorMessage",
        'mutation($c: ID!, $k: String!) { sendTutorMessage(input: {sessionId: $c, content: "Hi",'
        " clientMessageId: $k}) { reply { id } } }",
        OWNER,
        {"c": "$own-chat", "k": "$email"},
    ),
    Rule(
        "Mutation.sendTutorMessage",
        'mutation($c: ID!) { sendTutorMessage(input: {sessionId: $c, content: "Hi",'
        ' clientMessageId: "k"}) { reply { id } } }',
        NOBODY,
        {"c": "$other-chat"},
    ),
    Rule(
        "Mutation.cancelTutorReply",
        "mutation($m: ID!) { cancelTutorReply(messageId: $m) { id } }",
        OWNER,
        {"m": "$own-reply"},
    ),
    Rule(
        "Mutation.cancelTutorReply",
        "mutation($m: ID!) { cancelTutorReply(messageId: $m) { id } }",
        NOBODY,
        {"m": "$other-reply"},
    ),
    Rule(
        "Mutation.deleteChatSession",
        "mutation($c: ID!) { deleteChatSession(id: $c) }",
        OWNER,
        {"c": "$own-chat-to-delete"},
    ),
    Rule(
        "Mutation.deleteChatSession",
        "mutation($c: ID!) { deleteChatSession(id: $c) }",
        NOBODY,
        {"c": "$other-chat"},
    ),
    Rule(
        "Subscription.tutorReply",
        "subscription($m: ID!) { tutorReply(messageId: $m) { seq } }",
        SIGNED_IN,
        {"m": "$own-reply"},
    ),
    Rule(
        "Subscription.tutorReply",
        "subscription($m: ID!) { tutorReply(messageId: $m) { seq } }",
        STAFF,
        {"m": "$other-reply"},
    ),
]


def test_every_root_field_has_a_rule():
    graphql = schema._schema
    roots = {
        f"{root.name}.{name}"
        for root in (graphql.query_type, graphql.mutation_type, graphql.subscription_type)
        for name in root.fields
    }
    assert roots == {rule.field for rule in RULES}


async def _seed(gql: Any, jobs: Any) -> dict[str, str]:
    """Data every rule can run against, and the learner's credentials."""
    await ingest(gql, [record("c1", "s-own"), record("c1", "s-other"), record("c2", "s-link")])
    await gql('mutation { upsertSkills(skills: [{id: "perm-skill", name: "P"}]) { id } }')
    token = await learner_token(gql, "own@example.org", "s-own")
    own = await gql('mutation { generateQuiz(input: {topic: "sql"}) { id } }', token=token)
    staff = await gql('mutation { generateQuiz(input: {topic: "sql"}) { id } }')
    await jobs.run()
    quiz = await gql(
        "query($t: ID!) { task(id: $t) { result { ... on Quiz { id } } } }",
        {"t": staff["data"]["generateQuiz"]["id"]},
    )
    link = await gql(
        'mutation { register(input: {email: "link@example.org", password: "0123456789"}) { user { id } } }',
        api_key=None,
    )
    course = await gql('mutation { createCourse(input: {title: "Perm"}) { id } }')
    course_id = course["data"]["createCourse"]["id"]
    await gql(
        "mutation($c: ID!) { updateCourse(input: {id: $c, published: true}) { id } }",
        {"c": course_id},
    )
    module = await gql(
        'mutation($c: ID!) { createModule(input: {courseId: $c, title: "M"}) { id } }',
        {"c": course_id},
    )
    module_id = module["data"]["createModule"]["id"]
    lessons = [
        await gql(
            'mutation($m: ID!) { createLesson(input: {moduleId: $m, title: "L", estimatedMinutes: 5,'
            ' skills: [{skillId: "perm-skill"}]}) { id } }',
            {"m": module_id},
        )
        for _ in range(2)
    ]
    enrolled = {}
    for student in ("s-own", "s-other"):
        made = await gql(
            "mutation($c: ID!, $s: ID!) { enroll(input: {courseId: $c, studentId: $s}) { id } }",
            {"c": course_id, "s": student},
        )
        enrolled[student] = made["data"]["enroll"]["id"]
    seeded = await _seed_plans(gql, jobs)
    chats = await _seed_chats(gql, jobs, token)
    return {
        **seeded,
        **chats,
        "$own-enrollment": enrolled["s-own"],
        "$other-enrollment": enrolled["s-other"],
        "$course": course_id,
        "$module": module_id,
        "$lesson": lessons[0]["data"]["createLesson"]["id"],
        "$lesson-to-delete": lessons[1]["data"]["createLesson"]["id"],
        "token": token,
        "$own-task": own["data"]["generateQuiz"]["id"],
        "$staff-task": staff["data"]["generateQuiz"]["id"],
        "$quiz": quiz["data"]["task"]["result"]["id"],
        "$link-user": link["data"]["register"]["user"]["id"],
    }


async def _seed_plans(gql: Any, jobs: Any) -> dict[str, str]:
    """A goal (with its path and a NEXT_LESSON) for each student, and one open
    recommendation per role and student to answer (an answer is given once)."""
    found: dict[str, str] = {}
    for student, name in (("s-own", "own"), ("s-other", "other")):
        made = await gql(
            'mutation($s: ID!) { createLearningGoal(input: {studentId: $s, description: "G",'
            ' targetSkills: [{skillId: "perm-skill"}]}) { id path { id } } }',
            {"s": student},
        )
        goal = made["data"]["createLearningGoal"]
        found[f"${name}-goal"] = goal["id"]
        found[f"${name}-path"] = goal["path"]["id"]
        recs = await gql(
            "query($s: ID!) { student(id: $s) { recommendations { edges { node { id } } } } }",
            {"s": student},
        )
        found[f"${name}-rec"] = recs["data"]["student"]["recommendations"]["edges"][0]["node"]["id"]
        async with jobs.runtime.engine.begin() as conn:
            raw = await asyncpg_connection(conn)
            rows = await recommendations_db.insert(
                raw,
                student,
                [
                    {
                        "kind": "BREAK",
                        "target": f"BREAK:{role}",
                        "lesson_id": None,
                        "skill_id": None,
                        "goal_id": None,
                        "difficulty": None,
                        "reason": "Take a break.",
                        "evidence": {},
                        "priority": "LOW",
                        "confidence": 0.5,
                        "expires_at": datetime.now(UTC) + timedelta(days=7),
                    }
                    for role in sorted(EVERYONE)
                ],
            )
        for role, row in zip(sorted(EVERYONE), rows, strict=True):
            found[f"${name}-answer:{role}"] = row["id"]
    return found


async def _seed_chats(gql: Any, jobs: Any, token: str) -> dict[str, str]:
    """A session of each student with a message and its reply, and one more of the
    learner's to delete."""
    start = "mutation($s: ID!) { startChatSession(input: {studentId: $s}) { id } }"
    found: dict[str, str] = {}
    for key in ("$own-chat", "$own-chat-to-delete"):
        made = await gql(start, {"s": "s-own"}, token=token)
        found[key] = made["data"]["startChatSession"]["id"]
    sent = await gql(
        'mutation($c: ID!) { sendTutorMessage(input: {sessionId: $c, content: "Why?",'
        ' clientMessageId: "seed"}) { reply { id } } }',
        {"c": found["$own-chat"]},
        token=token,
    )
    found["$own-reply"] = sent["data"]["sendTutorMessage"]["reply"]["id"]
    other = await gql(start, {"s": "s-other"})
    found["$other-chat"] = other["data"]["startChatSession"]["id"]
    session = (await tutor_db.sessions_by_id(jobs.runtime.engine, [found["$other-chat"]]))[
        found["$other-chat"]
    ]
    async with jobs.runtime.engine.begin() as conn:
        _, reply = await tutor_db.insert_pair(
            await asyncpg_connection(conn),
            session,
            "Why?",
            "seed",
            {
                "content": "Because.",
                "status": "COMPLETE",
                "source": "FALLBACK",
                "guardrails": [],
                "completed": True,
            },
        )
    found["$other-reply"] = reply["id"]
    return found


def _filled(rule: Rule, seeded: dict[str, str], role: str) -> dict[str, Any]:
    values = {"$email": f"new-{role.lower()}-{len(rule.query)}@example.org", **seeded}
    return {
        k: values.get(f"{v}:{role}", values.get(v, v)) if isinstance(v, str) else v
        for k, v in rule.variables.items()
    }


def _credentials(role: str, seeded: dict[str, str], keys: dict[str, str]) -> dict[str, Any]:
    if role == "LEARNER":
        return {"token": seeded["token"]}
    return {"api_key": keys.get(role)}


async def test_each_role_gets_exactly_what_its_rule_allows(app, gql, jobs, score_model):
    seeded = await _seed(gql, jobs)
    made = await gql('mutation { createApiKey(name: "teacher", role: INSTRUCTOR) { key } }')
    keys = {"ADMIN": ADMIN_KEY, "INSTRUCTOR": made["data"]["createApiKey"]["key"]}
    refusals = {"UNAUTHENTICATED", "FORBIDDEN"}
    wrong = []
    for rule in RULES:
        for role in sorted(EVERYONE):
            variables = _filled(rule, seeded, role)
            if rule.field.startswith("Subscription."):
                codes = await _subscribe(app, rule.query, variables, role, seeded, keys)
            else:
                body = await gql(rule.query, variables, **_credentials(role, seeded, keys))
                codes = set(error_codes(body))
            refused = bool(codes & refusals)
            if refused == (role in rule.allowed) or (not refused and codes):
                wrong.append((rule.field, rule.variables, role, sorted(codes)))
    assert not wrong, wrong


async def _subscribe(
    app: Any,
    query: str,
    variables: dict[str, Any],
    role: str,
    seeded: dict[str, str],
    keys: dict[str, str],
) -> set[str]:
    """The error codes a subscription start gets (none when it runs)."""
    if role == "anonymous":
        payload: dict[str, Any] = {}
    elif role == "LEARNER":
        payload = {"authorization": f"Bearer {seeded['token']}"}
    else:
        payload = {"apiKey": keys[role]}
    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": payload})
        try:
            await ws.receive_json(timeout=5)  # the ack
        except WebSocketDisconnect:
            return {"UNAUTHENTICATED"}  # no credentials: the socket is refused (4403)
        message = {"query": query, "variables": variables}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": message})
        try:
            answer = await ws.receive_json(timeout=1.0)
        except TimeoutError:
            return set()  # running, with nothing to send yet (profileUpdated)
        if answer["type"] == "error":
            return {e.get("extensions", {}).get("code") for e in answer["payload"]}
        errors = answer.get("payload", {}).get("errors") or []
        return {e.get("extensions", {}).get("code") for e in errors}
