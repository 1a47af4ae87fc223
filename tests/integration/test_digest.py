"""The daily digest: its figures, /digest, `chatcrm digest`, and the daily job with a
controlled clock across two timezones (once per local day, late after downtime, never twice)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from datetime import UTC, date, datetime, time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
import time_machine
from aiogram import Bot, Dispatcher
from sqlalchemy import func, select, update
from typer.testing import CliRunner

import bot.app as bot_app
from bot.cli import app
from bot.governor import governor_of
from bot.i18n import create_i18n
from crm.analytics.digest import (
    DueDigest,
    build_digest,
    claim_digest,
    due_digests,
    recipients,
)
from crm.models import DigestLog, Manager
from crm.services import company_settings
from crm.settings import Settings, get_settings
from crm.storage import Database
from notifications import digests
from notifications.reminders import ReminderScheduler
from tests.fixtures.bot_harness import Harness, fast_sender
from tests.fixtures.botapi_stub import BotAPIStub, message_update
from tests.fixtures.digest_day import ANNA, BORIS, DINA, HELEN, DigestDay, at, digest_day

real_create_bot = bot_app.create_bot
NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # 09:00 in Moscow: "yesterday" is 9 March


async def test_digest_figures(db: Database) -> None:
    w = await digest_day(db)
    d = await build_digest(db.uow(), w.dina, now=NOW)
    assert d.day == date(2026, 3, 9)
    # won on 9 March Moscow time: 10:00 UTC and 22:00 UTC on the 8th (01:00 on the 9th)
    assert (d.won_deals, d.won_amount, d.new_deals) == (2, Decimal("1500.00"), 2)
    assert d.open_by_stage == {"lead": 1, "qualified": 0, "proposal": 1, "negotiation": 1}
    assert (d.overdue_tasks, d.claims_past_sla, d.forgotten) == (2, 1, 1)
    # March: 2000 × 10 % + 400 × 75 %; every closed deal was won: history counts them whole
    assert (d.month, d.forecast_deals) == ("2026-03", 2)
    assert (d.forecast_weighted, d.forecast_historical) == (Decimal("500.00"), Decimal("2400.00"))
    head = await build_digest(db.uow(), w.helen, now=NOW)
    assert (head.won_deals, head.won_amount, head.new_deals) == (1, Decimal("1000.00"), 1)
    assert head.open_by_stage == {"lead": 1, "qualified": 0, "proposal": 1, "negotiation": 0}
    assert (head.overdue_tasks, head.claims_past_sla, head.forgotten) == (1, 1, 1)
    assert (head.forecast_weighted, head.forecast_historical) == (
        Decimal("200.00"),
        Decimal("2000.00"),
    )
    boris = await build_digest(db.uow(), w.boris, now=NOW)
    assert (boris.won_deals, boris.claims_past_sla, boris.forgotten) == (1, 0, 0)


async def test_digest_counts_forgotten_clients_by_the_company_setting(db: Database) -> None:
    w = await digest_day(db)  # Alfa's last interaction: 68 days before NOW
    assert (await build_digest(db.uow(), w.dina, now=NOW)).forgotten == 1
    await company_settings.set_forgotten_days(db.uow(), w.dina, 90)
    d = await build_digest(db.uow(), w.dina, now=NOW)
    assert (d.forgotten_days, d.forgotten) == (90, 0)
    assert (await build_digest(db.uow(), w.dina, now=NOW, forgotten_days=60)).forgotten == 1


async def test_digest_text_in_both_languages(db: Database) -> None:
    w = await digest_day(db)
    d = await build_digest(db.uow(), w.dina, now=NOW)
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        english = digests.digest_text(d)
        chart = digests.digest_chart(d)
    with i18n.context(), i18n.use_locale("ru"):
        russian = digests.digest_text(d)
    assert "Digest" in english and "09.03.2026" in english and "1 500.00" in english
    assert "Lead 1 → Qualified 0 → Proposal 1 → Negotiation 1" in english
    assert "Сводка" in russian and "Просроченные задачи: 2" in russian
    assert "Forecast for March 2026:" in english and "на март 2026:" in russian
    assert chart is not None and chart().startswith(b"\x89PNG")


async def test_claim_is_once_per_manager_and_day(db: Database) -> None:
    w = await digest_day(db)
    due = DueDigest(w.dina.id, date(2026, 3, 10))
    assert await claim_digest(db.uow(), due) is True
    assert await claim_digest(db.uow(), due) is False
    assert await claim_digest(db.uow(), DueDigest(w.dina.id, date(2026, 3, 11))) is True
    assert [d.manager_id for d in await due_digests(db.uow(), NOW)] == [w.helen.id]


async def test_digests_sent_now_go_to_the_active_leaders_or_to_whoever_is_named(
    db: Database,
) -> None:
    w = await digest_day(db)
    assert [m.id for m in await recipients(db.uow())] == sorted([w.dina.id, w.helen.id])
    assert [m.id for m in await recipients(db.uow(), ANNA.id)] == [w.anna.id]  # asked for
    assert await recipients(db.uow(), 999_999) == []
    async with db.uow() as uow:
        await uow.session.execute(
            update(Manager).where(Manager.id == w.helen.id).values(active=False)
        )
        await uow.commit()
    assert [m.id for m in await recipients(db.uow())] == [w.dina.id]
    assert await recipients(db.uow(), HELEN.id) == []


async def test_who_joins_after_the_digest_time_has_the_first_digest_tomorrow(
    db: Database,
) -> None:
    w = await digest_day(db)
    async with db.uow() as uow:  # Helen (09:00 Moscow) joined at 10:00 Moscow on 10 March
        await uow.session.execute(
            update(Manager)
            .where(Manager.id == w.helen.id)
            .values(created_at=datetime(2026, 3, 10, 7, 0, tzinfo=UTC))
        )
        await uow.commit()
    later_that_day = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert [d.manager_id for d in await due_digests(db.uow(), later_that_day)] == [w.dina.id]
    next_morning = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)
    due = await due_digests(db.uow(), next_morning)
    assert sorted(d.manager_id for d in due) == sorted([w.dina.id, w.helen.id])


async def test_digest_command(harness: Harness) -> None:
    await digest_day(harness.db)
    shown = await harness.send(message_update(DINA, "/digest"))
    assert "Сводка" in shown[0].text and shown[-1].method == "sendPhoto"
    [refused] = await harness.send(message_update(ANNA, "/digest"))
    assert refused.text.startswith("The daily digest is for heads and directors.")


# ------------------------------------------------------------------ the daily job

FEB = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)  # no DST change near: Moscow +3, New York −5


async def leaders(db: Database) -> DigestDay:
    w = await digest_day(db)
    async with db.uow() as uow:
        await uow.session.execute(
            update(Manager)
            .where(Manager.id == w.helen.id)
            .values(timezone="America/New_York", digest_time=time(8, 30))
        )
        await uow.session.execute(
            update(Manager)
            .where(Manager.id == w.dina.id)
            .values(timezone="Europe/Moscow", digest_time=time(9, 0))
        )
        await uow.commit()
    return w


def digests_to(stub: BotAPIStub, chat_id: int) -> int:
    return sum(1 for s in stub.sent_to(chat_id) if s.method == "sendMessage")


async def test_daily_job_once_per_local_day_across_timezones(
    db: Database, stub: BotAPIStub, bot: Bot
) -> None:
    i18n = create_i18n()
    with time_machine.travel(FEB, tick=False) as clock:
        await leaders(db)
        steps = [
            # (UTC moment, digests Dina has had, Helen has had)
            ("2026-02-10 05:59", 0, 0),  # 08:59 in Moscow
            ("2026-02-10 06:00", 1, 0),  # 09:00 in Moscow
            ("2026-02-10 06:01", 1, 0),  # the next minute: nothing again
            ("2026-02-10 13:29", 1, 0),  # 08:29 in New York
            ("2026-02-10 13:30", 1, 1),  # 08:30 in New York
            ("2026-02-10 23:00", 1, 1),  # 02:00 on the 11th in Moscow: before her time
            ("2026-02-11 05:00", 1, 1),
        ]
        for moment, to_dina, to_helen in steps:
            clock.move_to(at(moment))
            # a fresh sender each time: as if the bot restarted between the checks
            await digests.send_due_digests(db, bot, i18n, sender=fast_sender(bot))
            assert (digests_to(stub, DINA.id), digests_to(stub, HELEN.id)) == (to_dina, to_helen)
        # down from 05:00 to 20:00 UTC on the 11th: both digests of the 11th go out late, once
        clock.move_to(at("2026-02-11 20:00"))
        for _ in range(2):
            await digests.send_due_digests(db, bot, i18n, sender=fast_sender(bot))
        assert (digests_to(stub, DINA.id), digests_to(stub, HELEN.id)) == (2, 2)
    assert digests_to(stub, ANNA.id) == digests_to(stub, BORIS.id) == 0  # managers get none
    async with db.uow() as uow:
        log = (
            await uow.session.execute(
                select(DigestLog.local_date, func.count()).group_by(DigestLog.local_date)
            )
        ).all()
    assert sorted(log) == [(date(2026, 2, 10), 2), (date(2026, 2, 11), 2)]
    first_dina = stub.sent_to(DINA.id)[0]
    assert "Сводка" in first_dina.text and "09.02.2026" in first_dina.text
    assert "Digest" in next(s for s in stub.sent_to(HELEN.id) if s.method == "sendMessage").text


async def test_startup_hook_puts_the_job_in_the_leaders_scheduler(
    db: Database, stub: BotAPIStub, bot: Bot
) -> None:
    with time_machine.travel(at("2026-02-10 07:00"), tick=False):
        await leaders(db)
        sender = fast_sender(bot)
        scheduler = ReminderScheduler(db, sender)
        dispatcher = SimpleNamespace(
            workflow_data={"reminders": SimpleNamespace(scheduler=scheduler, sender=sender)}
        )
        hooks = digests.setup(Dispatcher())
        await hooks.on_startup(dispatcher, bot, db, create_i18n())  # type: ignore[arg-type]
        assert hooks.own is None  # the job joined the leader's scheduler
        await scheduler.start()
        try:
            assert scheduler.scheduler is not None
            assert scheduler.scheduler.get_job(digests.DIGEST_JOB) is not None
            await stub.wait_for(lambda: digests_to(stub, DINA.id) == 1)
            await asyncio.sleep(0.2)
        finally:
            await scheduler.stop()
    assert (digests_to(stub, DINA.id), digests_to(stub, HELEN.id)) == (1, 0)
    photos = [c for c in stub.calls_of("sendPhoto") if str(c.params["chat_id"]) == str(DINA.id)]
    assert len(photos) == 1


# ------------------------------------------------------------------ chatcrm digest


def test_cli_prints_the_digest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    async def fill() -> None:
        db = Database.from_url(url)
        try:
            await digest_day(db)
        finally:
            await db.dispose()

    asyncio.run(fill())
    get_settings.cache_clear()
    result = runner.invoke(app, ["digest", "--as", str(HELEN.id)])
    assert result.exit_code == 0, result.output
    assert "Digest for" in result.output and "<b>" not in result.output
    assert "Claims past SLA:" in result.output
    get_settings.cache_clear()
    missing = runner.invoke(app, ["digest", "--as", "1"])
    assert missing.exit_code == 1 and "Nobody with Telegram id 1" in missing.output
    get_settings.cache_clear()


class _Telegram(BaseHTTPRequestHandler):
    """A Bot API on a thread (the CLI runs its own event loop): records each method and chat."""

    calls: ClassVar[list[tuple[str, str]]] = []
    blocked: ClassVar[set[str]] = set()  # chats whose user blocked the bot: 403

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        method = self.path.rsplit("/", 1)[-1]
        chat = re.search(r'name="chat_id"\r\n\r\n(-?\d+)|chat_id=(-?\d+)', body)
        chat_id = next((g for g in chat.groups() if g), "") if chat else ""
        _Telegram.calls.append((method, chat_id))
        message = {
            "message_id": len(_Telegram.calls),
            "date": 0,
            "chat": {"id": int(chat_id or 0), "type": "private"},
        }
        status, answer = 200, {"ok": True, "result": message}
        if chat_id in _Telegram.blocked:
            status = 403
            answer = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_cli_sends_the_digests_now(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Telegram)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Telegram.calls.clear()
    runner = CliRunner()
    try:
        monkeypatch.delenv("BOT_TOKEN", raising=False)
        get_settings.cache_clear()
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        asyncio.run(_arranged(url))
        get_settings.cache_clear()
        refused = runner.invoke(app, ["digest", "--send"])
        assert refused.exit_code == 2 and "BOT_TOKEN" in refused.output
        assert _Telegram.calls == []

        monkeypatch.setenv("BOT_TOKEN", "123:abc")
        monkeypatch.setenv("TELEGRAM_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
        bots: list[Bot] = []

        def create_bot(settings: Settings) -> Bot:
            bots.append(real_create_bot(settings))
            return bots[-1]

        monkeypatch.setattr(bot_app, "create_bot", create_bot)
        get_settings.cache_clear()
        result = runner.invoke(app, ["digest", "--send"])
        assert result.exit_code == 0, result.output
        assert "Digests sent: 2." in result.output
        texts = sorted(chat for method, chat in _Telegram.calls if method == "sendMessage")
        assert texts == sorted([str(DINA.id), str(HELEN.id)])  # leaders only, once each
        # a fan-out like the daily job's: each leader's text and chart in the fan-out lane,
        # so the answers and personal notices of a running bot overtake them
        governor = governor_of(bots[0])
        assert governor is not None
        assert governor.stats.sent_by_lane == {"ANSWER": 0, "NOTICE": 0, "FANOUT": 4}

        _Telegram.calls.clear()
        get_settings.cache_clear()
        one = runner.invoke(app, ["digest", "--send", "--as", str(ANNA.id)])
        assert one.exit_code == 0 and "Digests sent: 1." in one.output
        assert [c for c in _Telegram.calls if c[0] == "sendMessage"] == [
            ("sendMessage", str(ANNA.id))
        ]

        # a head who blocked the bot is recorded and their director told, as the bot would
        _Telegram.calls.clear()
        _Telegram.blocked = {str(HELEN.id)}
        get_settings.cache_clear()
        blocked = runner.invoke(app, ["digest", "--send", "--as", str(HELEN.id)])
        assert blocked.exit_code == 0 and "Digests sent: 0." in blocked.output
        assert ("sendMessage", str(DINA.id)) in _Telegram.calls
        assert asyncio.run(_blocked(url)) == {HELEN.id}
    finally:
        _Telegram.blocked = set()
        server.shutdown()
        server.server_close()
        get_settings.cache_clear()


async def _blocked(url: str) -> set[int]:
    db = Database.from_url(url)
    try:
        async with db.uow().read_only() as uow:
            found = await uow.session.scalars(
                select(Manager.tg_id).where(Manager.bot_blocked.is_(True))
            )
            return set(found)
    finally:
        await db.dispose()


async def _arranged(url: str) -> None:
    db = Database.from_url(url)
    try:
        await digest_day(db)
    finally:
        await db.dispose()
