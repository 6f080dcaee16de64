"""The Strawberry schema: root types merged from the domain modules, plus the limits."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from learntwin_graphql.config import Settings
from learntwin_graphql.errors import ErrorCodes
from learntwin_graphql.execution import LearnTwinExecutionContext
from learntwin_graphql.graphql.classes import ClassQuery
from learntwin_graphql.graphql.identity import IdentityMutation, IdentityQuery
from learntwin_graphql.graphql.ingest import IngestMutation
from learntwin_graphql.graphql.live import Subscription
from learntwin_graphql.graphql.predictions import PredictionMutation, PredictionQuery
from learntwin_graphql.graphql.quizzing import QuizMutation, QuizQuery
from learntwin_graphql.graphql.scalars import SCALAR_MAP

Query = merge_types("Query", (IdentityQuery, ClassQuery, QuizQuery, PredictionQuery))
Mutation = merge_types(
    "Mutation", (IdentityMutation, IngestMutation, QuizMutation, PredictionMutation)
)


class CachedParser(ParserCache):
    """ParserCache whose syntax errors take Strawberry's ordinary path (inside the
    operation), so ErrorCodes sees and codes them like every other error."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None
        yield


class LearnTwinSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # ErrorCodes logs the unexpected errors with their request id; the client's own
        # mistakes (bad input, missing credentials) are not worth a traceback.
        return None


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    # The limiters' rule classes are built once: a class made per request would be a new
    # key for ValidationCache every time, so nothing would ever be served from it.
    limit_rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    extensions: list[Any] = [
        ErrorCodes,
        functools.partial(AddValidationRules, limit_rules),
        functools.partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        functools.partial(CachedParser, maxsize=256),
        functools.partial(ValidationCache, maxsize=256),
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    return LearnTwinSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=LearnTwinExecutionContext,
        config=StrawberryConfig(
            scalar_map=SCALAR_MAP, disable_field_suggestions=settings.production
        ),
    )


# `strawberry export-schema learntwin_graphql.schema:schema` and the drift test use this.
schema = build_schema(Settings.model_construct())
