"""The per-request (or per-WebSocket-connection) context every resolver receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from learntwin_graphql.auth import ANONYMOUS, Principal
from learntwin_graphql.config import Settings
from learntwin_graphql.errors import ApiError
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.tutor_loaders import TutorLoaders


@dataclass
class Context:
    request: Request | WebSocket
    response: Any
    runtime: Runtime
    request_id: str
    _principal: Principal = ANONYMOUS
    # Credentials were sent but refused (invalid, or too many failures from this client):
    # every resolver that asks who is calling fails with a fresh copy of this error.
    auth_error: Callable[[], ApiError] | None = None
    connection_params: dict[str, Any] | None = field(default=None)
    loaders: TutorLoaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = TutorLoaders(self.runtime.reads, lambda: self.principal)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def engine(self) -> AsyncEngine:
        return self.runtime.engine

    @property
    def principal(self) -> Principal:
        if self.auth_error is not None:
            raise self.auth_error()
        return self._principal

    def set_principal(self, principal: Principal) -> None:
        self._principal = principal
        self.auth_error = None


Info = StrawberryInfo[Context, None]
