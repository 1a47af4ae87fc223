"""A busy Telegram Business account through the dispatcher: the cost of logging a message.

    python -m bench.bench_business [--messages 2000] [--chats 200] [--db sqlite|postgres|both]
                                   [--companies 100] [--profile]

One hour of a busy manager's account (the issue's figure: 2,000 messages an hour across
200 client chats, every chat linked to a contact, about 6 of 10 messages the client's and
4 the manager's, one every 1.8 s of simulated time, so each chat's messages group into
conversations by the 30-minute gap), fed as `business_message` updates through the real
dispatcher (`bot.app.create_dispatcher`, database FSM storage) with Telegram stubbed in
memory (bench/dispatcher/network.py's MemorySession). In the same run, on the same database
(the demo data, `--companies`, plus the account's contacts):

  echo   bare aiogram answering a text: the floor;
  read1  the echo after one read-only transaction reading the sender's row: the floor of
         any update that touches the database;
  biz    a business message logged: the connection and chat looked up, the message
         stored, its conversation appended to (or begun) and its search row rewritten, the
         company's last interaction moved, the wait for an answer kept; one transaction.

Printed: updates/s, ms per update, the ratio to the echo and to read1 (the added cost per
message, as the issue asks), SQL statements and transactions per update, and how long one
hour of the account's messages takes to log (wall, and CPU: its share of one core). Wall
time on a shared machine counts the other engineers' load too, so each case's CPU is
printed beside it: the bench process's (every thread: aiosqlite's too) plus, on
PostgreSQL, the bench database's server backends', in ms per update, and the business
message's CPU as a ratio to read1's. No target is set by the issue; the run fails only if
a check fails: every message stored once, in the conversations the gap rule gives, with
its text in the transcript.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.types import Update
from sqlalchemy import func, select

from bench.databases import database as temp_database
from bench.dispatcher.measuring import ECHO_UPDATES, Result, SQLCounter, drive
from bench.dispatcher.mixes import text_update
from bench.dispatcher.network import MemorySession
from bench.dispatcher.profiling import profile
from bench.dispatcher.world import echo_dispatcher, one_read_dispatcher
from bench.load_steps import services_cpu
from bot.app import create_dispatcher
from bot.fsm_storage import DatabaseStorage
from crm import demo
from crm.access import Actor
from crm.models import BusinessMessage, Contact, Interaction, Manager
from crm.models.enums import Role
from crm.services.business import connections
from crm.services.business.connections import ConnectionInfo
from crm.services.business.conversations import GAP
from crm.settings import Settings
from crm.storage import Database

TOKEN = "4242:BENCH-business"
CONNECTION = "bc-bench"
CLIENT_IDS = 7_000_000_000  # the clients' Telegram ids start here
WORDS = (
    "pumps price offer invoice delivery tomorrow discount contract stock warehouse "
    "насосы цена предложение счёт доставка завтра скидка договор склад остаток"
).split()


@dataclass(frozen=True)
class Account:
    manager_id: int
    tg_id: int
    chats: int


async def busy_account(db: Database, chats: int) -> Account:
    """A manager connected to Telegram Business whose `chats` clients are contacts."""
    async with db.uow() as uow:
        manager = (
            await uow.session.scalars(
                select(Manager).where(Manager.role == Role.MANAGER.value).order_by(Manager.id)
            )
        ).first()
        assert manager is not None, "the demo data has no manager"
        actor = Actor.of(manager)
        for n in range(chats):
            uow.session.add(
                Contact(
                    name=f"Client {n} Bench",
                    curator_id=manager.id,
                    tg_user_id=CLIENT_IDS + n,
                    email_opt_out=False,
                )
            )
        await uow.commit()
    await connections.record(
        db.uow(),
        actor,
        ConnectionInfo(CONNECTION, actor.tg_id, True, True, datetime.now(UTC)),
    )
    return Account(actor.id, actor.tg_id, chats)


_message_ids = itertools.count(1)


def business_update(
    bot: Bot, account: Account, chat: int, client_writes: bool, at: datetime, text: str
) -> Update:
    client = {"id": CLIENT_IDS + chat, "is_bot": False, "first_name": f"Client {chat}"}
    owner = {"id": account.tg_id, "is_bot": False, "first_name": "Manager"}
    raw: dict[str, Any] = {
        "update_id": next(_message_ids),
        "business_message": {
            "message_id": next(_message_ids),
            "date": int(at.timestamp()),
            "chat": {"id": client["id"], "type": "private", "first_name": client["first_name"]},
            "from": client if client_writes else owner,
            "business_connection_id": CONNECTION,
            "text": text,
        },
    }
    return Update.model_validate(raw, context={"bot": bot})


def hour_of_messages(
    bot: Bot, account: Account, messages: int, start: datetime
) -> tuple[list[Update], int]:
    """`messages` updates spread evenly over one hour, chats taken in a shuffled but fixed
    order; how many conversations the gap rule must make of them."""
    step = timedelta(hours=1) / messages
    updates: list[Update] = []
    last: dict[int, datetime] = {}
    conversations = 0
    for i in range(messages):
        chat = (i * 7919) % account.chats  # a prime stride: every chat, interleaved
        at = start + step * i
        if chat not in last or at - last[chat] >= GAP:
            conversations += 1
        last[chat] = at
        text = " ".join(WORDS[(i + k * 3) % len(WORDS)] for k in range(1 + i % 9))
        updates.append(business_update(bot, account, chat, i % 10 < 6, at, f"{text} #{i}"))
    return updates, conversations


async def check(db: Database, fed: int, conversations: int) -> tuple[bool, str]:
    async with db.uow().read_only() as uow:
        stored = await uow.session.scalar(select(func.count()).select_from(BusinessMessage))
        talks = await uow.session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.channel == "telegram")
        )
        sample = await uow.session.scalar(
            select(Interaction.summary)
            .where(Interaction.channel == "telegram")
            .order_by(Interaction.id)
            .limit(1)
        )
    ok = stored == fed and talks == conversations and bool(sample) and "#" in (sample or "")
    return ok, (
        f"{stored} messages stored for {fed} fed, {talks} conversations"
        f" (the gap rule gives {conversations}) {'ok' if ok else 'FAILED'}"
    )


class CPU:
    """CPU seconds of the bench process (all its threads) and of the PostgreSQL backends
    serving its database (`database`: its name; None on SQLite), between two marks."""

    def __init__(self, database: str | None) -> None:
        self.database = database
        self.spent: dict[str, float] = {}

    def _now(self) -> tuple[float, dict[int, float]]:
        return time.process_time(), services_cpu(self.database, False)

    async def drive(self, name: str, dp: Any, bot: Bot, lanes: Sequence[Sequence[Update]]) -> float:
        own, backends = self._now()
        seconds = await drive(dp, bot, lanes)
        own_after, backends_after = self._now()
        served = sum(v - backends.get(pid, 0.0) for pid, v in backends_after.items())
        self.spent[name] = own_after - own + served
        return seconds

    def ms(self, name: str, updates: int) -> float:
        return self.spent[name] * 1000 / updates


async def run(kind: str, args: argparse.Namespace) -> bool:
    async with temp_database(kind) as db:
        started = time.perf_counter()
        counts = await demo.generate(db, companies=args.companies, seed=1)
        account = await busy_account(db, args.chats)
        print(
            f"\n== {kind}: demo data ({counts.companies} companies, {counts.contacts} contacts)"
            f" + {args.chats} chats' contacts in {time.perf_counter() - started:.1f} s;"
            f" {args.messages} business messages (one hour of the account)"
        )
        session = MemorySession()
        bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        dp = create_dispatcher(
            Settings(_env_file=None),  # type: ignore[call-arg]
            db,
            storage=DatabaseStorage(db),
        )
        counter = SQLCounter(db)
        cpu = CPU(db.engine.url.database if kind == "postgres" else None)
        n = max(args.messages, ECHO_UPDATES)
        echo_lane = [[text_update(bot, account.tg_id, f"hello {i}") for i in range(n)]]
        read_lane = [[text_update(bot, account.tg_id, f"hello {i}") for i in range(n)]]
        await drive(echo_dispatcher(), bot, [echo_lane[0][:100]])
        echo = Result("echo", n, await cpu.drive("echo", echo_dispatcher(), bot, echo_lane))
        reader = one_read_dispatcher(db)
        await drive(reader, bot, [read_lane[0][:100]])
        before = counter.snapshot()
        seconds = await cpu.drive("read1", reader, bot, read_lane)
        read1 = Result("read1", n, seconds, _diff(counter.snapshot(), before))

        # a warm-up hour the day before (other chats' conversations, caches, the FSM rows)
        day_before = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        warm, warm_talks = hour_of_messages(bot, account, min(200, args.messages), day_before)
        await drive(dp, bot, [warm])
        start = day_before + timedelta(hours=2)
        timed, talks = hour_of_messages(bot, account, args.messages, start)
        before = counter.snapshot()
        seconds = await cpu.drive("biz", dp, bot, [timed])
        biz = Result("biz", args.messages, seconds, _diff(counter.snapshot(), before))
        ok, checked = await check(db, len(warm) + len(timed), warm_talks + talks)

        print(f"  echo : {echo.per_second:7.0f} upd/s, {echo.ms:6.2f} ms/update  (bare aiogram)")
        for result in (read1, biz):
            extra = "" if result is read1 else f", {result.ms / read1.ms:4.1f}x read1"
            print(
                f"  {result.name:5s}: {result.per_second:7.0f} upd/s, {result.ms:6.2f} ms/update,"
                f" {result.ms / echo.ms:5.1f}x echo{extra}"
            )
            print(f"         {result.sql_line()}")
        added = biz.ms - read1.ms
        print(
            f"  added cost per business message over read1: {added:.2f} ms"
            f" ({biz.ms / read1.ms:.1f}x read1); one hour of the account ({args.messages}"
            f" messages) is logged in {biz.seconds:.1f} s wall ({biz.seconds / 36:.2f} % of"
            f" the hour), {cpu.spent['biz']:.1f} s CPU ({cpu.spent['biz'] / 36:.2f} % of one core)"
        )
        cpu_ms = {r.name: cpu.ms(r.name, r.updates) for r in (echo, read1, biz)}
        served = " + its PostgreSQL backends" if cpu.database else ""
        print(
            f"  CPU per update (bench process{served}):"
            f" echo {cpu_ms['echo']:.2f} ms, read1 {cpu_ms['read1']:.2f} ms,"
            f" biz {cpu_ms['biz']:.2f} ms; added {cpu_ms['biz'] - cpu_ms['read1']:.2f} ms"
            f" ({cpu_ms['biz'] / cpu_ms['read1']:.1f}x read1)"
        )
        print(f"  check: {checked}")
        if args.profile:
            batch, _talks = hour_of_messages(
                bot, account, min(args.messages, 500), start + timedelta(hours=3)
            )
            await profile(
                f"biz ({len(batch)} updates, {kind})", db, len(batch), _feeder(dp, bot, batch)
            )
        await dp.storage.close()
    return ok


def _feeder(dp: Any, bot: Bot, batch: Sequence[Update]) -> Any:
    return lambda: drive(dp, bot, [batch])


def _diff(after: tuple[int, int, int], before: tuple[int, int, int]) -> tuple[int, int, int]:
    return (after[0] - before[0], after[1] - before[1], after[2] - before[2])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="business messages (an hour)")
    parser.add_argument("--chats", type=int, default=200, help="client chats of the account")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--companies", type=int, default=100, help="demo data size")
    parser.add_argument("--profile", action="store_true", help="cProfile the business case")
    args = parser.parse_args(argv)
    if args.messages < 10 or args.chats < 1:
        parser.error("--messages must be at least 10 and --chats at least 1")
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    ok = True
    for kind in kinds:
        ok &= asyncio.run(run(kind, args))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
