"""Settings: defaults, production refusals, and one clear line on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from learntwin_graphql.config import DEV_API_KEY, SettingsError, load_settings

STRONG = "s" * 32


def test_development_defaults(monkeypatch):
    for name in ("API_KEY", "JWT_SECRET", "DATABASE_URL", "REDIS_URL", "LEARNTWIN_ENV"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.admin_api_key == DEV_API_KEY
    assert settings.database_url is None and settings.redis_url is None
    assert settings.max_query_depth == 12
    assert not settings.production


def test_origins_are_split_on_commas():
    settings = load_settings(_env_file=None, ALLOWED_ORIGINS="https://a.example, https://b.example")
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"API_KEY": DEV_API_KEY, "JWT_SECRET": STRONG}, "devkey"),
        ({"API_KEY": "prod-key"}, "JWT_SECRET"),
        ({"API_KEY": "prod-key", "JWT_SECRET": "short"}, "JWT_SECRET"),
    ],
)
def test_production_refuses_default_secrets(overrides, fragment):
    with pytest.raises(SettingsError, match=fragment):
        load_settings(_env_file=None, LEARNTWIN_ENV="production", **overrides)


def test_production_without_api_key_has_no_admin_key():
    settings = load_settings(_env_file=None, LEARNTWIN_ENV="production", JWT_SECRET=STRONG)
    assert settings.admin_api_key is None


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"LEARNTWIN_ENV": "staging"}, "LEARNTWIN_ENV"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"LEARNTWIN_MAX_PAGE_SIZE": "0"}, "LEARNTWIN_MAX_PAGE_SIZE"),
    ],
)
def test_invalid_settings_name_the_variable(overrides, fragment):
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None, **overrides)
    message = str(info.value)
    assert fragment in message and "\n" not in message


def test_cli_fails_at_start_with_one_line(tmp_path):
    env = {**os.environ, "LEARNTWIN_ENV": "production", "API_KEY": DEV_API_KEY}
    env.pop("JWT_SECRET", None)
    done = subprocess.run(
        [sys.executable, "-m", "learntwin_graphql.cli", "serve", "--port", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("error: invalid setting")
