"""The tutor's queries, mutations and the `tutorReply` subscription, and the chat fields
of Student (Student inherits them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Annotated, Any

import strawberry

from learntwin_graphql import permissions
from learntwin_graphql.api.docs import After, First
from learntwin_graphql.api.tutor import (
    ChatMessage,
    ChatSession,
    ChatSessionStatus,
    ReadingMode,
    SendTutorMessagePayload,
    TutorEventKind,
    TutorMode,
    TutorReplyEvent,
    TutorStyle,
)
from learntwin_graphql.batching import batched, load_each, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.pagination import Connection, after_position, build_connection, check_first
from learntwin_graphql.services import tutor as tutor_service
from ml.tutor import Preferences
from workers import tutor_events

# How long one XREAD waits before the subscription looks at Postgres again.
FOLLOW_MS = 1000
# A final message whose stream has no DONE this long after it finished gets one at once.
CLOSE_GRACE_SECONDS = 2.0


@strawberry.input(description="How the learner wants replies.")
class TutorPreferencesInput:
    verbosity: int = strawberry.field(default=3, description="1..5")
    style: TutorStyle = strawberry.field(default=TutorStyle.STEP_BY_STEP, description="Style.")
    reading_mode: ReadingMode = strawberry.field(
        default=ReadingMode.COMFORTABLE, description="Layout."
    )
    visual_aids: bool = strawberry.field(default=True, description="Diagrams and lists allowed.")

    def to_preferences(self) -> Preferences:
        return Preferences(
            self.verbosity, self.style.value, self.reading_mode.value, self.visual_aids
        )


@strawberry.input(description="A new chat session.")
class StartChatSessionInput:
    student_id: strawberry.ID = strawberry.field(description="Learners: their own student.")
    title: str | None = strawberry.field(
        default=None, description="Default: the first 50 characters of the first message."
    )
    mode: TutorMode = strawberry.field(default=TutorMode.SOCRATIC, description="How to teach.")
    lesson_id: strawberry.ID | None = strawberry.field(
        default=None, description="A lesson to focus on."
    )
    skill_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Skills to focus on (at most 20)."
    )
    preferences: TutorPreferencesInput | None = strawberry.field(
        default=None, description="Default: verbosity 3, STEP_BY_STEP, COMFORTABLE, visual aids."
    )


@strawberry.input(description="A learner's message.")
class SendTutorMessageInput:
    session_id: strawberry.ID = strawberry.field(description="The session.")
    content: str = strawberry.field(description="1..4000 characters after trimming.")
    client_message_id: str = strawberry.field(
        description="Client-chosen; the same id again returns the first result, not a second reply."
    )


@strawberry.input(description="Changes to a session; fields left out stay as they are.")
class UpdateChatSessionInput:
    id: strawberry.ID = strawberry.field(description="The session.")
    title: str | None = strawberry.field(default=None, description="1..200 characters.")
    status: ChatSessionStatus | None = strawberry.field(default=None, description="Archive it.")
    preferences: TutorPreferencesInput | None = strawberry.field(
        default=None, description="Replaces the preferences."
    )


@strawberry.type
class TutorQuery:
    @strawberry.field(description="A session by id (its learner or staff); null when none.")
    async def chat_session(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The session's id.")],
    ) -> ChatSession | None:
        row = await info.context.loaders.chat_session.load(id)
        return ChatSession.from_row(row) if row else None

    @strawberry.field(description="A message by id (its learner or staff); null when none.")
    async def chat_message(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The message's id.")],
    ) -> ChatMessage | None:
        row = await info.context.loaders.chat_message.load(id)
        return ChatMessage.from_row(row) if row else None


@strawberry.type
class TutorMutation:
    @strawberry.mutation(description="A session for the learner itself (staff: for anyone).")
    async def start_chat_session(
        self,
        info: Info,
        input: Annotated[
            StartChatSessionInput, strawberry.argument(description="The new session.")
        ],
    ) -> ChatSession:
        prefs = input.preferences or TutorPreferencesInput()
        write = tutor_service.SessionWrite(
            student_id=input.student_id,
            title=input.title,
            mode=input.mode.value,
            lesson_id=input.lesson_id,
            skill_ids=list(input.skill_ids),
            preferences=prefs.to_preferences(),
        )
        row = await tutor_service.start(info.context.runtime, info.context.principal, write)
        return ChatSession.from_row(row)

    @strawberry.mutation(description="Rename, archive or change preferences (its learner).")
    async def update_chat_session(
        self,
        info: Info,
        input: Annotated[
            UpdateChatSessionInput,
            strawberry.argument(
                description="The session and what to change; fields left null stay as they are."
            ),
        ],
    ) -> ChatSession:
        changes: dict[str, Any] = {
            "title": input.title,
            "status": input.status.value if input.status else None,
            "preferences": input.preferences.to_preferences() if input.preferences else None,
        }
        row = await tutor_service.update(
            info.context.runtime, info.context.principal, input.id, changes
        )
        return ChatSession.from_row(row)

    @strawberry.mutation(description="Owner only; removes the session and its messages.")
    async def delete_chat_session(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The session to delete, with its messages."),
        ],
    ) -> strawberry.ID:
        deleted = await tutor_service.delete(info.context.runtime, info.context.principal, id)
        return strawberry.ID(deleted)

    @strawberry.mutation(
        description="Owner only (staff read, never post); rate limited per student."
    )
    async def send_tutor_message(
        self,
        info: Info,
        input: Annotated[
            SendTutorMessageInput, strawberry.argument(description="The learner's message.")
        ],
    ) -> SendTutorMessagePayload:
        user, reply = await tutor_service.send(
            info.context.runtime,
            info.context.principal,
            input.session_id,
            input.content,
            input.client_message_id,
        )
        return SendTutorMessagePayload(
            user_message=ChatMessage.from_row(user), reply=ChatMessage.from_row(reply)
        )

    @strawberry.mutation(
        description="Stops a streaming reply; the text so far is kept as CANCELLED."
    )
    async def cancel_tutor_reply(
        self,
        info: Info,
        message_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The ASSISTANT message (a reply) to stop."),
        ],
    ) -> ChatMessage:
        row = await tutor_service.cancel(info.context.runtime, info.context.principal, message_id)
        return ChatMessage.from_row(row)


def _event(
    message_id: str, event: tutor_events.ReplyEvent, row: dict[str, Any] | None
) -> TutorReplyEvent:
    return TutorReplyEvent(
        message_id=strawberry.ID(message_id),
        seq=event.seq,
        kind=TutorEventKind(event.kind),
        delta=event.delta,
        message=ChatMessage.from_row(row) if row is not None and event.terminal else None,
        error=event.error,
    )


@strawberry.type
class TutorSubscription:
    @strawberry.subscription(
        description="The reply's events after afterSeq (replayed), then live ones; completes "
        "after DONE or ERROR."
    )
    async def tutor_reply(
        self,
        info: Info,
        message_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The ASSISTANT message being written (sendTutorMessage's `reply`)."
            ),
        ],
        after_seq: Annotated[
            int,
            strawberry.argument(
                description="Only events after this seq; 0: from the start. To resume after a reconnect, pass the last seq received."
            ),
        ] = 0,
    ) -> AsyncGenerator[TutorReplyEvent, None]:
        runtime, principal = info.context.runtime, info.context.principal
        permissions.require_authenticated(principal)
        if after_seq < 0:
            raise BadUserInput("`afterSeq` must be 0 or more.", field="afterSeq")
        row = await tutor_service.message_for(runtime, principal, message_id, "messageId")
        redis, seq = runtime.redis, after_seq
        events = await tutor_events.after(redis, message_id, seq)
        while True:
            for event in events:
                seq = event.seq
                if event.terminal:
                    yield _event(
                        message_id, event, await tutor_service.fresh_message(runtime, message_id)
                    )
                    return
                yield _event(message_id, event, None)
            row = await tutor_service.fresh_message(runtime, message_id)
            if row is None:  # deleted with its session
                return
            if row["status"] in tutor_service.FINAL:
                ended, closing = await tutor_service.closing_event(
                    runtime, row, seq, CLOSE_GRACE_SECONDS
                )
                if closing is not None:
                    yield _event(message_id, closing, row)
                if ended:
                    return
                events = await tutor_events.after(redis, message_id, seq)
                if not events:
                    await asyncio.sleep(0.05)
                continue
            events = await tutor_events.follow(redis, message_id, seq, FOLLOW_MS)


async def _sessions(
    info: Info,
    students: Sequence[Any],
    status: ChatSessionStatus | None = ChatSessionStatus.ACTIVE,
    first: int = 20,
    after: str | None = None,
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    position = after_position(after, str)
    found = await load_each(
        info.context.loaders.student_sessions,
        [(s.id, status.value if status else None, position, first + 1) for s in students],
    )
    return mapped(
        found,
        lambda rows: build_connection(
            rows, first, key=lambda r: (r["id"],), node=ChatSession.from_row, after=after
        ),
    )


@strawberry.type
class StudentChats:
    """The chat fields of Student (Student inherits them)."""

    id: strawberry.ID

    @strawberry.field(description="The learner's chat sessions, newest first.")
    @batched(_sessions)
    async def chat_sessions(
        self,
        info: Info,
        status: Annotated[
            ChatSessionStatus | None,
            strawberry.argument(
                description="Only sessions in this status (ACTIVE unless given); null: every status."
            ),
        ] = ChatSessionStatus.ACTIVE,
        first: First = 20,
        after: After = None,
    ) -> Connection[ChatSession]:
        return await one(_sessions(info, [self], status, first, after))
