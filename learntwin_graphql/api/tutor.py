"""The tutor: chat sessions that belong to a learner, messages paged both ways, and
replies streamed as numbered events over `tutorReply`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.lessons import Lesson
from learntwin_graphql.api.quizzes import ContentSourceEnum
from learntwin_graphql.api.skills import Skill, SkillLevel, skills_by_ids
from learntwin_graphql.batching import batched, load_each, load_optional, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.pagination import (
    Connection,
    build_backward_connection,
    build_connection,
    check_first,
    decode_cursor,
)
from ml.quiz import ContentSource


@strawberry.enum(description="Who wrote a message.")
class ChatRole(Enum):
    USER = strawberry.enum_value("USER", description="The learner.")
    ASSISTANT = strawberry.enum_value("ASSISTANT", description="The tutor.")


@strawberry.enum(description="Whether a session is in use.")
class ChatSessionStatus(Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="Open for messages.")
    ARCHIVED = strawberry.enum_value("ARCHIVED", description="Kept for reading; no new messages.")


@strawberry.enum(description="Where a message is in its life.")
class ChatMessageStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Queued; no text yet.")
    STREAMING = strawberry.enum_value("STREAMING", description="Being written: the text so far.")
    COMPLETE = strawberry.enum_value("COMPLETE", description="Written in full.")
    FAILED = strawberry.enum_value(
        "FAILED", description="Interrupted: the content is the fallback reply."
    )
    CANCELLED = strawberry.enum_value(
        "CANCELLED", description="Stopped by the learner: the text so far is kept."
    )
    BLOCKED = strawberry.enum_value(
        "BLOCKED", description="Stopped by a guardrail before any model call."
    )


@strawberry.enum(description="How the tutor teaches in a session.")
class TutorMode(Enum):
    SOCRATIC = strawberry.enum_value(
        "SOCRATIC", description="Guides with questions; a hint before any answer."
    )
    EXPLAIN = strawberry.enum_value(
        "EXPLAIN", description="Explains with an example, then checks understanding."
    )
    REVIEW = strawberry.enum_value("REVIEW", description="Quizzes on what was studied.")


@strawberry.enum(description="How replies are written.")
class TutorStyle(Enum):
    CONCISE = strawberry.enum_value("CONCISE", description="Short and direct.")
    STEP_BY_STEP = strawberry.enum_value("STEP_BY_STEP", description="Numbered steps.")
    ANALOGY = strawberry.enum_value("ANALOGY", description="With an everyday analogy.")


@strawberry.enum(description="How dense replies are laid out.")
class ReadingMode(Enum):
    COMPACT = strawberry.enum_value("COMPACT", description="Short paragraphs, no filler.")
    COMFORTABLE = strawberry.enum_value(
        "COMFORTABLE", description="Spaced paragraphs in plain words."
    )


@strawberry.enum(description="What a guardrail did.")
class GuardrailKind(Enum):
    ANSWER_LEAK = strawberry.enum_value(
        "ANSWER_LEAK", description="The reply gave away a quiz answer; a hint replaced it."
    )
    MODERATION = strawberry.enum_value(
        "MODERATION", description="A blocked term stopped the message."
    )
    TOO_LONG = strawberry.enum_value("TOO_LONG", description="The reply was cut at its limit.")


@strawberry.enum(description="The kind of a streamed reply's event.")
class TutorEventKind(Enum):
    DELTA = strawberry.enum_value("DELTA", description="New text.")
    DONE = strawberry.enum_value("DONE", description="Finished: the stored message follows.")
    ERROR = strawberry.enum_value(
        "ERROR", description="Broke off: the stored message holds the fallback reply."
    )


@strawberry.type(description="How a learner wants replies.")
class TutorPreferences:
    verbosity: int = strawberry.field(description="1..5")
    style: TutorStyle = strawberry.field(description="CONCISE, STEP_BY_STEP or ANALOGY.")
    reading_mode: ReadingMode = strawberry.field(description="COMPACT or COMFORTABLE.")
    visual_aids: bool = strawberry.field(description="Diagrams, tables and lists allowed.")

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> TutorPreferences:
        return cls(
            verbosity=stored["verbosity"],
            style=TutorStyle(stored["style"]),
            reading_mode=ReadingMode(stored["reading_mode"]),
            visual_aids=stored["visual_aids"],
        )


@strawberry.type(description="What a guardrail did to a message.")
class GuardrailEvent:
    kind: GuardrailKind = strawberry.field(description="Which guardrail.")
    message: str = strawberry.field(description="What it did.")


async def _grounding_levels(info: Info, items: Sequence[TutorGrounding]) -> list[Any]:
    pairs = [(g.student_id, s["skill_id"]) for g in items for s in g.stored_skills]
    skills = await load_each(info.context.loaders.skill, [p[1] for p in pairs])
    rows = dict(zip(pairs, skills, strict=True))
    found = []
    for g in items:
        levels = []
        for s in g.stored_skills:
            skill = rows[(g.student_id, s["skill_id"])]
            if isinstance(skill, dict):
                levels.append(
                    SkillLevel.from_row(
                        {
                            **skill,
                            "skill_id": s["skill_id"],
                            "student_id": g.student_id,
                            "p_mastery": s["p_mastery"],
                            "opportunities": 0,
                            "correct": 0,
                            "recent": [],
                            "last_practiced_at": None,
                            "card": None,
                        }
                    )
                )
        found.append(levels)
    return found


async def _grounding_lessons(info: Info, items: Sequence[TutorGrounding]) -> list[Any]:
    return await load_optional(
        info.context.loaders.lesson, [g.lesson_id for g in items], Lesson.from_row
    )


@strawberry.type(description="What a reply was grounded on.")
class TutorGrounding:
    student_id: strawberry.Private[str]
    stored_skills: strawberry.Private[list[dict[str, Any]]]
    lesson_id: strawberry.Private[str | None]
    recent_mistakes: list[strawberry.ID] = strawberry.field(
        description="Questions of recent wrong answers shown to the model (never their "
        "expected answers)."
    )
    profile_id: strawberry.ID | None = strawberry.field(description="The profile used.")

    @strawberry.field(description="The skills and the learner's pMastery on them, as used.")
    @batched(_grounding_levels)
    async def skills(self, info: Info) -> list[SkillLevel]:
        return await one(_grounding_levels(info, [self]))

    @strawberry.field(description="The session's lesson, when it has one.")
    @batched(_grounding_lessons)
    async def lesson(self, info: Info) -> Lesson | None:
        return await one(_grounding_lessons(info, [self]))


@strawberry.type(description="One message of a chat.")
class ChatMessage:
    id: strawberry.ID = strawberry.field(description="Server-made: `msg-` and hex digits.")
    session_id: strawberry.ID = strawberry.field(description="The session.")
    role: ChatRole = strawberry.field(description="USER or ASSISTANT.")
    content: str = strawberry.field(description="While STREAMING: the text so far.")
    status: ChatMessageStatus = strawberry.field(description="Where the message is.")
    source: ContentSourceEnum | None = strawberry.field(
        description="ASSISTANT only: LLM, or FALLBACK for the deterministic tutor."
    )
    reply_to: strawberry.ID | None = strawberry.field(
        description="The USER message an ASSISTANT message answers."
    )
    guardrails: list[GuardrailEvent] = strawberry.field(description="What guardrails did.")
    grounding: TutorGrounding | None = strawberry.field(description="What the reply used.")
    model: str | None = strawberry.field(description="The model that wrote it.")
    prompt_tokens: int | None = strawberry.field(description="Tokens sent to the model.")
    completion_tokens: int | None = strawberry.field(description="Tokens the model wrote.")
    created_at: datetime = strawberry.field(description="When it was stored.")
    completed_at: datetime | None = strawberry.field(description="When it became final.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ChatMessage:
        g = row["grounding"]
        return cls(
            id=row["id"],
            session_id=row["session_id"],
            role=ChatRole(row["role"]),
            content=row["content"],
            status=ChatMessageStatus(row["status"]),
            source=ContentSource(row["source"]) if row["source"] else None,
            reply_to=row["reply_to"],
            guardrails=[
                GuardrailEvent(kind=GuardrailKind(e["kind"]), message=e["message"])
                for e in row["guardrails"]
            ],
            grounding=None
            if g is None
            else TutorGrounding(
                student_id=row["student_id"],
                stored_skills=list(g.get("skills", [])),
                lesson_id=g.get("lesson_id"),
                recent_mistakes=[strawberry.ID(q) for q in g.get("recent_mistakes", [])],
                profile_id=g.get("profile_id"),
            ),
            model=row["model"],
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            created_at=row["created_at"],
            completed_at=row["completed_at"],
        )


async def _session_lessons(info: Info, items: Sequence[ChatSession]) -> list[Any]:
    return await load_optional(
        info.context.loaders.lesson, [s.lesson_id for s in items], Lesson.from_row
    )


async def _session_skills(info: Info, items: Sequence[ChatSession]) -> list[Any]:
    return await skills_by_ids(info, [s.skill_ids for s in items])


async def _messages(
    info: Info,
    items: Sequence[ChatSession],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> list[Any]:
    maximum = info.context.settings.max_page_size
    if first is not None and last is not None:
        raise BadUserInput("Give `first` or `last`, not both.", field="last")
    backwards = last is not None
    size = check_first(last if backwards else (first if first is not None else 20), maximum)
    start = decode_cursor(after, str)
    end = decode_cursor(before, str)
    found = await load_each(
        info.context.loaders.session_messages,
        [
            (s.id, start[0] if start else None, end[0] if end else None, size + 1, backwards)
            for s in items
        ],
    )

    def page(rows: list[dict[str, Any]]) -> Any:
        # Backwards, the rows come newest first (the extra one says older messages
        # remain); the page is shown oldest first.
        if backwards:
            return build_backward_connection(
                rows, size, key=lambda r: (r["id"],), node=ChatMessage.from_row, before=before
            )
        return build_connection(
            rows, size, key=lambda r: (r["id"],), node=ChatMessage.from_row, after=after
        )

    return mapped(found, page)


@strawberry.type(description="A learner's conversation with the tutor.")
class ChatSession:
    lesson_id: strawberry.Private[str | None]
    skill_ids: strawberry.Private[list[str]]
    id: strawberry.ID = strawberry.field(description="Server-made: `chat-` and hex digits.")
    student_id: strawberry.ID = strawberry.field(description="The learner it belongs to.")
    title: str = strawberry.field(
        description="Given, or the first 50 characters of the first message."
    )
    status: ChatSessionStatus = strawberry.field(description="ACTIVE or ARCHIVED.")
    mode: TutorMode = strawberry.field(description="How the tutor teaches here.")
    preferences: TutorPreferences = strawberry.field(description="How replies are written.")
    message_count: int = strawberry.field(description="Messages of both roles.")
    created_at: datetime = strawberry.field(description="When it was started.")
    last_message_at: datetime | None = strawberry.field(description="The newest message's time.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ChatSession:
        return cls(
            lesson_id=row["lesson_id"],
            skill_ids=list(row["skill_ids"]),
            id=row["id"],
            student_id=row["student_id"],
            title=row["title"] or "New chat",
            status=ChatSessionStatus(row["status"]),
            mode=TutorMode(row["mode"]),
            preferences=TutorPreferences.from_dict(row["preferences"]),
            message_count=row["message_count"],
            created_at=row["created_at"],
            last_message_at=row["last_message_at"],
        )

    @strawberry.field(description="The lesson the session focuses on.")
    @batched(_session_lessons)
    async def lesson(self, info: Info) -> Lesson | None:
        return await one(_session_lessons(info, [self]))

    @strawberry.field(description="The skills the session focuses on.")
    @batched(_session_skills)
    async def skills(self, info: Info) -> list[Skill]:
        return await one(_session_skills(info, [self]))

    @strawberry.field(description="Oldest first; `last`/`before` page back from the newest.")
    @batched(_messages)
    async def messages(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size, forwards.")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="Forwards from this cursor.")
        ] = None,
        last: Annotated[
            int | None, strawberry.argument(description="Page size, backwards.")
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="Backwards from this cursor.")
        ] = None,
    ) -> Connection[ChatMessage]:
        return await one(_messages(info, [self], first, after, last, before))


@strawberry.type(description="One event of a streamed reply; seq starts at 1 and has no gaps.")
class TutorReplyEvent:
    message_id: strawberry.ID = strawberry.field(description="The reply.")
    seq: int = strawberry.field(description="1, 2, 3 ... per reply.")
    kind: TutorEventKind = strawberry.field(description="DELTA, DONE or ERROR.")
    delta: str | None = strawberry.field(description="DELTA: the new text.")
    message: ChatMessage | None = strawberry.field(
        description="DONE and ERROR: the stored message."
    )
    error: str | None = strawberry.field(description="ERROR: why the reply broke off.")


@strawberry.type(description="What sendTutorMessage stored.")
class SendTutorMessagePayload:
    user_message: ChatMessage = strawberry.field(description="The learner's message.")
    reply: ChatMessage = strawberry.field(
        description="PENDING or STREAMING (BLOCKED when a guardrail stopped it); follow it "
        "with tutorReply."
    )
