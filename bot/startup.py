"""Starting up: configuration checked before anything is written, dependencies waited for.

- `configuration_problem`: a malformed BOT_TOKEN or a DATABASE_URL the driver cannot
  use, found without a network call, as the one line `chatcrm run` prints (exit code 2).
- `wait_for_database` and `wait_for_bot_api`: a dependency that does not answer yet
  (the database container still starting, the network not up) is retried with
  exponential backoff, one log line per attempt, for as long as it takes. A database
  that refuses the credentials or does not exist, and a token Telegram refuses, are
  configuration errors (`ConfigurationError`), not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from crm.settings import Settings, database_url_problem, token_problem
from crm.storage import Database

log = logging.getLogger("chatcrm.startup")
T = TypeVar("T")

# PostgreSQL errors that no wait will cure: bad credentials, no such database
CONFIG_SQLSTATES = {"28000", "28P01", "3D000"}


class ConfigurationError(Exception):
    """One line for the operator; `chatcrm run` exits with code 2."""


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0
    most: float = 60.0

    def delay(self, attempt: int) -> float:
        return float(min(self.first * 2 ** (attempt - 1), self.most))


def configuration_problem(settings: Settings) -> str | None:
    """'Configuration error: NAME: what' for the first bad setting `run` needs, or None."""
    problem = token_problem(settings.bot_token)
    if problem:
        return f"Configuration error: BOT_TOKEN: {problem}"
    problem = database_url_problem(settings.database_url)
    if problem:
        return f"Configuration error: DATABASE_URL: {problem}"
    return None


async def _retrying(
    what: str,
    attempt_once: Callable[[], Awaitable[T]],
    transient: tuple[type[BaseException], ...],
    backoff: Backoff,
    describe: Callable[[BaseException], str],
) -> T:
    attempt = 0
    while True:
        attempt += 1
        try:
            return await attempt_once()
        except transient as exc:
            delay = backoff.delay(attempt)
            log.warning(
                "%s not reachable (attempt %d: %s); retrying in %g s",
                what,
                attempt,
                describe(exc),
                delay,
            )
            await asyncio.sleep(delay)


def _db_reason(exc: BaseException) -> str:
    reason = getattr(exc, "orig", None) or exc
    first = str(reason).strip().splitlines()
    return f"{type(reason).__name__}: {first[0] if first else ''}".rstrip(": ")


async def wait_for_database(database: Database, backoff: Backoff | None = None) -> None:
    async def probe() -> None:
        try:
            async with database.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in CONFIG_SQLSTATES:
                raise ConfigurationError(
                    f"Configuration error: DATABASE_URL: {_db_reason(exc)}"
                ) from None
            raise

    await _retrying(
        "the database",
        probe,
        (OSError, TimeoutError, OperationalError, InterfaceError, DBAPIError),
        backoff or Backoff(),
        _db_reason,
    )


async def wait_for_bot_api(bot: Bot, backoff: Backoff | None = None) -> User:
    """getMe until it answers; a refused token is a ConfigurationError."""

    async def probe() -> User:
        try:
            return await bot.get_me()
        except (TelegramUnauthorizedError, TelegramNotFound):
            raise ConfigurationError(
                "Configuration error: BOT_TOKEN: refused by the Bot API (401 Unauthorized): "
                "check the token with @BotFather"
            ) from None

    return await _retrying(
        "the Bot API",
        probe,
        (TelegramNetworkError, TelegramServerError, TelegramRetryAfter, OSError, TimeoutError),
        backoff or Backoff(),
        lambda exc: f"{type(exc).__name__}: {exc}".splitlines()[0],
    )
