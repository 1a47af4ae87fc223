"""What /healthz, /readyz, /status and `chatcrm status` report, checked one way for all.

Each check returns a dict with "ok" (and what it found). The dependencies (`database`,
`redis` when REDIS_URL is set, `bot_api`) say whether this instance can serve at all;
`scheduler` (notifications.reminders.scheduler_health) and `outbox` say whether the
work gets done: reminders overdue, emails stuck in sending.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramUnauthorizedError
from sqlalchemy import text

from bot.governor import governor_of
from crm.storage import Database

CHECK_TIMEOUT = 5.0
DEPENDENCIES = ("database", "redis", "bot_api")


def failure(exc: BaseException) -> dict[str, Any]:
    detail = str(exc).strip().splitlines()
    error = f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__
    return {"ok": False, "error": error[:300]}


async def database_check(database: Database) -> dict[str, Any]:
    async with database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"ok": True}


async def redis_check(redis: Any) -> dict[str, Any]:
    await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT)
    return {"ok": True}


class BotApiCheck:
    """Can this instance reach the Bot API? The governor's last answer when it is recent;
    otherwise getMe, its result kept for `ttl` seconds (a health check every few seconds
    must not become a stream of requests)."""

    def __init__(self, bot: Bot, ttl: float = 15.0) -> None:
        self.bot = bot
        self.ttl = ttl
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def __call__(self) -> dict[str, Any]:
        now = time.monotonic()
        governor = governor_of(self.bot)
        if (
            governor is not None
            and governor.reachable
            and governor.last_ok_at is not None
            and now - governor.last_ok_at < self.ttl
        ):
            return {"ok": True}
        if self._cached is not None and now - self._cached[0] < self.ttl:
            return self._cached[1]
        try:
            await asyncio.wait_for(self.bot.get_me(), CHECK_TIMEOUT)
            result: dict[str, Any] = {"ok": True}
        except TelegramUnauthorizedError:
            result = {"ok": False, "error": "the token is refused (401 Unauthorized)"}
        except Exception as exc:
            result = failure(exc)
        self._cached = (now, result)
        return result


async def probe_redis(url: str) -> str | None:
    """For the CLI: None if Redis at `url` answers a PING, else why not (one line)."""
    from redis.asyncio import Redis

    from bot.fsm_resilience import CONNECTION_KWARGS

    client = Redis.from_url(url, **CONNECTION_KWARGS)
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT)
        return None
    except Exception as exc:
        return str(failure(exc)["error"])
    finally:
        await client.aclose()


async def probe_bot_api(token: str, api_url: str) -> tuple[bool, str]:
    """For the CLI, without a Bot: (ok, what to print) from getMe at `api_url`."""
    if not token.strip():
        return True, "not checked (no BOT_TOKEN)"
    base = api_url.rstrip("/")
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT)) as http,
            http.get(f"{base}/bot{token}/getMe") as response,
        ):
            payload = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return False, f"NOT reachable at {base} ({type(exc).__name__})"
    if isinstance(payload, dict) and payload.get("ok"):
        return True, f"reachable, the bot is @{(payload.get('result') or {}).get('username')}"
    if isinstance(payload, dict) and payload.get("error_code") == 401:
        return False, "the token is refused (401 Unauthorized): check BOT_TOKEN"
    return False, f"answers with an error: {str(payload)[:200]}"


async def run_checks(checks: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Run the checks side by side, each within CHECK_TIMEOUT; a failing one is reported."""

    async def one(check: Any) -> dict[str, Any]:
        try:
            return dict(await asyncio.wait_for(check(), CHECK_TIMEOUT))
        except TimeoutError:
            return {"ok": False, "error": f"no answer within {CHECK_TIMEOUT:.0f} s"}
        except Exception as exc:
            return failure(exc)

    results = await asyncio.gather(*(one(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))
