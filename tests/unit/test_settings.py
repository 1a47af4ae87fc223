"""The operator contract: variables, their defaults, the .env file and .env.example."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from crm.settings import Settings, describe_error, get_settings

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = [name.upper() for name in Settings.model_fields]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No contract variable from the outer environment, no .env of the checkout."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", frozenset()),
        ("42", {42}),
        ("1,2", {1, 2}),
        (" 1, 2 ,3 ", {1, 2, 3}),
        ("1;2 3", {1, 2, 3}),
        ("5,5", {5}),
    ],
)
def test_admin_ids_are_parsed(monkeypatch: pytest.MonkeyPatch, raw: str, expected: set) -> None:
    monkeypatch.setenv("ADMIN_IDS", raw)
    assert get_settings().admin_ids == frozenset(expected)


def test_bad_admin_id_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "12,abc")
    with pytest.raises(ValidationError) as caught:
        get_settings()
    message = describe_error(caught.value)
    assert message.startswith("Configuration error: ADMIN_IDS:")
    assert "\n" not in message


def test_defaults_are_the_operator_contract() -> None:
    settings = get_settings()
    assert settings.bot_token is None
    assert settings.database_url == "sqlite+aiosqlite:///./chatcrm.db"
    assert settings.telegram_api_url is None
    assert settings.admin_ids == frozenset()
    assert settings.default_timezone == "Europe/Moscow"
    assert settings.digest_time == time(9, 0)
    assert settings.smtp_host is None and not settings.mail_enabled
    assert settings.public_base_url == "http://localhost:8080"
    assert settings.http_port == 8080
    assert settings.redis_url is None
    assert settings.webhook_url is None


def test_dotenv_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    (clean_env / ".env").write_text(
        "BOT_TOKEN=123:abc\nHTTP_PORT=9000\nADMIN_IDS=7,8\nDIGEST_TIME=08:30\n"
        "SMTP_HOST=mail.example.com\nDEFAULT_TIMEZONE=Asia/Yekaterinburg\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HTTP_PORT", "9100")
    settings = get_settings()
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == "123:abc"
    assert settings.http_port == 9100
    assert settings.admin_ids == {7, 8}
    assert settings.digest_time == time(8, 30)
    assert settings.mail_enabled
    assert settings.default_timezone == "Asia/Yekaterinburg"


def test_sync_database_urls_get_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://crm@db:5432/crm")
    assert get_settings().database_url == "postgresql+asyncpg://crm@db:5432/crm"
    get_settings.cache_clear()
    monkeypatch.setenv("DATABASE_URL", "sqlite:///data/crm.db")
    assert get_settings().database_url == "sqlite+aiosqlite:///data/crm.db"


def test_secret_is_not_in_the_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("SMTP_PORT", "70000")
    with pytest.raises(ValidationError) as caught:
        get_settings()
    message = describe_error(caught.value)
    assert "SMTP_PORT" in message
    assert "hunter2" not in message


def _example_lines() -> list[str]:
    return (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()


def test_env_example_lists_every_variable_with_a_comment() -> None:
    lines = _example_lines()
    for name in VARIABLES:
        index = next(
            (i for i, line in enumerate(lines) if line.lstrip("# ").startswith(f"{name}=")), None
        )
        assert index is not None, f"{name} missing from .env.example"
        assert index > 0 and lines[index - 1].startswith("#"), f"{name} has no comment above it"


def test_env_example_as_a_dotenv_gives_the_defaults(clean_env: Path) -> None:
    """Copying .env.example to .env changes nothing but the (empty) token."""
    (clean_env / ".env").write_text("\n".join(_example_lines()), encoding="utf-8")
    from_example = get_settings()
    assert from_example.bot_token is not None and from_example.bot_token.get_secret_value() == ""
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name in Settings.model_fields:
        if name != "bot_token":
            assert getattr(from_example, name) == getattr(defaults, name), name
