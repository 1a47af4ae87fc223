"""GET /healthz and /readyz name what is down: the Bot API, the database, stuck emails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiohttp.test_utils import TestClient, TestServer

from bot.web import create_web_app
from crm.models import OutboundEmail, utcnow
from crm.settings import Settings
from crm.storage import Database
from tests.fixtures.botapi_stub import BotAPIStub
from tests.fixtures.running_bot import free_port


async def get(web: Any, path: str) -> tuple[int, dict[str, Any]]:
    async with TestClient(TestServer(web)) as client:
        response = await client.get(path)
        return response.status, await response.json()


def app(db: Database, bot: Bot | None = None) -> Any:
    return create_web_app(Settings(_env_file=None), db, bot=bot)  # type: ignore[call-arg]


async def test_all_up_is_200_with_every_check(db: Database, bot: Bot) -> None:
    status, body = await get(app(db, bot), "/healthz")
    assert status == 200 and body["status"] == "ok" and body["down"] == []
    assert set(body["checks"]) == {"database", "bot_api", "scheduler", "outbox"}
    assert body["checks"]["outbox"] == {
        "ok": True,
        "counts": {},
        "backlog": 0,
        "due": 0,
        "stuck": 0,
        "oldest_due_at": None,
    }
    status, body = await get(app(db, bot), "/readyz")
    assert status == 200 and set(body["checks"]) == {"database", "bot_api"}


async def test_emails_stuck_in_sending_fail_health_not_readiness(db: Database, bot: Bot) -> None:
    now = utcnow()
    async with db.uow() as uow:
        for n, (state, claimed) in enumerate(
            [("sending", now - timedelta(hours=1)), ("sending", now), ("pending", None)]
        ):
            uow.session.add(
                OutboundEmail(
                    dedupe_key=f"k{n}",
                    to_addr="client@example.com",
                    subject="Invitation",
                    body_text="Come",
                    status=state,
                    claimed_at=claimed,
                    created_at=now - timedelta(hours=2),
                )
            )
        await uow.commit()
    status, body = await get(app(db, bot), "/healthz")
    assert status == 503 and body["down"] == ["outbox"]
    assert body["checks"]["outbox"]["backlog"] == 3 and body["checks"]["outbox"]["stuck"] == 1
    status, _body = await get(app(db, bot), "/readyz")
    assert status == 200  # the instance can serve; the worker is what to look at


async def test_bot_api_down_is_named() -> None:
    stub = await BotAPIStub().start()
    bot = stub.bot()
    await stub.stop()  # Telegram is gone
    database = Database.from_url("sqlite+aiosqlite://")
    try:
        status, body = await get(app(database, bot), "/readyz")
    finally:
        await bot.session.close()
        await database.dispose()
    assert status == 503 and body["down"] == ["bot_api"]
    assert body["checks"]["bot_api"]["error"].startswith("TelegramNetworkError")


async def test_database_down_is_named(bot: Bot) -> None:
    database = Database.from_url(f"postgresql+asyncpg://crm:pw@127.0.0.1:{free_port()}/crm")
    try:
        status, body = await get(app(database, bot), "/readyz")
    finally:
        await database.dispose()
    assert status == 503 and body["down"] == ["database"]
    assert "pw" not in body["checks"]["database"]["error"]
