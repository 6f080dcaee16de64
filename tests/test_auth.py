"""Tokens, API key hashing and passwords: the pure parts of authentication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from learntwin_graphql import auth
from learntwin_graphql.auth import AuthError, Role
from learntwin_graphql.config import load_settings

SETTINGS = load_settings(_env_file=None, JWT_SECRET="k" * 40)
USER = {"id": 7, "role": "LEARNER", "student_id": "s-1"}


def test_token_round_trip():
    principal = auth.principal_for_token(auth.issue_token(USER, SETTINGS), SETTINGS)
    assert principal.role is Role.LEARNER
    assert principal.user_id == 7 and principal.student_id == "s-1"


def test_token_signed_with_another_secret_is_refused():
    other = load_settings(_env_file=None, JWT_SECRET="o" * 40)
    with pytest.raises(AuthError):
        auth.principal_for_token(auth.issue_token(USER, other), SETTINGS)


def test_expired_token_is_refused():
    past = datetime.now(UTC) - timedelta(hours=2)
    token = jwt.encode(
        {
            "sub": "7",
            "role": "ADMIN",
            "typ": "access",
            "iat": past,
            "exp": past + timedelta(hours=1),
        },
        SETTINGS.jwt_key,
        algorithm="HS256",
    )
    with pytest.raises(AuthError, match="expired"):
        auth.principal_for_token(token, SETTINGS)


def test_tampered_role_is_refused():
    token = auth.issue_token(USER, SETTINGS)
    header, _payload, signature = token.split(".")
    forged = jwt.encode({"sub": "7", "role": "ADMIN", "typ": "access"}, "x" * 40, algorithm="HS256")
    with pytest.raises(AuthError):
        auth.principal_for_token(f"{header}.{forged.split('.')[1]}.{signature}", SETTINGS)


def test_signed_link_is_bound_to_its_purpose():
    link = auth.sign_claims({"class": "c1"}, SETTINGS, 60, "export")
    assert auth.verify_claims(link, SETTINGS, "export")["class"] == "c1"
    with pytest.raises(AuthError):
        auth.verify_claims(link, SETTINGS, "access")
    with pytest.raises(AuthError):
        auth.principal_for_token(link, SETTINGS)


def test_api_keys_are_random_and_hashed():
    first, second = auth.new_api_key(), auth.new_api_key()
    assert first != second and first.startswith(auth.API_KEY_PREFIX)
    assert auth.hash_api_key(first) == auth.hash_api_key(first)
    assert auth.hash_api_key(first) != auth.hash_api_key(second)
    assert first not in auth.hash_api_key(first)


async def test_passwords_verify_only_the_right_one():
    hashed = await auth.hash_password("correct horse battery")
    assert await auth.verify_password(hashed, "correct horse battery")
    assert not await auth.verify_password(hashed, "wrong horse battery")
    assert not await auth.verify_password(None, "anything at all")
    assert not await auth.verify_password("not-a-hash", "anything at all")
