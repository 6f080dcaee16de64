"""Cleaning of the values clients send, shared by the services."""

from __future__ import annotations

import re

from learntwin_graphql.errors import BadUserInput
from ml.metrics import ID_MAX

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_id(value: str | None, field: str) -> str | None:
    """An id trimmed of spaces, 1..64 characters; None stays None."""
    if value is None:
        return None
    cleaned = value.strip()
    if not cleaned or len(cleaned) > ID_MAX:
        raise BadUserInput(f"`{field}` must be 1..{ID_MAX} characters.", field=field)
    return cleaned


def required_id(value: str, field: str) -> str:
    cleaned = clean_id(value, field)
    assert cleaned is not None
    return cleaned


def clean_email(email: str) -> str:
    cleaned = email.strip()
    if len(cleaned) > 254 or not EMAIL.match(cleaned):
        raise BadUserInput("`email` does not look like an email address.", field="email")
    return cleaned
