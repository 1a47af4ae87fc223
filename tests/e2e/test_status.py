"""The reminder scheduler's health: /status (directors), GET /healthz and `chatcrm status`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.web import create_web_app
from crm.access import Actor
from crm.models import Task
from crm.models.enums import Role
from crm.services import tasks
from crm.services.tasks import TaskInput
from crm.settings import Settings, get_settings
from crm.storage import Database
from notifications.leader import LeaderElector
from notifications.reminders import ReminderRuntime
from notifications.telegram_sender import TelegramSender
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness
from tests.fixtures.botapi_stub import TgUser, message_update

BOSS = TgUser(7201, "Olga", language_code="ru")
HEAD = TgUser(7202, "Ivan", language_code="ru")
ANNA = TgUser(7203, "Anna", language_code="en")


async def add_tasks(db: Database, actor: Actor, stuck: int = 0, pending: int = 0) -> None:
    """`pending` reminders due tomorrow, `stuck` ones due an hour ago and never sent."""
    now = datetime.now(UTC)
    for n in range(pending):
        await tasks.create(db.uow(), actor, TaskInput(f"later {n}", now + timedelta(days=1)))
    for n in range(stuck):
        task = await tasks.create(
            db.uow(), actor, TaskInput(f"stuck {n}", now + timedelta(hours=1))
        )
        async with db.uow() as uow:
            await uow.session.execute(
                update(Task).where(Task.id == task.id).values(due_at=now - timedelta(hours=1))
            )
            await uow.commit()


@pytest.fixture
async def runtime(harness: Harness) -> AsyncIterator[ReminderRuntime]:
    """The runtime the bot's startup hook makes, put where the hook puts it."""
    sender = TelegramSender(harness.bot, rate=1000.0, chat_interval=0.001)
    reminders = ReminderRuntime(harness.db, harness.bot, sender=sender, retry_seconds=0.2)
    harness.dp["reminders"] = reminders
    await reminders.start()
    try:
        yield reminders
    finally:
        await reminders.stop()


async def test_status_is_for_directors_only(harness: Harness) -> None:
    h = harness
    await factories.staff(h.db, Role.HEAD, name="Ivan", language="ru", tg_id=HEAD.id)
    await factories.staff(h.db, name="Anna", language="en", tg_id=ANNA.id)
    [head] = await h.send(message_update(HEAD, "/status"))
    assert head.text == "Состояние бота может смотреть только директор."
    [anna] = await h.send(message_update(ANNA, "/status"))
    assert anna.text == "Only a director can see the status of the bot."


async def test_status_shows_the_figures_and_the_leader(
    harness: Harness, runtime: ReminderRuntime
) -> None:
    h = harness
    boss = await factories.staff(h.db, Role.DIRECTOR, name="Olga", language="ru", tg_id=BOSS.id)
    await add_tasks(h.db, boss, pending=3)
    [shown] = await h.send(message_update(BOSS, "/status"))
    lines = shown.text.splitlines()
    assert lines[:2] == [
        "<b>Планировщик напоминаний</b>",
        "Планировщик работает в этом экземпляре бота: да",
    ]
    assert lines[2].startswith("Последний запуск: ")
    assert lines[3:] == [
        "Ожидают отправки: 3",
        "Просрочено и не доставлено: 0",
        "",
        "✅ Всё отправляется вовремя.",
    ]

    # GET /healthz on the bot's HTTP server says the same
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    web = create_web_app(settings, h.db, bot=h.bot, dispatcher=h.dp)
    async with TestClient(TestServer(web)) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == 200
    scheduler = body["checks"]["scheduler"]
    assert scheduler["ok"] is True and scheduler["leader"] is True
    assert (scheduler["pending"], scheduler["overdue_undelivered"]) == (3, 0)
    assert datetime.fromisoformat(scheduler["last_run_at"]) <= datetime.now(UTC)


async def test_stuck_reminders_without_a_scheduler_are_visible(harness: Harness) -> None:
    h = harness
    boss = await factories.staff(h.db, Role.DIRECTOR, name="Olga", language="en", tg_id=BOSS.id)
    await add_tasks(h.db, boss, stuck=2, pending=1)
    [shown] = await h.send(message_update(BOSS, "/status"))
    assert shown.text.splitlines()[1:] == [
        "This instance runs the scheduler: no (the scheduler is not started in this process)",
        "Reminders pending: 1",
        "Overdue and not delivered: 2",
        "",
        "⚠️ Reminders are late: check that the bot's scheduler is running.",
    ]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    web = create_web_app(settings, h.db, bot=h.bot, dispatcher=h.dp)
    async with TestClient(TestServer(web)) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == 503 and body["status"] == "degraded"
    assert body["checks"]["scheduler"] == {
        "ok": False,
        "leader": False,
        "last_run_at": None,
        "pending": 1,
        "overdue_undelivered": 2,
    }
    assert body["checks"]["database"] == {"ok": True}


def _cli_status(url: str) -> tuple[int, str]:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["status"], env={"DATABASE_URL": url, "BOT_TOKEN": ""})
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


async def test_chatcrm_status_reads_the_database_and_the_lock(db: Database) -> None:
    boss = await factories.staff(db, Role.DIRECTOR, name="Olga")
    await add_tasks(db, boss, stuck=1, pending=2)
    url = db.engine.url.render_as_string(hide_password=False)

    code, out = await asyncio.to_thread(_cli_status, url)
    assert code == 1
    assert "Scheduler running: NO: no bot process holds the scheduler lock" in out
    assert "This process (the CLI) is not the leader: it only reads the database." in out
    assert "Last reminder sent: never" in out
    assert "Reminders pending: 2\nOverdue and not delivered: 1" in out
    assert "start the bot (`chatcrm run`)" in out

    # a "bot" holds the lock and has sent the stuck reminder
    leader = LeaderElector(db)
    assert await leader.try_acquire()
    try:
        sent_at = datetime(2025, 3, 12, 10, 0, 5, tzinfo=UTC)
        async with db.uow() as uow:
            await uow.session.execute(
                update(Task).where(Task.title == "stuck 0").values(reminded_at=sent_at)
            )
            await uow.commit()
        code, out = await asyncio.to_thread(_cli_status, url)
    finally:
        await leader.release()
    assert code == 0, out
    assert "Scheduler running: yes, in a bot process (it holds the scheduler lock)" in out
    assert "Last reminder sent: 2025-03-12 10:00:05 UTC" in out
    assert "Reminders pending: 2\nOverdue and not delivered: 0" in out
    # the probe gave the lock back: the bot can still take it
    assert await leader.try_acquire()
    await leader.release()
