"""What a tutor reply is built from, read from Postgres: the session and its preferences,
the grounding (the session's lesson and skills with the learner's levels, or the weakest
levels relevant to the message; recent wrong answers; the latest profile), the history
that may go back to the model, and the expected answers the reply must not give away."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from db import courses, learner_reads, profiles
from db import tutor as tutor_db
from ml.tutor import (
    Grounding,
    Mistake,
    Preferences,
    Prompt,
    SkillFocus,
    Turn,
    build_prompt,
    weakest_relevant,
)

HISTORY_TURNS = 40
MISTAKES = 3


@dataclass(frozen=True)
class ReplyContext:
    reply: dict[str, Any]
    session: dict[str, Any]
    message: str
    grounding: Grounding
    record: dict[str, Any]  # what ChatMessage.grounding shows
    prompt: Prompt
    expected: list[str]

    @property
    def mode(self) -> str:
        return str(self.session["mode"])


def preferences_of(stored: dict[str, Any]) -> Preferences:
    return Preferences(
        verbosity=stored["verbosity"],
        style=stored["style"],
        reading_mode=stored["reading_mode"],
        visual_aids=stored["visual_aids"],
    )


async def _focus(
    engine: AsyncEngine, session: dict[str, Any], student: str, message: str
) -> list[SkillFocus]:
    """The session's skills (its own and its lesson's) at the learner's levels; with no
    focus, the weakest of the learner's levels relevant to the message."""
    wanted = list(session["skill_ids"])
    if session["lesson_id"]:
        taught = await courses.lesson_skills_of(engine, [session["lesson_id"]])
        wanted += [r["skill_id"] for r in taught.get(session["lesson_id"], [])]
    if wanted:
        levels = await learner_reads.levels_with_priors(engine, student, wanted)
        return [
            SkillFocus(s, levels[s]["name"], levels[s]["p_mastery"])
            for s in dict.fromkeys(wanted)
            if s in levels
        ]
    known = (await learner_reads.level_summaries(engine, [student])).get(student, [])
    levels_now = [SkillFocus(r["skill_id"], r["name"], r["p_mastery"]) for r in known]
    return list(weakest_relevant(levels_now, message))


async def reply_context(
    engine: AsyncEngine, reply: dict[str, Any], budget: int
) -> ReplyContext | None:
    """Everything the reply needs; None when its session or question is gone."""
    sessions, messages = await asyncio.gather(
        tutor_db.sessions_by_id(engine, [reply["session_id"]]),
        tutor_db.messages_by_id(engine, [reply["reply_to"]]),
    )
    session, asked = sessions.get(reply["session_id"]), messages.get(reply["reply_to"])
    if session is None or asked is None:
        return None
    student, message = session["student_id"], asked["content"]
    # Independent reads, each on its own pooled connection: at once.
    skills, lessons, mistakes, profiles_found, turns, expected = await asyncio.gather(
        _focus(engine, session, student, message),
        courses.lessons_by_id(engine, [session["lesson_id"]] if session["lesson_id"] else []),
        tutor_db.recent_mistakes(engine, student, MISTAKES),
        profiles.latest_profiles(engine, [student]),
        tutor_db.history(engine, session["id"], asked["id"], HISTORY_TURNS),
        tutor_db.unsubmitted_answers(engine, student),
    )
    lesson = lessons.get(session["lesson_id"]) if session["lesson_id"] else None
    profile = profiles_found.get(student)
    grounding = Grounding(
        lesson_title=lesson["title"] if lesson else None,
        objectives=tuple(lesson["learning_objectives"]) if lesson else (),
        skills=tuple(skills),
        mistakes=tuple(
            Mistake(m["question_id"], m["question"], ", ".join(map(str, m["given"] or [])))
            for m in mistakes
        ),
        profile_summary=profile["summary"] if profile else None,
        profile_weaknesses=tuple(profile["weaknesses"]) if profile else (),
    )
    history = [Turn(t["role"].lower(), t["content"]) for t in reversed(turns)]
    prompt = build_prompt(
        session["mode"], preferences_of(session["preferences"]), grounding, history, message, budget
    )
    record = {
        "skills": [{"skill_id": s.skill_id, "p_mastery": s.p_mastery} for s in skills],
        "lesson_id": session["lesson_id"] if lesson else None,
        "recent_mistakes": [m["question_id"] for m in mistakes],
        "profile_id": profile["id"] if profile else None,
    }
    return ReplyContext(
        reply=reply,
        session=session,
        message=message,
        grounding=grounding,
        record=record,
        prompt=prompt,
        expected=expected,
    )
