"""The operator contract: every setting comes from the environment or a `.env` file."""

from __future__ import annotations

import re
import sys
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./chatcrm.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_url: str | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_timezone: str = "Europe/Moscow"
    digest_time: time = time(9, 0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "chatcrm@localhost"
    smtp_tls: bool = True
    smtp_connections: int = Field(default=4, ge=1, le=64)
    smtp_rate: float | None = Field(default=None, gt=0)
    public_base_url: str = "http://localhost:8080"
    http_port: int = Field(default=8080, ge=0, le=65535)
    # the interface the HTTP server listens on: 127.0.0.1 behind a reverse proxy on the host
    http_host: str = "0.0.0.0"
    # "text" (one line per record) or "json" (one JSON object per line, for a log collector)
    log_format: Literal["text", "json"] = "text"
    # how often a follower tries to take over the scheduler (and the leader checks its lock)
    leader_retry_seconds: float = Field(default=5.0, gt=0, le=300)
    # how often the scheduler claims what fell due (reminders made by another instance)
    reminder_sweep_seconds: float = Field(default=30.0, gt=0, le=3600)
    redis_url: str | None = None
    webhook_url: str | None = None
    telegram_rate: float = Field(default=30.0, gt=0, le=1000)

    @field_validator("smtp_rate", mode="before")
    @classmethod
    def _no_cap(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip() in ("", "0") else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            return frozenset(int(p) for p in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
        return value

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_host)


# what @BotFather hands out: the bot's numeric id, a colon, 35 characters of [A-Za-z0-9_-]
TOKEN_SHAPE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,60}$")


def token_problem(token: SecretStr | None) -> str | None:
    """What is wrong with BOT_TOKEN (without asking Telegram), or None."""
    value = token.get_secret_value() if token is not None else ""
    if not value.strip():
        return "required to run the bot"
    if not TOKEN_SHAPE.match(value):
        return (
            "does not look like a bot token (digits, a colon and about 35 letters, digits, "
            "'_' or '-', as @BotFather gives it)"
        )
    return None


def database_url_problem(url: str) -> str | None:
    """What keeps the driver from using DATABASE_URL (found without connecting), or None:
    not a URL, an unknown database or driver, a driver that is not asyncio, a driver that
    is not installed, a SQLite file in a folder that does not exist."""
    try:
        parsed = make_url(url)
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"unknown database or driver {parsed.drivername!r}"
    except (ArgumentError, ValueError):
        return "not a database URL (e.g. sqlite+aiosqlite:///./chatcrm.db)"
    if not getattr(dialect, "is_async", False):
        return (
            f"the driver {parsed.drivername!r} is not an asyncio driver: use "
            "postgresql+asyncpg://... or sqlite+aiosqlite:///..."
        )
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        return f"the driver {parsed.drivername!r} is not installed ({exc.name or exc})"
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().parent
            if not folder.is_dir():
                return f"the folder {str(folder)!r} of the SQLite file does not exist"
    return None


def describe_error(exc: ValidationError) -> str:
    """One line naming each bad variable, without a traceback or the secret value."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else "?"
        parts.append(f"{name}: {err['msg']}")
    return "Configuration error: " + "; ".join(parts)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def load_settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        print(describe_error(exc), file=sys.stderr)
        raise SystemExit(2) from None
