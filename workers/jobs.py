"""The job functions: plain functions taking arq's `ctx` and the task id."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from db import profiles, quizzes, score_models
from db import tasks as task_rows
from ml.authoring import author_profile, author_quiz
from ml.quiz import AnswerOutcome, Difficulty, QuestionType
from ml.scoring import train
from workers import task_runs
from workers.keys import MODEL_CHANNEL, profile_channel

GENERATE_QUIZ = "generate_quiz"
ANALYZE_PROFILE = "analyze_profile"
TRAIN_MODEL = "train_model"


async def _quiz_work(ctx: dict[str, Any], task: dict[str, Any], engine: AsyncEngine) -> list[str]:
    params = task["params"]
    draft, source = await author_quiz(
        ctx["llm"], params["topic"], int(params["count"]), Difficulty(params["difficulty"])
    )
    async with engine.begin() as conn:
        quiz_id = await quizzes.store_quiz(
            conn,
            task_id=task["id"],
            draft=draft,
            source=source,
            student_id=params.get("student_id"),
        )
        await task_rows.succeed(conn, task["id"], quiz_id)
    return []


async def _profile_work(
    ctx: dict[str, Any], task: dict[str, Any], engine: AsyncEngine
) -> list[str]:
    attempt_id = task["params"]["attempt_id"]
    attempt = (await quizzes.attempts_by_id(engine, [attempt_id]))[attempt_id]
    quiz = (await quizzes.quizzes_by_id(engine, [attempt["quiz_id"]]))[attempt["quiz_id"]]
    questions = {q["id"]: q for q in (await quizzes.questions_of(engine, [quiz["id"]]))[quiz["id"]]}
    outcomes = [
        AnswerOutcome(
            type=QuestionType(questions[a["question_id"]]["type"]),
            skill=questions[a["question_id"]]["skill"],
            correct=a["correct"],
        )
        for a in attempt["answers"]
    ]
    async with engine.connect() as conn:
        history = await quizzes.scores_before(conn, attempt["student_id"], attempt_id)
    draft, source = await author_profile(
        ctx["llm"], quiz["topic"], attempt["score"], outcomes, history
    )
    async with engine.begin() as conn:
        profile_id = await profiles.store_profile(
            conn,
            task_id=task["id"],
            student_id=attempt["student_id"],
            attempt_id=attempt_id,
            draft=draft,
            source=source,
            xp=attempt["xp_total"],
            streak_days=attempt["streak_days"],
        )
        await task_rows.succeed(conn, task["id"], profile_id)
    return [profile_channel(attempt["student_id"])]


async def _train_work(ctx: dict[str, Any], task: dict[str, Any], engine: AsyncEngine) -> list[str]:
    # Training is CPU-bound (about a second): off the event loop.
    model = await asyncio.to_thread(train)
    async with engine.begin() as conn:
        version = await score_models.store_and_activate(
            conn, score_models.model_row(model, task_id=task["id"])
        )
        await task_rows.succeed(conn, task["id"], version)
    return [MODEL_CHANNEL]


# `deadline` (a Unix time) is the task's, carried by the job; jobs queued before it was
# passed have none, and `task_runs.run` works it out.
async def generate_quiz(ctx: dict[str, Any], task_id: str, deadline: float | None = None) -> None:
    await task_runs.run(ctx, task_id, _quiz_work, deadline)


async def analyze_profile(ctx: dict[str, Any], task_id: str, deadline: float | None = None) -> None:
    await task_runs.run(ctx, task_id, _profile_work, deadline)


async def train_model(ctx: dict[str, Any], task_id: str, deadline: float | None = None) -> None:
    await task_runs.run(ctx, task_id, _train_work, deadline)


# Which job runs a task of each kind (defined in `db.tasks`), for queueing one again.
JOB_FOR_KIND = {
    task_rows.QUIZ_GENERATION: GENERATE_QUIZ,
    task_rows.PROFILE_ANALYSIS: ANALYZE_PROFILE,
    task_rows.MODEL_TRAINING: TRAIN_MODEL,
}
