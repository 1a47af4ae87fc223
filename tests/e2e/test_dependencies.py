"""The bot rides out its dependencies, and says the truth about them.

- Redis down (REDIS_URL set): commands without a dialog work, a dialog is "temporarily
  unavailable" in the user's language, /healthz and /readyz answer 503 naming Redis.
- The Bot API not answering at start: retried with backoff, one log line per attempt,
  then the bot serves. The database likewise.
- A malformed BOT_TOKEN or an unusable DATABASE_URL: one line, exit code 2, nothing
  written; a token the Bot API refuses: one line, exit code 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from bot.app import create_dispatcher, main
from bot.cli import app as cli
from bot.startup import Backoff, wait_for_database
from bot.web import create_web_app
from crm.models import Company
from crm.models.enums import Role
from crm.settings import Settings, get_settings
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.botapi_stub import BotAPIStub, TgUser, as_update, message_update
from tests.fixtures.running_bot import free_port

ROOT = Path(__file__).resolve().parents[2]
NINA = TgUser(9401, "Nina", language_code="ru")
TOM = TgUser(9402, "Tom", language_code="en")
TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
UNAVAILABLE_RU = (
    "Пошаговые диалоги временно недоступны: попробуйте через минуту. "
    "Команды, где всё написано в одну строку, работают и сейчас."
)


UNAVAILABLE_EN = (
    "Step-by-step dialogs are temporarily unavailable: try again in a minute. "
    "Commands with everything on one line work now."
)


def closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


# ----------------------------------------------------------------------- Redis down


@pytest.fixture
async def redis_down(db: Database, stub: BotAPIStub, bot: Bot) -> AsyncIterator[object]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(stub.token),
        redis_url=f"redis://127.0.0.1:{closed_port()}/0",
    )
    dp = create_dispatcher(settings, db)
    try:
        yield dp
    finally:
        await dp.storage.close()


async def feed(dp: object, bot: Bot, stub: BotAPIStub, text: str, user: TgUser = NINA) -> list[str]:
    before = len(stub.sent_to(user.id))
    await dp.feed_update(bot, as_update(message_update(user, text), bot))  # type: ignore[attr-defined]
    return [s.text for s in stub.sent_to(user.id)[before:]]


async def test_redis_down_commands_work_dialogs_wait(
    db: Database, stub: BotAPIStub, bot: Bot, redis_down: object
) -> None:
    await factories.staff(db, Role.MANAGER, name="Nina", language="ru", tg_id=NINA.id)
    dp = redis_down

    [help_text] = await feed(dp, bot, stub, "/help")
    assert "/company" in help_text and "Что-то пошло не так" not in help_text

    # a command that needs a dialog: told plainly, nothing half-started
    assert await feed(dp, bot, stub, "/company") == [UNAVAILABLE_RU]
    # a plain text may be the answer to a dialog's question: not guessed at
    assert await feed(dp, bot, stub, "Ромашка") == [UNAVAILABLE_RU]
    # in each user's language
    await factories.staff(db, Role.MANAGER, name="Tom", language="en", tg_id=TOM.id)
    assert await feed(dp, bot, stub, "/company", TOM) == [UNAVAILABLE_EN]
    # everything on one line needs no dialog
    [added] = await feed(dp, bot, stub, "/company Ромашка; Retail; Moscow")
    assert added.startswith("Компания добавлена.")
    async with db.uow() as uow:
        assert list(await uow.session.scalars(select(Company.name))) == ["Ромашка"]

    # the health checks name Redis: a load balancer stops sending traffic here
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    web = create_web_app(settings, db, bot=bot, dispatcher=dp)  # type: ignore[arg-type]
    async with TestClient(TestServer(web)) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        health_body, ready_body = await health.json(), await ready.json()
    assert (health.status, ready.status) == (503, 503)
    assert health_body["down"] == ["redis"] and ready_body["down"] == ["redis"]
    assert health_body["checks"]["redis"]["ok"] is False
    assert set(ready_body["checks"]) == {"database", "redis", "bot_api"}
    assert health_body["checks"]["bot_api"] == {"ok": True}


def test_chatcrm_status_names_what_is_down(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    runner = CliRunner()
    get_settings.cache_clear()
    assert runner.invoke(cli, ["db", "upgrade"], env={"DATABASE_URL": url}).exit_code == 0
    get_settings.cache_clear()
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": f"redis://:secret@127.0.0.1:{closed_port()}/0",
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port()}",
    }
    result = runner.invoke(cli, ["status"], env=env)
    get_settings.cache_clear()
    assert result.exit_code == 1
    out = result.stdout
    assert f"Database: {url}\n" in out
    assert "Redis: redis://:***@127.0.0.1:" in out and ": DOWN (ConnectionError" in out
    assert "Bot API: NOT reachable at http://127.0.0.1:" in out
    assert "Outbox: 0 queued (0 due now), 0 sent, 0 failed, 0 stuck" in out
    assert "secret" not in result.output
    [verdict] = result.stderr.splitlines()
    assert verdict.startswith("Not healthy: Redis does not answer: dialogs are unavailable; ")
    assert "the Bot API cannot be reached" in verdict


# ----------------------------------------------------------------------- at start


@contextlib.asynccontextmanager
async def bot_main(settings: Settings) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(
        main(settings, handle_signals=False, polling_timeout=1, backoff=Backoff(0.2, 0.4))
    )
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_bot_api_down_at_start_is_waited_for(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await factories.staff(sqlite_db, Role.MANAGER, name="Nina", language="ru", tg_id=NINA.id)
    port = closed_port()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(TOKEN),
        database_url=sqlite_db.engine.url.render_as_string(hide_password=False),
        telegram_api_url=f"http://127.0.0.1:{port}",
        http_port=free_port(),
    )
    caplog.set_level(logging.INFO, "chatcrm.startup")

    def attempts() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "chatcrm.startup"]

    async with bot_main(settings) as task:
        for _ in range(100):  # attempts at 0, 0.2, 0.6, 1.0 s ...
            if len(attempts()) >= 3 or task.done():
                break
            await asyncio.sleep(0.1)
        assert not task.done()
        assert len(attempts()) >= 3
        for n, record in enumerate(attempts(), start=1):
            line = record.getMessage()
            assert line.startswith(f"the Bot API not reachable (attempt {n}: TelegramNetworkError")
            assert "\n" not in line and record.exc_info is None and TOKEN not in line
        # and nothing else: no traceback from aiogram or aiohttp
        others = [r for r in caplog.records if r.name != "chatcrm.startup"]
        assert [r.getMessage() for r in others if r.levelno >= logging.WARNING] == []

        async with BotAPIStub(TOKEN, port=port) as stub:  # Telegram is back
            await stub.wait_calls("getUpdates", seconds=10)
            [answer] = await stub.ask(message_update(NINA, "/help"), NINA.id)
            assert "/company" in answer.text
            assert {c.params.get("language_code") for c in stub.calls_of("setMyCommands")} == {
                None,
                "ru",
            }


async def test_database_down_at_start_is_waited_for(caplog: pytest.LogCaptureFixture) -> None:
    database = Database.from_url(f"postgresql+asyncpg://crm:pw@127.0.0.1:{closed_port()}/crm")
    caplog.set_level(logging.INFO, "chatcrm.startup")
    waiting = asyncio.ensure_future(wait_for_database(database, Backoff(0.1, 0.2)))
    try:
        for _ in range(100):
            if len([r for r in caplog.records if r.name == "chatcrm.startup"]) >= 3:
                break
            await asyncio.sleep(0.1)
        assert not waiting.done()
    finally:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        await database.dispose()
    lines = [r.getMessage() for r in caplog.records if r.name == "chatcrm.startup"]
    assert len(lines) >= 3
    assert lines[0].startswith("the database not reachable (attempt 1: ")
    assert all("pw" not in line and "\n" not in line for line in lines)


async def test_the_bot_waits_for_the_database_before_anything_else(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`main` (what `chatcrm run` serves) with the database not up yet: one line per
    attempt, no migration tried, not a call to the Bot API, and it does not exit."""
    async with BotAPIStub(TOKEN) as stub:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=SecretStr(TOKEN),
            database_url=f"postgresql+asyncpg://crm:pw@127.0.0.1:{closed_port()}/crm",
            telegram_api_url=stub.url,
            http_port=free_port(),
        )
        caplog.set_level(logging.INFO)

        def attempts() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "chatcrm.startup"]

        async with bot_main(settings) as task:
            for _ in range(100):
                if len(attempts()) >= 3 or task.done():
                    break
                await asyncio.sleep(0.1)
            assert not task.done()
        lines = attempts()
        assert len(lines) >= 3
        for n, line in enumerate(lines, start=1):
            assert line.startswith(f"the database not reachable (attempt {n}: ")
            assert "pw" not in line and "\n" not in line
        assert stub.calls == []
        assert not any(r.exc_info for r in caplog.records)
        assert not any("alembic" in r.name for r in caplog.records)


# ----------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "BOT_TOKEN",
            "123:abc",
            "Configuration error: BOT_TOKEN: does not look like a bot token (digits, a colon "
            "and about 35 letters, digits, '_' or '-', as @BotFather gives it)",
        ),
        (
            "DATABASE_URL",
            "mysql+aiomysql://crm@127.0.0.1/crm",
            "Configuration error: DATABASE_URL: the driver 'mysql+aiomysql' is not installed "
            "(aiomysql)",
        ),
        (
            "DATABASE_URL",
            "postgresql+psycopg2://crm@127.0.0.1/crm",
            "Configuration error: DATABASE_URL: the driver 'postgresql+psycopg2' is not an "
            "asyncio driver: use postgresql+asyncpg://... or sqlite+aiosqlite:///...",
        ),
        (
            "DATABASE_URL",
            "sqlite+aiosqlite:///no/such/folder/crm.db",
            "Configuration error: DATABASE_URL: the folder 'no/such/folder' of the SQLite file "
            "does not exist",
        ),
    ],
)
def test_configuration_errors_are_one_line_before_anything_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, line: str
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": "sqlite+aiosqlite:///./crm.db", "BOT_TOKEN": TOKEN, variable: value}
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["run"], env=env)
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line]
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no database file, no lock file


async def test_a_token_the_bot_api_refuses_is_one_line(tmp_path: Path) -> None:
    async with BotAPIStub() as stub:  # answers 401 to any other token
        env = {
            **{k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields},
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": stub.url,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}",
            "HTTP_PORT": str(free_port()),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert lines[-1] == (
        "Configuration error: BOT_TOKEN: refused by the Bot API (401 Unauthorized): "
        "check the token with @BotFather"
    )
    assert not any("Traceback" in line for line in lines)
    assert TOKEN not in err.decode()
