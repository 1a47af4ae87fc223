"""The command (`python -m bench.bench_dispatcher`, whose docstring says what it measures):
per database, the world built, every case measured in turn, the figures and the checks
printed against issue 16's guards, and `--profile`'s profiles."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import SendMessage, TelegramMethod

from bench.databases import database as temp_database
from bench.dispatcher.checks import check_find, check_moves, check_writes
from bench.dispatcher.measuring import ECHO_UPDATES, Make, Result, SQLCounter, build, drive
from bench.dispatcher.measuring import measure as measure_case
from bench.dispatcher.mixes import MIX, Cases
from bench.dispatcher.network import TOKEN, MemorySession
from bench.dispatcher.profiling import profile
from bench.dispatcher.world import (
    REDIS_URL,
    Persona,
    close_storage,
    echo_dispatcher,
    fsm_storage,
    one_read_dispatcher,
    personas,
)
from bot.app import create_dispatcher
from crm import demo
from crm.settings import Settings
from crm.storage import Database

# issue 16's regression guard, in ratios to read1 (the floor of a database command)
GUARDS = {"find": 5.0, "move": 6.0}


@dataclass
class World:
    """One database's run: the personas fed in lanes, the Bot on the stubbed network, the
    real dispatcher and the echo."""

    db: Database
    session: MemorySession
    bot: Bot
    dp: Dispatcher
    echo_dp: Dispatcher
    people: list[Persona]
    cases: Cases
    updates: int  # per CRM case
    warmup: int

    async def measure(
        self,
        name: str,
        dp: Dispatcher,
        make: Make,
        updates: int | None = None,
        counter: SQLCounter | None = None,
    ) -> Result:
        n = self.updates if updates is None else updates
        return await measure_case(name, dp, self.bot, self.people, make, n, self.warmup, counter)

    @contextmanager
    def recording(self) -> Iterator[list[TelegramMethod[object]]]:
        """The Bot API calls made inside, for the checks; forgotten afterwards."""
        self.session.record = True
        try:
            yield self.session.calls
        finally:
            self.session.record = False
            self.session.calls.clear()


@dataclass
class Checked:
    """What the checks found after the timed runs."""

    helped: int  # /help answered with the command list
    hits: int  # /find answers listing the company searched for
    answers: int  # /find answers
    written: int  # stage changes written
    moves: int  # stage moves fed
    wrong: int  # deals off their expected stage
    carded: int  # company cards naming their company
    logged: int  # interactions of /log
    reminded: int  # reminders of /remind


async def build_world(kind: str, db: Database, args: argparse.Namespace) -> World:
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
    warmup = max(lanes, min(100, args.updates // 10))
    cases = Cases(bot, people)
    return World(db, session, bot, dp, echo_dispatcher(), people, cases, args.updates, warmup)


async def measure_all(w: World) -> tuple[dict[str, Result], Checked]:
    """Every case in turn (the order matters: the CRM cases' work is checked between
    them), each result by its case's name."""
    cases, db = w.cases, w.db
    # the echo is cheap: more of it for a steady floor (its cost per update is compared)
    echo_n = max(w.updates, ECHO_UPDATES)
    echo = await w.measure("echo", w.echo_dp, cases.echo, echo_n)
    counter = SQLCounter(db)
    read1 = await w.measure("read1", one_read_dispatcher(db), cases.echo, echo_n, counter)
    # /help: the real dispatcher's per-update plumbing around a handler that reads nothing
    with w.recording() as calls:
        plumbing = await w.measure("help", w.dp, cases.help, counter=counter)
        # the command list, not the hint for strangers
        helped = sum(isinstance(c, SendMessage) and "/find" in c.text for c in calls)
    # /find: recorded so that the answers can be checked afterwards
    with w.recording():
        find = await w.measure("find", w.dp, cases.find, counter=counter)
        hits, answers = check_find(w.session, cases.expected)

    since = datetime.now(UTC)
    move = await w.measure("move", w.dp, cases.move, counter=counter)
    written, moves, wrong = await check_moves(db, w.people, since)

    with w.recording() as calls:
        card = await w.measure("card", w.dp, cases.card, counter=counter)
        carded = sum(
            isinstance(c, SendMessage) and any(n in c.text for n in cases.card_names) for c in calls
        )
    log = await w.measure("log", w.dp, cases.log, counter=counter)
    remind = await w.measure("remind", w.dp, cases.remind, counter=counter)
    logged, reminded = await check_writes(db)
    results = (echo, read1, plumbing, find, move, card, log, remind)
    checked = Checked(helped, hits, answers, written, moves, wrong, carded, logged, reminded)
    return {r.name: r for r in results}, checked


def print_figures(results: dict[str, Result]) -> bool:
    """Each case's figures and the mix's; False if a guard is missed."""
    ok = True
    echo, read1, plumbing = results["echo"], results["read1"], results["help"]
    print(
        f"  {'echo':6s}: {echo.per_second:6.0f} upd/s, {echo.ms:6.2f} ms/update,"
        f" CPU {echo.cpu_ms:6.2f} ms  (bare aiogram: the floor)"
    )
    for result in (r for name, r in results.items() if name != "echo"):
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
    mix_ms = sum(results[name].ms * share for name, share in MIX) / 100
    mix_cpu = sum(results[name].cpu_ms * share for name, share in MIX) / 100
    shares = ", ".join(f"{name} {share}" for name, share in MIX)
    print(
        f"  mix   : {1000 / mix_ms:6.0f} upd/s, {mix_ms:6.2f} ms/update, CPU {mix_cpu:6.2f} ms"
        f" = {mix_ms / read1.ms:4.1f}x read1 (CPU {mix_cpu / read1.cpu_ms:4.1f}x)"
        f"  ({shares} %)"
    )
    return ok


def print_checks(checked: Checked, fed: int) -> bool:
    """Each check's line (`fed`: updates fed per case, warm-up included); False if one
    failed."""
    c = checked
    help_ok = c.helped == fed
    find_ok = c.answers == fed and c.hits == c.answers
    move_ok = c.written == c.moves and c.wrong == 0
    writes_ok = c.carded == fed and c.logged == fed and c.reminded == fed
    print(f"  check help: {c.helped} command lists for {fed} /help {'ok' if help_ok else 'FAILED'}")
    print(
        f"  check find: {c.hits}/{c.answers} answers list the company searched for"
        f" ({fed} fed) {'ok' if find_ok else 'FAILED'}"
    )
    print(
        f"  check move: {c.written} stage changes written for {c.moves} presses,"
        f" {c.wrong} deals off their expected stage {'ok' if move_ok else 'FAILED'}"
    )
    print(
        f"  check card/log/remind: {c.carded} cards naming the company, {c.logged} interactions"
        f" logged, {c.reminded} reminders set, of {fed} each {'ok' if writes_ok else 'FAILED'}"
    )
    return help_ok and find_ok and move_ok and writes_ok


async def profile_all(w: World, kind: str) -> None:
    """Each case again under cProfile (at most 500 updates)."""
    n = min(w.updates, 500)
    cases = w.cases
    for name, make, case_dp in (
        ("echo", cases.echo, w.echo_dp),
        ("read1", cases.echo, one_read_dispatcher(w.db)),
        ("help", cases.help, w.dp),
        ("find", cases.find, w.dp),
        ("move", cases.move, w.dp),
        ("card", cases.card, w.dp),
        ("log", cases.log, w.dp),
        ("remind", cases.remind, w.dp),
    ):
        batch = build(w.people, n, make)
        label = f"{name} ({n} updates, {kind})"
        await profile(label, w.db, n, partial(drive, case_dp, w.bot, batch))


async def run(kind: str, args: argparse.Namespace) -> bool:
    async with temp_database(kind) as db:
        world = await build_world(kind, db, args)
        results, checked = await measure_all(world)
        ok = print_figures(results)
        ok &= print_checks(checked, args.updates + world.warmup)
        if args.profile:
            await profile_all(world, kind)
        await close_storage(world.dp)
    return ok


def main(argv: Sequence[str] | None = None, *, doc: str | None = None) -> None:
    """`doc`: the command's docstring, its first line the description of --help."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
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
