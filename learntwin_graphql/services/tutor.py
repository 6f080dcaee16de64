"""The tutor as the API changes it: sessions (start, update, delete), sending a message
(stored with a PENDING reply whose job is queued, or BLOCKED before any model call) and
cancelling a reply. A session belongs to its learner: the learner posts, staff read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from redis.exceptions import RedisError

from db import courses as catalogue
from db import skills as skills_db
from db import tutor as tutor_db
from db.engine import asyncpg_connection
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput, Forbidden, NotFound, RateLimited
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services.inputs import required_id
from learntwin_graphql.throttle import Limit
from ml.tutor import InvalidPreference, Preferences, blocked_term, check_mode, check_preferences
from workers import tutor_events
from workers.tutor_replies import TUTOR_REPLY

CONTENT_MAX = 4000
TITLE_MAX = 200
CLIENT_ID_MAX = 128
MAX_SKILLS = 20
RATE_WINDOW = 60
BLOCKED_REPLY = (
    "I can't help with that here. Let's get back to your learning: what are you working on?"
)


@dataclass(frozen=True)
class SessionWrite:
    student_id: str
    title: str | None
    mode: str
    lesson_id: str | None
    skill_ids: list[str]
    preferences: Preferences


def stored_preferences(prefs: Preferences, field: str) -> dict[str, Any]:
    try:
        check_preferences(prefs)
    except InvalidPreference as exc:
        raise BadUserInput(str(exc), field=f"{field}.{exc.field}") from None
    return {
        "verbosity": prefs.verbosity,
        "style": prefs.style,
        "reading_mode": prefs.reading_mode,
        "visual_aids": prefs.visual_aids,
    }


def _title(title: str | None) -> str | None:
    if title is None:
        return None
    cleaned = title.strip()
    if not cleaned or len(cleaned) > TITLE_MAX:
        raise BadUserInput(f"`title` must be 1..{TITLE_MAX} characters.", field="input.title")
    return cleaned


async def start(runtime: Runtime, principal: Principal, write: SessionWrite) -> dict[str, Any]:
    """A session for the learner itself, or (staff) for any student."""
    student = permissions.student_acted_for(
        principal, required_id(write.student_id, "input.studentId")
    )
    assert student is not None
    check_mode(write.mode)
    if len(write.skill_ids) > MAX_SKILLS:
        raise BadUserInput(f"At most {MAX_SKILLS} skills.", field="input.skillIds")
    skills = list(dict.fromkeys(required_id(s, "input.skillIds") for s in write.skill_ids))
    if write.lesson_id is not None:
        lesson = (await catalogue.lessons_by_id(runtime.reads, [write.lesson_id])).get(
            write.lesson_id
        )
        if lesson is None or not permissions.can_see_content(
            principal, lesson["course_published"], lesson["published"]
        ):
            raise NotFound(f"No lesson {write.lesson_id!r}.", field="input.lessonId")
    known = await _known_skills(runtime, skills)
    for n, skill in enumerate(skills):
        if skill not in known:
            raise BadUserInput(f"No skill {skill!r}.", field=f"input.skillIds.{n}")
    async with runtime.engine.begin() as conn:
        return await tutor_db.insert_session(
            await asyncpg_connection(conn),
            {
                "student_id": student,
                "title": _title(write.title),
                "mode": write.mode,
                "preferences": stored_preferences(write.preferences, "input.preferences"),
                "lesson_id": write.lesson_id,
                "skill_ids": skills,
            },
        )


async def _known_skills(runtime: Runtime, ids: list[str]) -> set[str]:
    return set(await skills_db.by_id(runtime.reads, ids)) if ids else set()


async def session_for(
    runtime: Runtime, principal: Principal, session_id: str, field: str
) -> dict[str, Any]:
    """The session, once the caller may read it (its learner, or staff)."""
    permissions.require_authenticated(principal)
    found = (await tutor_db.sessions_by_id(runtime.reads, [session_id])).get(session_id)
    if found is None:
        raise NotFound(f"No chat session {session_id!r}.", field=field)
    permissions.require_student(principal, found["student_id"])
    return found


def require_owner(principal: Principal, session: dict[str, Any]) -> None:
    """Only the session's own learner posts or changes it (staff read, never post)."""
    permissions.require_student(principal, session["student_id"])
    if principal.student_id != session["student_id"]:
        raise Forbidden("Only the session's learner writes in it; staff read it.")


async def update(
    runtime: Runtime, principal: Principal, session_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    session = await session_for(runtime, principal, session_id, "input.id")
    require_owner(principal, session)
    values: dict[str, Any] = {}
    if changes.get("title") is not None:
        values["title"] = _title(changes["title"])
    if changes.get("status") is not None:
        values["status"] = changes["status"]
    if changes.get("preferences") is not None:
        values["preferences"] = stored_preferences(changes["preferences"], "input.preferences")
    async with runtime.engine.begin() as conn:
        row = await tutor_db.update_session(await asyncpg_connection(conn), session_id, values)
    if row is None:
        raise NotFound(f"No chat session {session_id!r}.", field="input.id")
    return row


async def delete(runtime: Runtime, principal: Principal, session_id: str) -> str:
    session = await session_for(runtime, principal, session_id, "id")
    require_owner(principal, session)
    async with runtime.engine.begin() as conn:
        open_replies = await tutor_db.delete_session(await asyncpg_connection(conn), session_id)
    for message_id in open_replies:  # a worker streaming one stops at its next flush
        await tutor_events.request_cancel(runtime.redis, message_id)
    return session_id


def _content(content: str) -> str:
    cleaned = content.strip()
    if not 1 <= len(cleaned) <= CONTENT_MAX:
        raise BadUserInput(
            f"`content` must be 1..{CONTENT_MAX} characters after trimming.",
            field="input.content",
        )
    return cleaned


async def send(
    runtime: Runtime, principal: Principal, session_id: str, content: str, client_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Store the learner's message and a PENDING reply and queue the reply's job; the
    same `clientMessageId` again returns the first pair and queues nothing."""
    session = await session_for(runtime, principal, session_id, "input.sessionId")
    require_owner(principal, session)
    text = _content(content)
    client = client_id.strip()
    if not 1 <= len(client) <= CLIENT_ID_MAX:
        raise BadUserInput(
            f"`clientMessageId` must be 1..{CLIENT_ID_MAX} characters.",
            field="input.clientMessageId",
        )
    async with runtime.engine.connect() as conn:
        known = await tutor_db.pair_of(await asyncpg_connection(conn), session_id, client)
    if known is not None:
        return known
    if session["status"] != "ACTIVE":
        raise BadUserInput("The session is archived; start a new one.", field="input.sessionId")
    limit = Limit(
        f"tutor:{session['student_id']}", runtime.settings.tutor_messages_per_minute, RATE_WINDOW
    )
    decision = await runtime.limiter.take([limit])
    if not decision.granted:
        raise RateLimited(
            f"Too many messages; try again in {decision.retry_after} s.",
            retryAfter=decision.retry_after,
        )
    term = blocked_term(text, runtime.settings.tutor_blocked_terms)
    reply = (
        {
            "content": BLOCKED_REPLY,
            "status": "BLOCKED",
            "source": "FALLBACK",
            "guardrails": [{"kind": "MODERATION", "message": f"Blocked term: {term!r}."}],
            "completed": True,
        }
        if term is not None
        else {
            "content": "",
            "status": "PENDING",
            "source": None,
            "guardrails": [],
            "completed": False,
        }
    )
    try:
        async with runtime.engine.begin() as conn:
            pair = await tutor_db.insert_pair(
                await asyncpg_connection(conn), session, text, client, reply
            )
    except asyncpg.UniqueViolationError:  # the same id sent twice at once: the first stands
        async with runtime.engine.connect() as conn:
            known = await tutor_db.pair_of(await asyncpg_connection(conn), session_id, client)
        assert known is not None
        return known
    if term is None:
        await _queue_reply(runtime, pair[1]["id"])
    return pair


async def _queue_reply(runtime: Runtime, message_id: str) -> None:
    try:
        await runtime.redis.enqueue_job(TUTOR_REPLY, message_id, _job_id=message_id)
    except (RedisError, OSError):  # no job can run: the reply fails now, with no stream
        async with runtime.engine.begin() as conn:
            await tutor_db.finish(
                await asyncpg_connection(conn),
                message_id,
                {"content": "", "status": "FAILED"},
            )


async def message_for(
    runtime: Runtime, principal: Principal, message_id: str, field: str
) -> dict[str, Any]:
    found = (await tutor_db.messages_by_id(runtime.reads, [message_id])).get(message_id)
    if found is None:
        raise NotFound(f"No chat message {message_id!r}.", field=field)
    permissions.require_student(principal, found["student_id"])
    return found


async def cancel(runtime: Runtime, principal: Principal, message_id: str) -> dict[str, Any]:
    """Stop a reply: CANCELLED with the text so far (a final reply stays as it is)."""
    found = await message_for(runtime, principal, message_id, "messageId")
    if found["student_id"] != principal.student_id:
        raise Forbidden("Only the session's learner cancels its replies.")
    if found["role"] != "ASSISTANT":
        raise BadUserInput("Only a reply can be cancelled.", field="messageId")
    await tutor_events.request_cancel(runtime.redis, message_id)
    async with runtime.engine.begin() as conn:
        row = await tutor_db.cancel(await asyncpg_connection(conn), message_id)
    if row is None:
        return (await tutor_db.messages_by_id(runtime.reads, [message_id]))[message_id]
    if found["status"] == "PENDING":  # no worker holds it: close its stream here
        last = await tutor_events.last(runtime.redis, message_id)
        event = tutor_events.ReplyEvent((last.seq if last else 0) + 1, tutor_events.DONE)
        try:
            await tutor_events.append(runtime.redis, message_id, event)
        except RedisError:  # a worker started it meanwhile and closes it itself
            pass
    return row


FINAL = tutor_db.FINAL


async def fresh_message(runtime: Runtime, message_id: str) -> dict[str, Any] | None:
    """The message as stored now (subscriptions read fresh, never the loader cache)."""
    return (await tutor_db.messages_by_id(runtime.reads, [message_id])).get(message_id)


async def closing_event(
    runtime: Runtime, row: dict[str, Any], seq: int, grace: float
) -> tuple[bool, tutor_events.ReplyEvent | None]:
    """For a final message, after the subscriber's `seq`: (ended, the event to send).
    Ended with nothing more when the stream closed at or before `seq`; ended with a DONE
    (ERROR for a FAILED reply) made here when the stream will say nothing more (expired,
    never written as for BLOCKED, or silent `grace` seconds after the message became
    final); not ended while events may still come."""
    last = await tutor_events.last(runtime.redis, row["id"])
    if last is not None and last.terminal and last.seq <= seq:
        return True, None
    if last is not None and (last.seq > seq or last.terminal):
        return False, None  # there is more to replay
    done_at = row["completed_at"]
    quiet = done_at is None or (datetime.now(UTC) - done_at).total_seconds() > grace
    if last is not None and not quiet:
        return False, None
    failed = row["status"] == "FAILED"
    kind = tutor_events.ERROR if failed else tutor_events.DONE
    error = "the reply failed" if failed else None
    return True, tutor_events.ReplyEvent(seq + 1, kind, None, error)
