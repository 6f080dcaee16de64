"""The Strawberry schema: root types merged from the domain modules, plus the limits."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from learntwin_graphql import argument_checks
from learntwin_graphql.api.classes import ClassQuery
from learntwin_graphql.api.course_inputs import CourseMutation
from learntwin_graphql.api.courses import CourseQuery
from learntwin_graphql.api.enrollments import EnrollmentMutation
from learntwin_graphql.api.goals import GoalMutation, GoalQuery, GoalSubscription
from learntwin_graphql.api.identity import IdentityMutation, IdentityQuery
from learntwin_graphql.api.ingest import IngestMutation
from learntwin_graphql.api.predictions import PredictionMutation, PredictionQuery
from learntwin_graphql.api.quizzes import QuizMutation, QuizQuery
from learntwin_graphql.api.recommendations import (
    RecommendationMutation,
    RecommendationQuery,
    RecommendationSubscription,
)
from learntwin_graphql.api.scalars import SCALAR_MAP
from learntwin_graphql.api.skill_ops import SkillMutation, SkillQuery, SkillSubscription
from learntwin_graphql.api.subscriptions import Subscription as ClassSubscription
from learntwin_graphql.api.tasks import TaskQuery
from learntwin_graphql.api.tutor_ops import TutorMutation, TutorQuery, TutorSubscription
from learntwin_graphql.batching import BatchedFields
from learntwin_graphql.config import Settings
from learntwin_graphql.errors import classify
from learntwin_graphql.execution import LearnTwinExecutionContext
from learntwin_graphql.fast_lane import KnownDocuments
from learntwin_graphql.pagination import describe_connections
from learntwin_graphql.query_limits import RequestChecks, validation_rules

Query = merge_types(
    "Query",
    (
        IdentityQuery,
        ClassQuery,
        TaskQuery,
        QuizQuery,
        PredictionQuery,
        SkillQuery,
        CourseQuery,
        GoalQuery,
        RecommendationQuery,
        TutorQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        IdentityMutation,
        IngestMutation,
        QuizMutation,
        PredictionMutation,
        SkillMutation,
        CourseMutation,
        EnrollmentMutation,
        GoalMutation,
        RecommendationMutation,
        TutorMutation,
    ),
)
Subscription = merge_types(
    "Subscription",
    (
        ClassSubscription,
        SkillSubscription,
        GoalSubscription,
        RecommendationSubscription,
        TutorSubscription,
    ),
)

# merge_types takes no description: the merged root types get theirs here.
ROOT_DESCRIPTIONS = {
    Query: "Reads. Credentials are an `X-API-Key` header or an `Authorization: Bearer` "
    "token; what a caller may see follows its role (`viewer` says which): ADMIN and "
    "INSTRUCTOR see every class and student, a LEARNER its own student.",
    Mutation: "Writes. Failures come back as errors with `extensions.code` "
    "(BAD_USER_INPUT with `field`, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, RATE_LIMITED).",
    Subscription: "Live updates over WebSocket (graphql-transport-ws at /graphql): each "
    "sends the current state first where it has one, then every change.",
}
for root, text in ROOT_DESCRIPTIONS.items():
    root.__strawberry_definition__.description = text  # type: ignore[attr-defined]


class BatchedExecutionContext(BatchedFields, LearnTwinExecutionContext):
    """Batched fields resolved a list at a time, plain fields read directly."""


class BatchedOnlyContext(BatchedFields, StrawberryGraphQLCoreExecutionContext):
    """Batched fields a list at a time, every other field on graphql-core's own path."""


class LearnTwinSchema(strawberry.Schema):
    def __init__(
        self,
        *args: Any,
        hide_suggestions: bool = False,
        known_documents: KnownDocuments | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.hide_suggestions = hide_suggestions
        # Documents that passed validation here, which the HTTP fast lane may run.
        self.known_documents = known_documents

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # `classify` logs the unexpected errors with their request id; the client's own
        # mistakes (bad input, missing credentials) are not worth a traceback.
        return None

    async def _handle_execution_result(
        self, context: ExecutionContext, result: Any, *args: Any, **kwargs: Any
    ) -> Any:
        # Every result Strawberry hands out passes here (HTTP and WebSocket, validation
        # errors, errors raised by extension hooks, each subscription event): the one
        # place where every error gets its code.
        handled = await super()._handle_execution_result(context, result, *args, **kwargs)
        errors = getattr(handled, "errors", None)
        if errors:
            request_id = getattr(context.context, "request_id", None)
            handled.errors = [
                classify(e, request_id=request_id, hide_suggestions=self.hide_suggestions)
                for e in errors
            ]
        return handled


def build_schema(settings: Settings | None = None) -> LearnTwinSchema:
    settings = settings or Settings()
    # The limiters' rule classes are built once: a class made per request would be a new
    # key for ValidationCache every time, so nothing would ever be served from it.
    limit_rules = validation_rules(
        settings.max_query_depth, settings.max_aliases, settings.max_string_length
    )
    known = KnownDocuments()
    extensions: list[Any] = [
        functools.partial(
            RequestChecks,
            max_tokens=settings.max_query_tokens,
            rules=limit_rules,
            max_cost=settings.max_query_cost,
            known=known,
        )
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    built = LearnTwinSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=(
            BatchedExecutionContext if settings.plain_field_shortcut else BatchedOnlyContext
        ),
        hide_suggestions=settings.production,
        known_documents=known,
        config=StrawberryConfig(
            scalar_map=SCALAR_MAP, disable_field_suggestions=settings.production
        ),
    )
    argument_checks.install(built._schema, settings.max_string_length)
    describe_connections(built._schema)
    # Calendar dates are part of the API (the contract declares `Date`) before a field of
    # this schema returns one: declared with the scalar map's definition all the same.
    built._schema.type_map.setdefault("Date", built.schema_converter.from_scalar(date))
    return built


# `strawberry export-schema learntwin_graphql.schema:schema` and the drift test use this.
schema = build_schema(Settings.model_construct())
