"""Fuzzing: every query and mutation with hostile scalars, as every role.

Each root field of Query and Mutation (subscriptions are out of scope here) is sent two
ways: once with every argument, nested ones included, passed as a *variable* (strategies
per scalar, tuned by argument name so that some values get deep: known ids, real cursors,
well-formed emails), and once with *inline* arguments from hypothesis-graphql, whose
scalars are swapped for the same hostile values. Every operation goes out as anonymous,
ADMIN, INSTRUCTOR and LEARNER against the ASGI app, over data seeded once per module.

Refusing input is correct behaviour (BAD_USER_INPUT, UNAUTHENTICATED, FORBIDDEN,
NOT_FOUND, RATE_LIMITED). What fails is an HTTP 5xx, an exception escaping the app, or an
error whose code is INTERNAL_SERVER_ERROR (or none of the documented ones); the failure
names the operation, its variables, the role and the exception the server logged for
that request id.

The JSON scalar is output only (Task.input), so there is no JSON argument to fuzz; nested
objects and lists are still sent where other scalars are expected, and hostile strings
stored through generateQuiz come back out through Task.input.
"""

from __future__ import annotations

import itertools
import logging
import re
import traceback
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from learntwin_graphql.app import create_app
from learntwin_graphql.runtime import Runtime
from tests.conftest import Services, clean, make_settings
from tests.fuzz_operations import INLINE, OPERATIONS
from tests.fuzz_seed import seed

ROLES = ("anonymous", "ADMIN", "INSTRUCTOR", "LEARNER")
# Codes a client can act on. Anything else (INTERNAL_SERVER_ERROR, a missing code) is a bug.
CLIENT_CODES = {"BAD_USER_INPUT", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "RATE_LIMITED"}
# Examples per target and test. About 45 targets (root fields inline; root fields and the
# nested fields with arguments as variables), each example sent as 4 roles: the module
# takes well under a minute on a quiet two-core machine.
EXAMPLES = 12


# --- the app, its credentials and what the server logged ---------------------------------


class ServerLog(logging.Handler):
    """What the server logged, by request id: it logs every unexpected error as
    "unexpected error in <path> (request <id>)" with the exception, so a failure can say
    what went wrong inside."""

    REQUEST: ClassVar[re.Pattern[str]] = re.compile(r"\(request ([^)\s]+)\)")

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.by_request: dict[str, list[logging.LogRecord]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        found = self.REQUEST.search(record.getMessage())
        if found:
            self.by_request.setdefault(found.group(1), []).append(record)

    def about(self, request_id: str, path: str) -> list[str]:
        """The distinct exceptions logged for the error at `path` of this request (all of
        the request's, should none name that path)."""
        records = self.by_request.get(request_id, [])
        at_path = [r for r in records if r.getMessage().startswith(f"unexpected error in {path} ")]
        found: list[str] = []
        for record in at_path or records:
            exc = record.exc_info[1] if record.exc_info else None
            summary = _describe(exc) if exc is not None else record.getMessage()
            if summary not in found:
                found.append(summary)
        return found


PROJECT = Path(__file__).resolve().parents[1]


def _describe(exc: BaseException) -> str:
    """The exception and what it wraps, first lines only, with the deepest frame of the
    project's own code (that is where a fix goes)."""
    chain = [exc]
    while True:
        inner = getattr(chain[-1], "original_error", None) or chain[-1].__cause__
        if inner is None or inner in chain:
            break
        chain.append(inner)
    ours = [
        frame
        for link in chain
        for frame in traceback.extract_tb(link.__traceback__)
        if frame.filename.startswith(str(PROJECT)) and "/.venv/" not in frame.filename
    ]
    where = ""
    if ours:
        frame = ours[-1]
        where = f" [at {Path(frame.filename).relative_to(PROJECT)}:{frame.lineno} {frame.name}]"
    texts = [f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}" for e in chain]
    return " <- ".join(texts) + where


def _short(value: Any) -> Any:
    """Variables for a message: long strings abbreviated (a rerun reproduces them)."""
    if isinstance(value, str) and len(value) > 80:
        return f"<{value[:12]!r}... {len(value)} chars>"
    if isinstance(value, list):
        return [_short(v) for v in value]
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    return value


@dataclass
class FuzzEnv:
    """The client on the app, each role's headers and the server's log. Left out of its
    repr, which Hypothesis prints with every failing example."""

    http: httpx.AsyncClient = field(repr=False)
    transport: httpx.ASGITransport = field(repr=False)
    headers: dict[str, dict[str, str]] = field(repr=False)
    log: ServerLog = field(repr=False)
    request_ids: Iterator[int] = field(default_factory=itertools.count, repr=False)
    examples: Iterator[int] = field(default_factory=itertools.count, repr=False)

    async def problems(self, document: str, variables: dict[str, Any] | None = None) -> str:
        """Sends the operation as every role; describes the responses that show a bug
        (each distinct one once, with the roles that got it), or "" when none does."""
        # Each example comes from an address of its own: register and login are limited per
        # client address, and a fuzzer from one address would soon see only RATE_LIMITED.
        n = next(self.examples)
        self.transport.client = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 40000)
        seen: dict[str, list[str]] = {}
        for role in ROLES:
            request_id = f"fuzz-{next(self.request_ids)}"
            for problem in await self._send(role, request_id, document, variables or {}):
                seen.setdefault(problem, []).append(f"{role} ({request_id})")
        if not seen:
            return ""
        lines = [f"operation: {document}", f"variables: {_short(variables or {})!r}"]
        for problem, roles in seen.items():
            lines.append(f"  as {', '.join(roles)}: {problem}")
        return "\n".join(lines)

    async def _send(
        self, role: str, request_id: str, document: str, variables: dict[str, Any]
    ) -> list[str]:
        headers = {**self.headers[role], "X-Request-ID": request_id}
        body = {"query": document, "variables": variables}
        try:
            response = await self.http.post("/graphql", json=body, headers=headers)
        except Exception as exc:  # the app raised instead of answering: a 500
            return [f"exception out of the app: {_describe(exc)}"]
        if response.status_code >= 500:
            return [f"HTTP {response.status_code}: {response.text[:300]}"]
        try:
            payload = response.json()
        except ValueError:
            return []  # a 4xx without a JSON body (a refused request) is fine
        found: list[str] = []
        for error in (payload.get("errors") if isinstance(payload, dict) else None) or []:
            code = (error.get("extensions") or {}).get("code")
            if code in CLIENT_CODES:
                continue
            path = ".".join(str(p) for p in error.get("path") or ())
            logged = self.log.about(request_id, path)
            problem = f"{code} at {path or '(no path)'}: {error.get('message')!r}; logged: " + (
                " | ".join(logged) or "nothing"
            )
            if problem not in found:
                found.append(problem)
        return found


@pytest.fixture(scope="module")
async def fuzz_env(services: Services, trained_model: Any) -> AsyncIterator[FuzzEnv]:
    """One runtime and one seed for the whole module (the per-test `runtime` fixture
    would clean and re-register for every test, and register is rate limited)."""
    await clean(services)
    runtime = await Runtime.start(make_settings(services), run_migrations=False)
    log = ServerLog()
    watched = [logging.getLogger(name) for name in ("learntwin", "strawberry")]
    for logger in watched:
        logger.addHandler(log)
    try:
        transport = httpx.ASGITransport(create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            headers = await seed(runtime, http, trained_model)
            yield FuzzEnv(http=http, transport=transport, headers=headers, log=log)
    finally:
        for logger in watched:
            logger.removeHandler(log)
        await runtime.close()


# Deterministic and bounded: the same examples on every run, no example database, no
# shrinking (each step of it is four more requests; the failure message already carries
# the whole request and the server's exception).
FUZZ_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=EXAMPLES,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
    print_blob=False,
)


@FUZZ_SETTINGS
@pytest.mark.parametrize("target", sorted(OPERATIONS))
@given(data=st.data())
async def test_hostile_variables(fuzz_env: FuzzEnv, target: str, data: st.DataObject) -> None:
    operation = OPERATIONS[target]
    variables = data.draw(operation.values(), label="variables")
    problems = await fuzz_env.problems(operation.document, variables)
    if problems:
        pytest.fail(problems)


@FUZZ_SETTINGS
@pytest.mark.parametrize("target", sorted(INLINE))
@given(data=st.data())
async def test_hostile_inline_arguments(
    fuzz_env: FuzzEnv, target: str, data: st.DataObject
) -> None:
    document = data.draw(INLINE[target], label="operation")
    problems = await fuzz_env.problems(document)
    if problems:
        pytest.fail(problems)


@settings(FUZZ_SETTINGS, max_examples=2)
@pytest.mark.parametrize("target", sorted(OPERATIONS))
@given(data=st.data())
async def test_operations_and_accepted_values_pass_validation(
    fuzz_env: FuzzEnv, target: str, data: st.DataObject
) -> None:
    """The fuzzer's own check: every operation is valid, within the query limits, and
    its accepted values coerce. Were they refused, every example would stop at the same
    BAD_USER_INPUT and the hostile values would never reach a resolver."""
    operation = OPERATIONS[target]
    variables = data.draw(operation.accepted(), label="variables")
    response = await fuzz_env.http.post(
        "/graphql",
        json={"query": operation.document, "variables": variables},
        headers=fuzz_env.headers["ADMIN"],
    )
    errors = response.json().get("errors") or []
    # An error without a path is about the whole request: the document or its variables.
    assert not [e for e in errors if not e.get("path")], (operation.document, variables, errors)
