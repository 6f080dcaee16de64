"""An OpenAI-compatible chat-completions server for tests: it can answer well, answer with
malformed JSON, fail with 500, hang, or refuse structured output, and records requests.

Asked to stream (`stream: true`), it sends the reply as server-sent chunks the way the
OpenAI API does (a role chunk, content chunks, a finish chunk, a usage chunk when
`stream_options.include_usage`, then `[DONE]`), `chunks` pieces `chunk_delay` apart; it
can also break the stream after three chunks, stall after the first, or write a reply
that gives away `leak_text`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

GOOD, MALFORMED, ERROR, HANG, NO_SCHEMA, WRONG_SHAPE = (
    "good",
    "malformed",
    "error",
    "hang",
    "no_schema",
    "wrong_shape",
)
# Streaming only: the connection drops after three chunks; silence after the first one;
# a reply that contains `leak_text`.
BREAK, STALL, LEAK = "break", "stall", "leak"
REPLY = (
    "Good question. Before I tell you anything, what do you already know about it? "
    "Try one small example on your own first, then tell me what you notice."
)


@dataclass
class FakeLLM:
    mode: str = GOOD
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Modes for the next calls, used before `mode` (e.g. [HANG] then GOOD).
    script: list[str] = field(default_factory=list)
    port: int = 0
    reply: str = REPLY
    chunks: int = 10
    chunk_delay: float = 0.0
    leak_text: str = "Paris"
    # When each streamed reply's first content chunk was sent (time.monotonic()).
    first_chunk_at: list[float] = field(default_factory=list)

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


def _pieces(text: str, count: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, count)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _stream(fake: FakeLLM, body: dict[str, Any], mode: str) -> StreamingResponse:
    model = body.get("model", "fake")
    text = fake.reply if mode != LEAK else f"The answer is {fake.leak_text}, of course."
    pieces = _pieces(text, fake.chunks)

    async def events() -> AsyncIterator[bytes]:
        yield _chunk(model, {"role": "assistant", "content": ""})
        for n, piece in enumerate(pieces):
            if n and fake.chunk_delay:
                await asyncio.sleep(fake.chunk_delay)
            if mode == BREAK and n == 3:
                raise ConnectionResetError("the fake breaks the stream")
            if n == 0:
                fake.first_chunk_at.append(time.monotonic())
            yield _chunk(model, {"content": piece})
            if mode == STALL:
                await asyncio.sleep(3600)
        yield _chunk(model, {}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
            usage = {"prompt_tokens": prompt, "completion_tokens": len(pieces)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            yield f"data: {json.dumps({'id': 'chatcmpl-test', 'object': 'chat.completion.chunk', 'created': 0, 'model': model, 'choices': [], 'usage': usage})}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def build_app(fake: FakeLLM) -> Starlette:
    async def completions(request: Request) -> Any:
        body = await request.json()
        fake.requests.append(body)
        mode = fake.next_mode()
        if body.get("stream") and mode in (GOOD, BREAK, STALL, LEAK):
            return _stream(fake, body, mode)
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
