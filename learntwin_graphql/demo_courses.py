"""Demo courses for `learntwin serve --demo`: a skill graph of 15 skills, two published
courses built on it, and a few students with lesson history, so GraphiQL shows levels,
availability and progress at once. Written through the services, as staff would."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from learntwin_graphql.auth import Principal, Role
from learntwin_graphql.errors import BadUserInput, NotFound
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import courses, goals, progress, skills
from learntwin_graphql.services.course_checks import (
    CompletionWrite,
    CourseWrite,
    LessonWrite,
    ModuleWrite,
    PrerequisiteWrite,
    SkillWeight,
)

STAFF = Principal(role=Role.ADMIN, api_key_name="demo")

# id: (name, prerequisites)
SKILLS: dict[str, tuple[str, list[str]]] = {
    "variables": ("Variables", []),
    "data-types": ("Data types", ["variables"]),
    "operators": ("Operators", ["data-types"]),
    "conditionals": ("Conditionals", ["operators"]),
    "loops": ("Loops", ["conditionals"]),
    "functions": ("Functions", ["loops"]),
    "lists": ("Lists", ["loops"]),
    "dictionaries": ("Dictionaries", ["lists"]),
    "files": ("Files", ["functions"]),
    "errors": ("Errors and exceptions", ["functions"]),
    "modules": ("Modules", ["functions"]),
    "tabular-data": ("Tabular data", ["dictionaries", "files"]),
    "aggregation": ("Aggregation", ["tabular-data"]),
    "plotting": ("Plotting", ["tabular-data"]),
    "statistics": ("Descriptive statistics", ["aggregation"]),
}

# title, difficulty, modules: (title, lessons: (title, skills, rule))
COURSES = [
    (
        "Python foundations",
        "BEGINNER",
        [
            (
                "Values",
                [
                    ("Naming things", ["variables"], "VIEW"),
                    ("Types of data", ["data-types"], "MIN_SCORE"),
                    ("Computing with operators", ["operators", "data-types"], "MIN_SCORE"),
                ],
            ),
            (
                "Control flow",
                [
                    ("Making decisions", ["conditionals"], "MIN_SCORE"),
                    ("Repeating work", ["loops"], "MIN_SCORE"),
                    ("Writing functions", ["functions", "loops"], "MARK_DONE"),
                ],
            ),
            (
                "Collections",
                [
                    ("Lists", ["lists"], "MIN_SCORE"),
                    ("Dictionaries", ["dictionaries"], "MIN_SCORE"),
                ],
            ),
        ],
    ),
    (
        "Data analysis with Python",
        "INTERMEDIATE",
        [
            (
                "Reading data",
                [
                    ("Files and paths", ["files"], "VIEW"),
                    ("When things go wrong", ["errors"], "MIN_SCORE"),
                    ("Tables of records", ["tabular-data", "dictionaries"], "MIN_SCORE"),
                ],
            ),
            (
                "Summaries",
                [
                    ("Grouping and totals", ["aggregation"], "MIN_SCORE"),
                    ("Charts", ["plotting"], "MIN_TIME"),
                    ("Mean, median, spread", ["statistics", "aggregation"], "MIN_SCORE"),
                ],
            ),
        ],
    ),
]
STUDENTS = [f"python-intro-s{n:02d}" for n in range(1, 6)]


async def load_demo_courses(runtime: Runtime, seed: int = 11) -> int:
    """Create the skills, the two courses and the students' history (an empty catalogue
    only); returns how many lesson activities were recorded."""
    if await courses.page(runtime, STAFF, None, None, None, 1):  # not an empty catalogue
        return 0
    await skills.upsert(
        runtime,
        STAFF,
        [
            skills.SkillWrite(i, name, None, prerequisites)
            for i, (name, prerequisites) in SKILLS.items()
        ],
    )
    made: list[tuple[str, list[str]]] = []
    previous: list[str] = []
    for title, difficulty, modules in COURSES:
        course_id = await courses.create_course(
            runtime,
            STAFF,
            CourseWrite(title, f"A demo course: {title.lower()}.", None, difficulty, previous),
        )
        lesson_ids: list[str] = []
        module_ids: list[str] = []
        for module_title, lessons in modules:
            module_id = await courses.create_module(
                runtime, STAFF, ModuleWrite(course_id, module_title, None, None, module_ids[-1:])
            )
            module_ids.append(module_id)
            for number, (lesson_title, taught, rule) in enumerate(lessons):
                completion = CompletionWrite(
                    rule, 70.0 if rule == "MIN_SCORE" else None, 5 if rule == "MIN_TIME" else None
                )
                before = (
                    [PrerequisiteWrite(lesson_ids[-1], None, None)] if number and lesson_ids else []
                )
                lesson_ids.append(
                    await courses.create_lesson(
                        runtime,
                        STAFF,
                        LessonWrite(
                            module_id,
                            lesson_title,
                            None,
                            "ARTICLE",
                            None,
                            f"{lesson_title}: the ideas, a worked example and exercises.",
                            [
                                f"Explain {lesson_title.lower()}",
                                f"Use {lesson_title.lower()} in a program",
                            ],
                            3 + number,
                            15 + 5 * number,
                            [SkillWeight(s, 2.0 if k == 0 else 1.0) for k, s in enumerate(taught)],
                            before,
                            completion,
                            None,
                        ),
                    )
                )
        await courses.update_course(runtime, STAFF, course_id, {"published": True})
        made.append((course_id, lesson_ids))
        previous = [course_id]
    recorded = await _history(runtime, made[0], random.Random(seed))
    await _goals(runtime)
    return recorded


# What each demo student aims at: the early ones at the first course's end, the later
# ones at the second course's statistics, with a weekly plan and a date.
GOALS = [
    ("Write my own functions", ["functions"], 90),
    ("Work with lists and dictionaries", ["lists", "dictionaries"], 120),
    ("Read and summarise a data file", ["tabular-data", "aggregation"], 150),
    ("Plot a data set", ["plotting"], 120),
    ("Describe data with statistics", ["statistics"], 180),
]


async def _goals(runtime: Runtime) -> None:
    """One goal per demo student: paths, recommendations and dashboards show at once."""
    target_date = (datetime.now(UTC) + timedelta(days=42)).date()
    for student, (description, targets, minutes) in zip(STUDENTS, GOALS, strict=True):
        write = goals.GoalWrite(
            description, [(skill, 0.95) for skill in targets], target_date, minutes
        )
        await goals.create(runtime, STAFF, student, write)


async def _history(runtime: Runtime, course: tuple[str, list[str]], rng: random.Random) -> int:
    """Each student enrols in the first course and works through part of it, scores
    growing with practice, over the last two weeks."""
    course_id, lesson_ids = course
    now = datetime.now(UTC)
    recorded = 0
    for number, student in enumerate(STUDENTS):
        await progress.enroll(runtime, STAFF, course_id, student)
        ability = 55 + 8 * number
        for step, lesson_id in enumerate(lesson_ids[: 2 + 2 * number]):
            for attempt in range(2):
                at = now - timedelta(days=14 - step - attempt / 2, hours=rng.uniform(0, 6))
                score = min(100.0, max(0.0, rng.gauss(ability + 10 * attempt, 8)))
                item = progress.ActivityInput(
                    lesson_id,
                    student,
                    f"demo-{student}-{step}-{attempt}",
                    at,
                    300 + rng.randint(0, 600),
                    1.0 if attempt else 0.6,
                    round(score, 1),
                    rng.randint(0, 2),
                    0,
                    rng.randint(0, 1),
                    True,
                )
                try:
                    await progress.record_activity(runtime, STAFF, item)
                except (BadUserInput, NotFound):  # a locked lesson ends this student's run
                    break
                recorded += 1
    return recorded
