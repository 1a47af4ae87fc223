"""Updates per second through the aiogram Dispatcher, Telegram stubbed out in memory.

    python -m bench.bench_dispatcher [--updates 300] [--db sqlite|postgres|both]
                                     [--companies 300] [--concurrency N]
                                     [--fsm database|redis] [--profile]

The cases, in one run, through the same Bot whose session answers every Bot API call
in memory (no HTTP, no JSON: a sent or edited message comes back as a Message object):

  echo   a bare Dispatcher with one router answering the text back: the floor of aiogram;
  read1  the same echo, which first reads the sender's name in one read-only transaction
         through the project's Database: the floor of any command that touches the
         database (with aiosqlite each statement is a hand-off to its thread and back, so
         on an idle machine the wake-up of a sleeping core is part of every figure below:
         pinning the process to one core, `taskset -c 0`, shows the difference);
  help   `/help` through the real dispatcher: what every update pays before any handler
         work (the manager's lookup, the FSM state read, the locale; no target, for
         telling the middlewares' share from the handlers');
  find   `/find <a company's name with one letter left out>` through the real dispatcher
         (`bot.app.create_dispatcher` with the database FSM storage, or Redis with
         `--fsm redis`): middlewares, the manager's lookup, the FSM, the search and the
         answer with result buttons;
  move   a press on a deal card's stage button (DealCb action=move): the deal moves
         between two open stages (back and forth, so every update really moves it),
         audited, and the card is rendered again and edited in place;
  card   a press on a company's button of a /find answer (CardCb): the company card (its
         deals, open claims, the overdue line) sent as a new message;
  log    `/log <company name>; call; out; <summary>`: an interaction logged on the
         company (found by its unique name), audited, answered;
  remind `/remind <tomorrow dd.mm.yyyy> 10:00; <text>`: a reminder set (dateparser reads
         the time), audited, answered.
The CRM cases are bench_load's mix (find 40 %, card 20 %, move 15 %, log 15 %, remind
10 %); `mix` is their weighted cost per update, the in-process figure to set against
bench_load's CPU per update.

The database is a temporary migrated SQLite file (or a temporary PostgreSQL database,
dropped afterwards) filled by `crm.demo.generate` (`--companies`, seed 1) plus the typo
vocabulary of its search rows (which the demo does not write); the bot is used by the
demo's managers (role manager). Updates are built before the clock starts (as
polling parses them), then fed one at a time with `dp.feed_update` after a short warm-up
(10 %, at most 100); the echo gets at least 3,000 updates, its floor being so small.
A default run takes about half a minute (a CRM update costs tens of milliseconds).
`--concurrency N` feeds N lanes at once (each lane a different manager, one update at a
time per lane). Afterwards the work is checked: every /find answer must list the company
searched for, the database must hold every stage change with the expected final
stages, every card must name its company, every /log and /remind must have written its
row; a check that fails makes the run fail.

Printed per case: updates/s, mean ms per update (wall time / updates), the process's CPU
per update (every thread; on a loaded machine the steadier figure), the cost per update
as a ratio to the echo's (and for the CRM cases to read1's), and the SQL
statements and transactions per update. Issue 16's regression guard, on either
database: find at most 5x read1, move at most 6x read1.
`--profile` then runs each CRM case again under cProfile and prints the top costs.
Exit code 1 if a guard is missed or a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import pstats
import re
import sys
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import (
    EditMessageText,
    GetMe,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, Update, User
from sqlalchemy import event, func, select

from bench.databases import database as temp_database
from bot.app import create_dispatcher
from bot.fsm_storage import DatabaseStorage
from crm import demo
from crm.models import Company, Deal, DealStageChange, Interaction, Manager, Task, utcnow
from crm.models.enums import OPEN_STAGES, DealStage, Role
from crm.settings import Settings
from crm.storage import Database
from handlers.cards.callbacks import COMPANY, CardCb
from handlers.deals.callbacks import DealCb

# issue 16's regression guard, in ratios to read1 (the floor of a database command)
GUARDS = {"find": 5.0, "move": 6.0}
LOG_SUMMARY = "bench: discussed the offer"
REMIND_TITLE = "bench call"
ECHO_UPDATES = 3000  # at least this many echo updates, whatever --updates says
REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_PREFIX = f"chatcrm-bench-{uuid.uuid4().hex[:8]}"
BOT_USER = User(id=4242, is_bot=True, first_name="ChatCRM", username="chatcrm_bench_bot")
TOKEN = "4242:BENCH-dispatcher"
WORD = re.compile(r"[^\W\d_]{6,}")
QUERIES_PER_MANAGER = 40
DEALS_PER_MANAGER = 40


# --- the stubbed network ---------------------------------------------------------------------


class MemorySession(BaseSession):
    """Answers every Bot API call in memory; `record` keeps the calls for the checks."""

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1_000_000)
        self.record = False
        self.calls: list[TelegramMethod[Any]] = []

    def _message(self, chat_id: int | str, text: str, markup: Any, message_id: int) -> Message:
        return Message(
            message_id=message_id,
            date=datetime.now(UTC),
            chat=Chat(id=int(chat_id), type="private"),
            from_user=BOT_USER,
            text=text,
            reply_markup=markup,
        )

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> TelegramType:
        if self.record:
            self.calls.append(method)
        if isinstance(method, SendMessage):
            return self._message(  # type: ignore[return-value]
                method.chat_id, method.text, method.reply_markup, next(self.ids)
            )
        if isinstance(method, EditMessageText):
            return self._message(  # type: ignore[return-value]
                method.chat_id or 0, method.text, method.reply_markup, method.message_id or 0
            )
        if isinstance(method, GetMe):
            return BOT_USER  # type: ignore[return-value]
        return True  # type: ignore[return-value]

    async def close(self) -> None:
        return None

    async def stream_content(  # pragma: no cover - nothing is downloaded
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""


# --- updates -------------------------------------------------------------------------------

_update_ids = itertools.count(1)


def _user(tg_id: int, language: str) -> dict[str, Any]:
    return {"id": tg_id, "is_bot": False, "first_name": "Bench", "language_code": language}


def text_update(bot: Bot, tg_id: int, text: str, language: str = "ru") -> Update:
    """Mounted on the bot as polling does it (feed_update would otherwise round-trip it)."""
    raw = {
        "update_id": next(_update_ids),
        "message": {
            "message_id": next(_update_ids),
            "date": int(time.time()),
            "chat": {"id": tg_id, "type": "private", "first_name": "Bench"},
            "from": _user(tg_id, language),
            "text": text,
        },
    }
    return Update.model_validate(raw, context={"bot": bot})


def press_update(bot: Bot, tg_id: int, data: str, language: str = "ru") -> Update:
    raw = {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": _user(tg_id, language),
            "chat_instance": "bench",
            "data": data,
            "message": {
                "message_id": 77,
                "date": int(time.time()),
                "chat": {"id": tg_id, "type": "private", "first_name": "Bench"},
                "from": BOT_USER.model_dump(exclude_none=True),
                "text": "deal card",
            },
        },
    }
    return Update.model_validate(raw, context={"bot": bot})


def one_typo(name: str) -> str | None:
    """The name with one letter left out of its longest word (6+ letters), or None."""
    words = WORD.findall(name)
    if not words:
        return None
    word = max(words, key=len)
    cut = len(word) // 2
    return name.replace(word, word[:cut] + word[cut + 1 :], 1)


# --- the data set --------------------------------------------------------------------------


@dataclass
class Persona:
    """A manager of the demo data, with the searches and deal moves fed on their behalf."""

    tg_id: int
    manager_id: int
    language: str
    queries: list[tuple[str, int]] = field(default_factory=list)  # (query, company id)
    deals: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (stage, other)
    moves: int = 0
    names: dict[int, str] = field(default_factory=dict)  # company id -> its unique name


async def personas(db: Database) -> list[Persona]:
    """Every manager with enough companies and open deals to feed."""
    found = []
    async with db.uow().read_only() as uow:
        staff = (
            await uow.session.execute(
                select(Manager.id, Manager.tg_id, Manager.language)
                .where(Manager.role == Role.MANAGER.value, Manager.active.is_(True))
                .order_by(Manager.id)
            )
        ).all()
        for manager_id, tg_id, language in staff:
            persona = Persona(tg_id, manager_id, language or "ru")
            names = await uow.session.execute(
                select(Company.name, Company.id)
                .where(Company.curator_id == manager_id)
                .order_by(Company.id)
                .limit(QUERIES_PER_MANAGER)
            )
            for name, company_id in names:
                query = one_typo(name)
                if query is not None:
                    persona.queries.append((query, company_id))
            open_deals = await uow.session.execute(
                select(Deal.id, Deal.stage)
                .where(
                    Deal.curator_id == manager_id,
                    Deal.stage.in_([s.value for s in OPEN_STAGES]),
                )
                .order_by(Deal.id)
                .limit(DEALS_PER_MANAGER)
            )
            for deal_id, stage in open_deals:
                index = OPEN_STAGES.index(DealStage(stage))
                other = OPEN_STAGES[index + 1 if index + 1 < len(OPEN_STAGES) else index - 1]
                persona.deals[deal_id] = (stage, other.value)
            if persona.queries and persona.deals:
                found.append(persona)
        shared = set(  # /log by a name two companies have asks which one: not a write
            await uow.session.scalars(
                select(Company.name).group_by(Company.name).having(func.count() > 1)
            )
        )
        ids = [company_id for p in found for _query, company_id in p.queries]
        named = await uow.session.execute(
            select(Company.id, Company.name).where(Company.id.in_(ids))
        )
        unique = {company_id: name for company_id, name in named if name not in shared}
        for p in found:
            p.names = {cid: unique[cid] for _query, cid in p.queries if cid in unique}
    if not found:
        raise SystemExit("the demo data has no manager with companies and open deals")
    return found


def next_move(persona: Persona) -> str:
    """The callback data of the next move: deals in turn, each to its other stage."""
    deal_ids = list(persona.deals)
    deal_id = deal_ids[persona.moves % len(deal_ids)]
    persona.moves += 1
    stage, other = persona.deals[deal_id]
    persona.deals[deal_id] = (other, stage)
    return DealCb(action="move", deal_id=deal_id, stage=other).pack()


# --- the run -------------------------------------------------------------------------------


def fsm_storage(kind: str, db: Database) -> BaseStorage:
    """The bot's database storage (the default), or Redis as REDIS_URL would configure it."""
    if kind == "redis":
        keys = DefaultKeyBuilder(prefix=REDIS_PREFIX, with_bot_id=True, with_destiny=True)
        return RedisStorage.from_url(REDIS_URL, key_builder=keys)
    return DatabaseStorage(db)


class SQLCounter:
    """Statements, transactions and commits the engine has run so far."""

    def __init__(self, db: Database) -> None:
        self.statements = self.transactions = self.commits = 0
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _begin(self, *_: Any) -> None:
        self.transactions += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1

    def snapshot(self) -> tuple[int, int, int]:
        return self.statements, self.transactions, self.commits


@dataclass
class Result:
    name: str
    updates: int
    seconds: float
    sql: tuple[int, int, int] = (0, 0, 0)  # statements, transactions, commits during the run
    cpu_seconds: float = 0.0  # the process's CPU (every thread: aiosqlite's too) in the run

    def sql_line(self) -> str:
        statements, transactions, commits = (x / self.updates for x in self.sql)
        return (
            f"{statements:.1f} SQL statements in {transactions:.1f} transactions"
            f" ({commits:.1f} committed) per update"
        )

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    @property
    def ms(self) -> float:
        return self.seconds * 1000 / self.updates

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds * 1000 / self.updates


async def drive(dp: Dispatcher, bot: Bot, lanes: Sequence[Sequence[Update]]) -> float:
    """Seconds to feed every lane, the lanes at once, each one update at a time."""

    async def lane(updates: Sequence[Update]) -> None:
        for update in updates:
            await dp.feed_update(bot, update)

    started = time.perf_counter()
    await asyncio.gather(*(lane(u) for u in lanes))
    return time.perf_counter() - started


Make = Callable[["Persona", int], Update]


def build(people: Sequence[Persona], total: int, make: Make) -> list[list[Update]]:
    """`total` updates shared out between one lane per persona."""
    lanes = len(people)
    sizes = [total // lanes + (1 if i < total % lanes else 0) for i in range(lanes)]
    return [[make(p, i) for i in range(n)] for p, n in zip(people, sizes, strict=True)]


async def measure(
    name: str,
    dp: Dispatcher,
    bot: Bot,
    people: Sequence[Persona],
    make: Make,
    updates: int,
    warmup: int,
    counter: SQLCounter | None = None,
) -> Result:
    warm = build(people, warmup, make)
    timed = build(people, updates, make)
    await drive(dp, bot, warm)
    before = counter.snapshot() if counter else (0, 0, 0)
    cpu = time.process_time()
    seconds = await drive(dp, bot, timed)
    cpu = time.process_time() - cpu
    after = counter.snapshot() if counter else (0, 0, 0)
    sql = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
    return Result(name, updates, seconds, sql, cpu)


def echo_dispatcher() -> Dispatcher:
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher(name="echo")
    dp.include_router(router)
    return dp


def one_read_dispatcher(db: Database) -> Dispatcher:
    """The echo plus the least any CRM command does: one read-only transaction reading one
    row (the sender's, by Telegram id) through the project's own Database."""
    router = Router(name="one-read")

    @router.message()
    async def one_read(message: Message) -> None:
        assert message.from_user is not None
        async with db.uow().read_only() as uow:
            name = await uow.session.scalar(
                select(Manager.name).where(Manager.tg_id == message.from_user.id)
            )
        await message.answer(name or "")

    dp = Dispatcher(name="one-read")
    dp.include_router(router)
    return dp


def check_find(session: MemorySession, expected: dict[int, list[int]]) -> tuple[int, int]:
    """(answers listing the company searched for, answers) of the recorded /find updates.

    `expected`: per chat, the company ids searched for in the order they were fed.
    """
    hits = answers = 0
    for chat_id, companies in expected.items():
        sent = [c for c in session.calls if isinstance(c, SendMessage) and c.chat_id == chat_id]
        answers += len(sent)
        for call, company_id in zip(sent, companies, strict=False):
            wanted = CardCb(kind=COMPANY, id=company_id).pack()
            keyboard = getattr(call.reply_markup, "inline_keyboard", None) or []
            hits += any(b.callback_data == wanted for row in keyboard for b in row)
    return hits, answers


async def check_moves(
    db: Database, people: Sequence[Persona], since: datetime
) -> tuple[int, int, int]:
    """(stage changes written, moves fed, deals not at their expected stage)."""
    async with db.uow().read_only() as uow:
        written = await uow.session.scalar(
            select(func.count())
            .select_from(DealStageChange)
            .where(
                DealStageChange.changed_at >= since,
                DealStageChange.manager_id.in_([p.manager_id for p in people]),
            )
        )
        wanted = {d: s for p in people for d, (s, _) in p.deals.items()}
        stages = dict(
            (
                await uow.session.execute(select(Deal.id, Deal.stage).where(Deal.id.in_(wanted)))
            ).all()  # type: ignore[arg-type]
        )
    wrong = sum(1 for d, s in wanted.items() if stages.get(d) != s)
    return int(written or 0), sum(p.moves for p in people), wrong


async def check_writes(db: Database) -> tuple[int, int]:
    """(interactions logged by the log case, reminders set by the remind case)."""
    async with db.uow().read_only() as uow:
        logged = await uow.session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.summary == LOG_SUMMARY)
        )
        reminded = await uow.session.scalar(
            select(func.count()).select_from(Task).where(Task.title.like(f"{REMIND_TITLE} %"))
        )
    return int(logged or 0), int(reminded or 0)


class StatementTimer:
    """Wall time of each SQL statement (its text shortened), from execute to result."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.times: dict[str, list[float]] = {}
        self.started: dict[int, float] = {}

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        self.started[id(conn)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        took = time.perf_counter() - self.started.pop(id(conn), time.perf_counter())
        entry = self.times.setdefault(" ".join(statement.split())[:110], [0, 0.0])
        entry[0] += 1
        entry[1] += took

    def __enter__(self) -> StatementTimer:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def _area(filename: str) -> str:
    """The package a profiled function belongs to (site-packages name, project folder)."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    for folder in ("crm", "handlers", "bot", "bench"):
        if f"/{folder}/" in filename:
            return folder
    return "python (asyncio, ...)"


async def profile(
    label: str, db: Database, updates: int, action: Callable[[], Awaitable[object]]
) -> None:
    """cProfile of the event loop's thread in its own CPU time (`time.thread_time`: what
    other processes and threads take is not charged to it) grouped by package, the
    project's own functions by cumulative time, and the SQL statements by wall time.

    The hand-off to aiosqlite's thread shows as `SimpleQueue.put_nowait` (the GIL goes
    with it); the statements' own work is in that thread, so only in the SQL wall times.
    """
    profiler = cProfile.Profile(time.thread_time)
    with StatementTimer(db) as timer:
        profiler.enable()
        await action()
        profiler.disable()
    stats = pstats.Stats(profiler)
    per = 1000 / updates
    areas: dict[str, list[float]] = {}
    own: list[tuple[float, int, str]] = []
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_, calls, tottime, cumtime, _) in entries.items():
        area = _area(filename)
        if filename == "~":  # built-in: the hand-off to aiosqlite's thread and the wait for it
            waiting = "poll" in name or "put_nowait" in name
            area = "waiting for the database (epoll, queue)" if waiting else "builtins"
        bucket = areas.setdefault(area, [0, 0.0])
        bucket[0] += calls
        bucket[1] += tottime
        if area in ("crm", "handlers", "bot"):
            where = f"{filename.rsplit('/', 2)[-2]}/{filename.rsplit('/', 1)[-1]}:{line} {name}"
            own.append((cumtime, calls, where))
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"\n  -- profile of {label}: {total * per:.1f} ms CPU/update under cProfile --")
    print("  own time by package (ms/update, function calls/update):")
    for area, (calls, tottime) in sorted(areas.items(), key=lambda kv: -kv[1][1])[:10]:
        print(f"    {tottime * per:7.2f} ms {calls / updates:8.0f} calls  {area}")
    if own:
        print("  project functions by cumulative time (coroutines: while running, not awaiting):")
        for cumtime, calls, where in sorted(own, reverse=True)[:12]:
            print(f"    {cumtime * per:7.2f} ms {calls / updates:6.1f}x  {where}")
    if timer.times:
        print("  SQL statements by wall time (ms/update, statements/update, mean ms):")
        ranked = sorted(timer.times.items(), key=lambda kv: -kv[1][1])[:10]
        for statement, (count, seconds) in ranked:
            mean = seconds * 1000 / count
            print(f"    {seconds * per:7.2f} ms {count / updates:4.1f}x {mean:6.2f}  {statement}")


async def run(kind: str, args: argparse.Namespace) -> bool:
    ok = True
    async with temp_database(kind) as db:
        started = time.perf_counter()
        counts = await demo.generate(db, companies=args.companies, seed=1)
        people = await personas(db)
        lanes = min(args.concurrency, len(people))
        if lanes < args.concurrency:
            print(f"  (only {len(people)} managers to use: concurrency {lanes})")
        people = people[:lanes]
        print(
            f"\n== {kind}: demo data ({counts.companies} companies, {counts.contacts} contacts,"
            f" {counts.deals} deals) in {time.perf_counter() - started:.1f} s;"
            f" {args.updates} updates per case (echo {max(args.updates, ECHO_UPDATES)}),"
            f" concurrency {lanes}, FSM in the {args.fsm}"
        )

        session = MemorySession()
        bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        dp = create_dispatcher(settings, db, storage=fsm_storage(args.fsm, db))
        echo_dp = echo_dispatcher()
        warmup = max(lanes, min(100, args.updates // 10))

        def echo_update(p: Persona, i: int) -> Update:
            return text_update(bot, p.tg_id, f"hello {i}", p.language)

        expected: dict[int, list[int]] = {p.tg_id: [] for p in people}

        def find_update(p: Persona, i: int) -> Update:
            query, company_id = p.queries[i % len(p.queries)]
            expected[p.tg_id].append(company_id)
            return text_update(bot, p.tg_id, f"/find {query}", p.language)

        def move_update(p: Persona, i: int) -> Update:
            return press_update(bot, p.tg_id, next_move(p), p.language)

        def help_update(p: Persona, i: int) -> Update:
            return text_update(bot, p.tg_id, "/help", p.language)

        card_names = {escape(n, quote=False) for p in people for n in p.names.values()}

        def card_update(p: Persona, i: int) -> Update:
            company_id = list(p.names)[i % len(p.names)]
            return press_update(bot, p.tg_id, CardCb(kind=COMPANY, id=company_id).pack())

        def log_update(p: Persona, i: int) -> Update:
            name = list(p.names.values())[i % len(p.names)]
            return text_update(bot, p.tg_id, f"/log {name}; call; out; {LOG_SUMMARY}", p.language)

        def remind_update(p: Persona, i: int) -> Update:
            tomorrow = utcnow() + timedelta(days=1)
            name = list(p.names.values())[i % len(p.names)]
            text = f"/remind {tomorrow:%d.%m.%Y} 10:00; {REMIND_TITLE} {name}"
            return text_update(bot, p.tg_id, text, p.language)

        # the echo is cheap: more of it for a steady floor (its cost per update is compared)
        echo_n = max(args.updates, ECHO_UPDATES)
        echo = await measure("echo", echo_dp, bot, people, echo_update, echo_n, warmup)
        counter = SQLCounter(db)
        read1 = await measure(
            "read1", one_read_dispatcher(db), bot, people, echo_update, echo_n, warmup, counter
        )
        # /help: the real dispatcher's per-update plumbing around a handler that reads nothing
        session.record = True
        plumbing = await measure(
            "help", dp, bot, people, help_update, args.updates, warmup, counter
        )
        # the command list, not the hint for strangers
        helped = sum(isinstance(c, SendMessage) and "/find" in c.text for c in session.calls)
        session.calls.clear()

        # /find: recorded so that the answers can be checked afterwards
        find = await measure("find", dp, bot, people, find_update, args.updates, warmup, counter)
        session.record = False
        hits, answers = check_find(session, expected)
        session.calls.clear()

        since = datetime.now(UTC)
        move = await measure("move", dp, bot, people, move_update, args.updates, warmup, counter)
        written, fed, wrong = await check_moves(db, people, since)

        session.record = True
        card = await measure("card", dp, bot, people, card_update, args.updates, warmup, counter)
        carded = sum(
            isinstance(c, SendMessage) and any(n in c.text for n in card_names)
            for c in session.calls
        )
        session.calls.clear()
        session.record = False
        log = await measure("log", dp, bot, people, log_update, args.updates, warmup, counter)
        remind = await measure(
            "remind", dp, bot, people, remind_update, args.updates, warmup, counter
        )
        logged, reminded = await check_writes(db)

        print(
            f"  {'echo':6s}: {echo.per_second:6.0f} upd/s, {echo.ms:6.2f} ms/update,"
            f" CPU {echo.cpu_ms:6.2f} ms  (bare aiogram: the floor)"
        )
        for result in (read1, plumbing, find, move, card, log, remind):
            ratio = result.ms / echo.ms
            if result is read1:
                verdict = "  (echo + one read transaction: the floor of a database command)"
            elif result is plumbing:
                verdict = "  (middlewares only: no guard)"
            else:
                verdict = f" = {result.ms / read1.ms:4.1f}x read1"
            guard = GUARDS.get(result.name)
            if guard is not None:
                passed = result.ms / read1.ms <= guard
                ok &= passed
                verdict += f"  guard <= {guard:.0f}x read1: {'PASS' if passed else 'FAIL'}"
            print(
                f"  {result.name:6s}: {result.per_second:6.0f} upd/s, {result.ms:6.2f} ms/update,"
                f" CPU {result.cpu_ms:6.2f} ms, {ratio:5.1f}x echo{verdict}"
            )
            print(f"          {result.sql_line()}")
        shares = ((find, 40), (card, 20), (move, 15), (log, 15), (remind, 10))
        mix_ms = sum(r.ms * share for r, share in shares) / 100
        mix_cpu = sum(r.cpu_ms * share for r, share in shares) / 100
        print(
            f"  mix   : {1000 / mix_ms:6.0f} upd/s, {mix_ms:6.2f} ms/update, CPU {mix_cpu:6.2f} ms"
            f" = {mix_ms / read1.ms:4.1f}x read1 (CPU {mix_cpu / read1.cpu_ms:4.1f}x)"
            "  (find 40, card 20, move 15, log 15, remind 10 %)"
        )
        find_ok = answers == args.updates + warmup and hits == answers
        help_ok = helped == args.updates + warmup
        ok &= help_ok
        move_ok = written == fed and wrong == 0
        ok &= find_ok and move_ok
        print(
            f"  check help: {helped} command lists for {args.updates + warmup} /help"
            f" {'ok' if help_ok else 'FAILED'}"
        )
        print(
            f"  check find: {hits}/{answers} answers list the company searched for"
            f" ({args.updates + warmup} fed) {'ok' if find_ok else 'FAILED'}"
        )
        print(
            f"  check move: {written} stage changes written for {fed} presses,"
            f" {wrong} deals off their expected stage {'ok' if move_ok else 'FAILED'}"
        )
        fed = args.updates + warmup
        writes_ok = carded == fed and logged == fed and reminded == fed
        ok &= writes_ok
        print(
            f"  check card/log/remind: {carded} cards naming the company, {logged} interactions"
            f" logged, {reminded} reminders set, of {fed} each {'ok' if writes_ok else 'FAILED'}"
        )

        if args.profile:
            n = min(args.updates, 500)
            for name, make, case_dp in (
                ("echo", echo_update, echo_dp),
                ("read1", echo_update, one_read_dispatcher(db)),
                ("help", help_update, dp),
                ("find", find_update, dp),
                ("move", move_update, dp),
                ("card", card_update, dp),
                ("log", log_update, dp),
                ("remind", remind_update, dp),
            ):
                batch = build(people, n, make)
                label = f"{name} ({n} updates, {kind})"
                await profile(label, db, n, lambda d=case_dp, b=batch: drive(d, bot, b))
        if isinstance(dp.storage, RedisStorage):
            keys = [k async for k in dp.storage.redis.scan_iter(match=f"{REDIS_PREFIX}:*")]
            if keys:
                await dp.storage.redis.delete(*keys)
        await dp.storage.close()
    return ok


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--updates", type=int, default=300, help="timed updates per CRM case (echo: >= 3000)"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--companies", type=int, default=300, help="demo data size")
    parser.add_argument("--concurrency", type=int, default=1, help="lanes fed at once")
    parser.add_argument(
        "--fsm",
        choices=("database", "redis"),
        default="database",
        help=f"dialog state storage (redis: {REDIS_URL}, keys removed afterwards)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile each case afterwards")
    args = parser.parse_args(argv)
    if args.updates < 1 or args.concurrency < 1:
        parser.error("--updates and --concurrency must be at least 1")
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    ok = True
    for kind in kinds:
        ok &= asyncio.run(run(kind, args))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
