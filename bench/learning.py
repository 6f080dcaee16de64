"""Courses and the learner model: a course tree read with availability and progress,
lesson activity with mastery updates, and quiz submission with BKT + FSRS.

    python bench/learning.py --url http://127.0.0.1:8000 --api-key devkey
        --database-url postgresql://postgres@127.0.0.1:5432/DB [--seconds 10] [--clients 4]

Fixture (made through the API each run, under fresh ids): 20 skills in a chain, a
published course of 10 modules x 20 lessons (one skill each, MIN_SCORE 70, no lesson
prerequisites) and a small one of 2 x 10, 400 enrolled students.

- `course_tree`: one client reads `course { modules { lessons { availability(studentId)
  { status } progress(studentId) { status completion } skills { skill { id } } } } }` for
  one student, for --seconds; p50 and p95. Target p50 <= 15 ms.
- `statements`: the same read of both courses through the ASGI app in this process on
  --database-url (SQLAlchemy's statement events count SQL statements, the asyncpg reads
  included); the two counts must be equal.
- `lesson_activity`: --clients closed loops of `recordLessonActivity` with a score (a
  LESSON_SCORE mastery update each), every event a new student/lesson pair; events/s.
  Target >= 1,500 events/s with 4 clients.
- `submit_quiz`: `submitQuiz` of a 20-question quiz (every answer a mastery update),
  one client, for --seconds; p50. Target <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import sys
import time
from typing import Any

import orjson
from common import AsyncKeepAlive, emit, parser, progress, summary_ms

TARGETS = {"course_tree_p50_ms": 15.0, "lesson_events_per_s": 1500.0, "submit_quiz_p50_ms": 20.0}
TREE = """query($c: ID!, $s: ID!) { course(id: $c) { id modules { id lessons { id title
  availability(studentId: $s) { status } progress(studentId: $s) { status completion }
  skills { skill { id } weight } } } } }"""
ACTIVITY = (
    """mutation($i: LessonActivityInput!) { recordLessonActivity(input: $i) { status score } }"""
)
SUBMIT = """mutation($i: SubmitQuizInput!) { submitQuiz(input: $i) { attempt { score } } }"""


class Api:
    def __init__(self, args: argparse.Namespace) -> None:
        self.connection = AsyncKeepAlive(args)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = orjson.dumps({"query": query, "variables": variables or {}})
        try:
            status, content = await self.connection.post("/graphql", body)
        except (asyncio.IncompleteReadError, ConnectionError):
            # The server closed an idle keep-alive connection: once more on a new one.
            await self.connection.connect()
            status, content = await self.connection.post("/graphql", body)
        body = orjson.loads(content)
        if status != 200 or body.get("errors"):
            raise SystemExit(f"{query[:60]}…: HTTP {status} {str(body)[:500]}")
        return body["data"]


async def course(
    api: Api, tag: str, modules: int, lessons: int, skills: list[str]
) -> tuple[str, list[str]]:
    made = await api(
        "mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }",
        {"i": {"title": f"Bench {tag} {modules}x{lessons}"}},
    )
    course_id = made["createCourse"]["id"]
    lesson_ids = []
    for m in range(modules):
        module = await api(
            "mutation($i: ModuleInput!) { createModule(input: $i) { id } }",
            {"i": {"courseId": course_id, "title": f"M{m}"}},
        )
        for n in range(lessons):
            skill = skills[(m * lessons + n) % len(skills)]
            lesson = await api(
                "mutation($i: LessonInput!) { createLesson(input: $i) { id } }",
                {
                    "i": {
                        "moduleId": module["createModule"]["id"],
                        "title": f"L{m}.{n}",
                        "estimatedMinutes": 10,
                        "skills": [{"skillId": skill}],
                        "completion": {"rule": "MIN_SCORE", "minScore": 70},
                    }
                },
            )
            lesson_ids.append(lesson["createLesson"]["id"])
    await api(
        "mutation($i: UpdateCourseInput!) { updateCourse(input: $i) { id } }",
        {"i": {"id": course_id, "published": True}},
    )
    return course_id, lesson_ids


async def timed(seconds: float, call: Any) -> list[float]:
    latencies = []
    ends = time.perf_counter() + seconds
    while (began := time.perf_counter()) < ends:
        await call()
        latencies.append(time.perf_counter() - began)
    return latencies


async def count_statements(
    database_url: str, queries: list[tuple[str, dict[str, Any]]]
) -> list[int]:
    """SQL statements of each read, through the ASGI app in this process."""
    import httpx
    from sqlalchemy import event

    from learntwin_graphql.app import create_app
    from learntwin_graphql.config import Settings
    from learntwin_graphql.runtime import Runtime

    settings = Settings(database_url=database_url, redis_url=os.environ.get("REDIS_URL"))
    runtime = await Runtime.start(settings, run_migrations=False)
    counts = []
    try:
        app = create_app(runtime=runtime)
        key = settings.admin_api_key or "devkey"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://bench"
        ) as http:
            for query, variables in queries:
                seen = 0

                def count(*_args: Any) -> None:
                    nonlocal seen
                    seen += 1

                event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
                try:
                    answer = await http.post(
                        "/graphql",
                        json={"query": query, "variables": variables},
                        headers={"X-API-Key": key},
                    )
                finally:
                    event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
                if answer.status_code != 200 or answer.json().get("errors"):
                    raise SystemExit(f"in-process read failed: {answer.text[:300]}")
                counts.append(seen)
    finally:
        await runtime.close()
    return counts


async def main(args: argparse.Namespace) -> None:
    api = Api(args)
    tag = secrets.token_hex(3)
    skills = [f"bench-{tag}-s{n}" for n in range(20)]
    await api(
        "mutation($s: [SkillInput!]!) { upsertSkills(skills: $s) { id } }",
        {
            "s": [
                {"id": s, "name": s, "prerequisiteIds": skills[max(0, n - 1) : n]}
                for n, s in enumerate(skills)
            ]
        },
    )
    progress("building a 10x20 course and a 2x10 one")
    big, big_lessons = await course(api, tag, 10, 20, skills)
    small, _ = await course(api, tag, 2, 10, skills)
    students = [f"bench-{tag}-st{n}" for n in range(400)]
    for student in students:
        await api(
            "mutation($i: EnrollInput!) { enroll(input: $i) { id } }",
            {"i": {"courseId": big, "studentId": student}},
        )
        await api(
            "mutation($i: EnrollInput!) { enroll(input: $i) { id } }",
            {"i": {"courseId": small, "studentId": student}},
        )
    reader = students[0]
    for lesson in big_lessons[:30]:  # some progress to read
        await api(
            ACTIVITY,
            {"i": {"lessonId": lesson, "studentId": reader, "eventId": f"r-{lesson}", "score": 80}},
        )

    progress("course tree reads")
    tree = await timed(args.seconds, lambda: api(TREE, {"c": big, "s": reader}))
    counts = await count_statements(
        args.database_url, [(TREE, {"c": small, "s": reader}), (TREE, {"c": big, "s": reader})]
    )

    progress(f"lesson activity, {args.clients} clients")
    pairs = iter(itertools.product(students[1:], big_lessons))
    clients = [Api(args) for _ in range(args.clients)]
    done = 0

    async def loop(client: Api, ends: float) -> None:
        nonlocal done
        while time.perf_counter() < ends:
            student, lesson = next(pairs)
            await client(
                ACTIVITY,
                {
                    "i": {
                        "lessonId": lesson,
                        "studentId": student,
                        "eventId": f"a-{lesson}",
                        "score": 65 + done % 30,
                        "activeSeconds": 30,
                    }
                },
            )
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(loop(c, began + args.seconds) for c in clients))
    events_per_s = done / (time.perf_counter() - began)

    progress("quiz submissions")
    task = await api('mutation { generateQuiz(input: {topic: "bench", questionCount: 20}) { id } }')
    quiz_id = None
    for _ in range(300):
        state = await api(
            "query($t: ID!) { task(id: $t) { status result { ... on Quiz { id questions { id } } } } }",
            {"t": task["generateQuiz"]["id"]},
        )
        if state["task"]["status"] in ("SUCCEEDED", "FAILED"):
            quiz_id = state["task"]["result"]["id"]
            questions = [q["id"] for q in state["task"]["result"]["questions"]]
            break
        await asyncio.sleep(0.1)
    if quiz_id is None:
        raise SystemExit("the quiz task did not finish: is a worker running?")
    answers = [{"questionId": q, "values": ["True"]} for q in questions]
    submitters = itertools.cycle(students)
    submit = await timed(
        args.seconds,
        lambda: api(
            SUBMIT, {"i": {"quizId": quiz_id, "studentId": next(submitters), "answers": answers}}
        ),
    )
    tree_ms, submit_ms = summary_ms(tree), summary_ms(submit)
    meets = {
        "course_tree_p50": (tree_ms["p50_ms"] or 1e9) <= TARGETS["course_tree_p50_ms"],
        "statements_constant": counts[0] == counts[1],
        "lesson_events_per_s": events_per_s >= TARGETS["lesson_events_per_s"],
        "submit_quiz_p50": (submit_ms["p50_ms"] or 1e9) <= TARGETS["submit_quiz_p50_ms"],
    }
    emit(
        {
            "bench": "learning",
            "url": args.url,
            "course_tree": {"lessons": len(big_lessons), **tree_ms},
            "statements": {"lessons_20": counts[0], "lessons_200": counts[1]},
            "lesson_activity": {
                "clients": args.clients,
                "events": done,
                "events_per_s": round(events_per_s, 1),
            },
            "submit_quiz": {"answers": len(answers), **submit_ms},
            "targets": TARGETS,
            "meets_target": meets,
            "meets_all_targets": all(meets.values()),
        }
    )


if __name__ == "__main__":
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    arguments = p.parse_args()
    if not arguments.database_url:
        sys.exit("--database-url (or DATABASE_URL): the served database, for the statement count")
    asyncio.run(main(arguments))
