"""An OpenAI-compatible chat-completions server for tests: it can answer well, answer with
malformed JSON, fail with 500, hang, or refuse structured output, and records requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

GOOD, MALFORMED, ERROR, HANG, NO_SCHEMA, WRONG_SHAPE = (
    "good",
    "malformed",
    "error",
    "hang",
    "no_schema",
    "wrong_shape",
)


@dataclass
class FakeLLM:
    mode: str = GOOD
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Modes for the next calls, used before `mode` (e.g. [HANG] then GOOD).
    script: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def next_mode(self) -> str:
        return self.script.pop(0) if self.script else self.mode


def quiz_json(count: int) -> dict[str, Any]:
    kinds = ["MULTIPLE_CHOICE", "TRUE_FALSE", "OPEN", "LIST"]
    questions = []
    for n in range(count):
        kind = kinds[n % 4]
        if kind == "MULTIPLE_CHOICE":
            q = {
                "text": f"LLM question {n + 1}: 2 + {n} = ?",
                "options": [str(2 + n), "0", "-1", "99"],
                "answers": [str(2 + n)],
            }
        elif kind == "TRUE_FALSE":
            q = {
                "text": f"LLM question {n + 1}: water is wet.",
                "options": ["True", "False"],
                "answers": ["True"],
            }
        elif kind == "OPEN":
            q = {
                "text": f"LLM question {n + 1}: name the capital of France.",
                "answers": ["Paris"],
                "key_terms": ["paris"],
            }
        else:
            q = {
                "text": f"LLM question {n + 1}: list the primary colours.",
                "answers": ["red", "green", "blue"],
            }
        questions.append({**q, "type": kind, "skill": "llm-skill"})
    return {"questions": questions}


PROFILE_JSON = {
    "level": 7,
    "summary": "A profile written by the language model.",
    "strengths": ["llm strength"],
    "weaknesses": ["llm weakness"],
    "recommendations": ["llm recommendation"],
    "learning_style": "visual",
}


def _answer(body: dict[str, Any]) -> str:
    messages = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
    response_format = body.get("response_format") or {}
    name = (response_format.get("json_schema") or {}).get("name", "")
    wants_quiz = re.search(r"Write (\d+) ", messages)
    if name == "profile" or (not name and not wants_quiz):
        return json.dumps(PROFILE_JSON)
    return json.dumps(quiz_json(int(wants_quiz.group(1)) if wants_quiz else 5))


def build_app(fake: FakeLLM) -> Starlette:
    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        fake.requests.append(body)
        mode = fake.next_mode()
        if mode == HANG:
            await asyncio.sleep(3600)
        if mode == ERROR:
            return JSONResponse(
                {"error": {"message": "boom", "type": "server_error"}}, status_code=500
            )
        if mode == NO_SCHEMA and (body.get("response_format") or {}).get("type") == "json_schema":
            return JSONResponse(
                {
                    "error": {
                        "message": "response_format json_schema unsupported",
                        "type": "invalid_request_error",
                    }
                },
                status_code=400,
            )
        if mode == MALFORMED:
            content = '{"questions": [ this is not json'
        elif mode == WRONG_SHAPE:
            content = json.dumps({"hello": "world"})
        else:
            content = _answer(body)
        return JSONResponse(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


@contextlib.asynccontextmanager
async def running_fake_llm() -> AsyncIterator[FakeLLM]:
    fake = FakeLLM()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        fake.port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(fake), host="127.0.0.1", port=fake.port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield fake
    finally:
        server.should_exit = True
        server.force_exit = True
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 5)
