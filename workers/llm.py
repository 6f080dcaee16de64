"""The LLM client: an OpenAI-compatible endpoint (OpenAI, Ollama, llama.cpp, vLLM) asked for
JSON that a pydantic model validates. It satisfies `ml.llm.JsonLLM`.

Structured output is tried first (JSON schema), then JSON mode, then plain text from
which the first JSON object is taken. Any failure returns a reason instead of a value,
so callers fall back to their deterministic path; with no key configured no call is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from pydantic import BaseModel

from ml.llm import LLMAnswer, parse_json_answer

M = TypeVar("M", bound=BaseModel)


class StreamFailed(Exception):
    """The streamed answer broke off (an error, a stall, a malformed stream)."""


@dataclass
class StreamUsage:
    """Filled in while a reply streams: the model's name and its token counts."""

    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class LLMClient:
    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        model: str,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        self.model = model
        # The openai client retries 429, 5xx, timeouts and connection errors with
        # exponential back-off; `max_retries` is the number of retries after the first try.
        self._client = (
            openai.AsyncOpenAI(
                api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
            )
            if api_key
            else None
        )

    @property
    def configured(self) -> bool:
        return self._client is not None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def ask_json(self, system: str, user: str, model: type[M], name: str) -> LLMAnswer[M]:
        if self._client is None:
            return LLMAnswer(None, "no LLM configured (OPENAI_API_KEY unset)")
        # Not every endpoint takes every response format: each refusal moves to the next.
        formats: list[dict[str, object] | None] = [
            {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": model.model_json_schema(), "strict": False},
            },
            {"type": "json_object"},
            None,
        ]
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        last_reason = "no answer"
        for response_format in formats:
            kwargs: dict[str, object] = {"model": self.model, "messages": messages}
            if response_format is not None:
                kwargs["response_format"] = response_format
            try:
                completion = await self._client.chat.completions.create(**kwargs)  # type: ignore[call-overload]
            except openai.BadRequestError as exc:
                # The endpoint does not take this response format: try the next one.
                last_reason = (
                    f"endpoint refused {(response_format or {}).get('type', 'plain')}: {exc}"
                )
                continue
            except openai.OpenAIError as exc:
                return LLMAnswer(None, f"LLM call failed: {type(exc).__name__}: {exc}")
            content = (completion.choices[0].message.content or "") if completion.choices else ""
            return parse_json_answer(content, model)
        return LLMAnswer(None, last_reason)

    async def stream_chat(
        self, messages: Sequence[dict[str, str]], usage: StreamUsage, *, stall: float
    ) -> AsyncIterator[str]:
        """The reply's text as it is written (usage filled in when the endpoint sends
        it). Raises StreamFailed on any failure, including `stall` seconds without a
        chunk; no retries once text has started to flow."""
        if self._client is None:
            raise StreamFailed("no LLM configured (OPENAI_API_KEY unset)")
        try:
            async with asyncio.timeout(stall):
                stream: Any = await self._client.chat.completions.create(
                    model=self.model,
                    messages=list(messages),  # type: ignore[arg-type]
                    stream=True,
                    stream_options={"include_usage": True},
                )
            chunks = aiter(stream)
            while True:
                try:
                    async with asyncio.timeout(stall):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                usage.model = getattr(chunk, "model", None) or usage.model
                if getattr(chunk, "usage", None) is not None:
                    usage.prompt_tokens = chunk.usage.prompt_tokens
                    usage.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices or ():
                    text = getattr(choice.delta, "content", None)
                    if text:
                        yield text
        except TimeoutError as exc:
            raise StreamFailed(f"no chunk for {stall:g} s") from exc
        except openai.OpenAIError as exc:
            raise StreamFailed(f"{type(exc).__name__}: {exc}") from exc
        except (ValueError, KeyError, AttributeError, TypeError) as exc:  # a malformed stream
            raise StreamFailed(f"malformed stream: {type(exc).__name__}: {exc}") from exc
