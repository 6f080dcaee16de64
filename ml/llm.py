"""What the authoring code needs from a language model, and reading its answers; no I/O.

The client that talks to an endpoint lives with the workers (`workers.llm`); this module
only says what such a client offers (`JsonLLM`) and turns the text it got back into a
validated pydantic model (`parse_json_answer`). Any failure is a reason instead of a
value, so callers fall back to their deterministic path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


@dataclass(frozen=True)
class LLMAnswer(Generic[M]):
    value: M | None
    reason: str | None = None  # why there is no value


class JsonLLM(Protocol):
    """A language model asked for JSON matching a pydantic model."""

    @property
    def configured(self) -> bool:
        """False when no model is reachable by design (no key): no call is worth making."""
        ...

    async def ask_json(self, system: str, user: str, model: type[M], name: str) -> LLMAnswer[M]:
        """The answer to (system, user), validated as `model`; `name` names the schema.
        Never raises for a failing endpoint: the reason comes back instead."""
        ...


def parse_json_answer(content: str, model: type[M]) -> LLMAnswer[M]:
    """The model in an answer's text: the whole text as JSON, or else the first `{…}` in
    it (models often wrap JSON in prose or code fences)."""
    text = content.strip()
    try:
        data = json.loads(text)
    except ValueError:
        found = _JSON_OBJECT.search(text)
        if found is None:
            return LLMAnswer(None, "LLM answer holds no JSON object")
        try:
            data = json.loads(found.group(0))
        except ValueError as exc:
            return LLMAnswer(None, f"LLM answer is not valid JSON: {exc}")
    try:
        return LLMAnswer(model.model_validate(data))
    except ValidationError as exc:
        return LLMAnswer(None, f"LLM JSON does not match the schema: {exc.error_count()} error(s)")
