"""Capacity end to end: how many updates a second real `chatcrm run` processes answer with
p99 time-to-answer <= 100 ms, over HTTP, against a floor measured in the same run.

    python -m bench.bench_load [--seconds 5]
                               [--rates 10,25,50,60,70,80,90,100,125,150,200,250,300,400]
                               [--companies 3000] [--managers 600]
                               [--configs echo,read1,read1pg,sqlite,postgres,two]

The configurations, one after another in one run, each behind the same round-robin front
(tests/fixtures/cluster.py Balancer, what nginx's upstream does) and fed by the same
load generator through the Bot API stand-in (bench/load_stand_in.py) in webhook mode:

  echo      bench/echo_bot.py, a bare aiogram webhook bot: the floor of this HTTP path;
  read1     the echo plus one read-only transaction per update through crm's Database
            (`bench.echo_bot --read1`) on SQLite: the floor of any command that touches
            the database, end to end;
  read1pg   the same on PostgreSQL;
  sqlite    one `chatcrm run` on a SQLite file (dialogs in the database);
  postgres  one `chatcrm run` on PostgreSQL (dialogs in the database);
  two       two `chatcrm run` on PostgreSQL with dialogs and event isolation in Redis.

The data is the demo organisation (`crm.demo.generate`, seed 1); the simulated managers
are its managers, each with at most one update in flight (a person waits for the answer).
The mix, in a fixed shuffled cycle: /find with a typo 40 %, a company card opened by its
button 20 %, a deal's stage moved by its button 15 %, `/log company; call; out; …` 15 %,
`/remind <tomorrow 10:00>; …` 10 % (the last three write). Time-to-answer runs from the
moment an update is due to be offered (an open loop at the step's rate: waiting for a
free manager counts) to the first message sent or edited in that chat reaching the
stand-in. The rate climbs step by step (`--seconds` each) until p99 passes 100 ms or
fewer than 95 % of the offered updates are answered; the last step that held is the
configuration's sustained rate. Printed per step: offered and answered updates/s, p50,
p99 (all, and writes alone), the maximum, and the CPU the instances and the load
generator (this process: offering, the front and the stand-in) and the services (the
PostgreSQL backends of the bench's database, and redis-server where used) used, in % of one
core, and how busy the whole machine was (others' work included). At the end, the ceiling
of the two-instance ratio from the CPU measured: the cores the instances can have (all,
less what the generator and the services take per update) divided by their CPU per update,
for two instances (each also at most one core) over one.
After each configuration the work is checked in the database (every answered /log is an
interaction, every answered /remind a task); a failed check fails the run (exit code 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench.bench_dispatcher import Persona, next_move, personas
from bench.databases import database as temp_database
from bench.load_stand_in import StandIn
from crm import demo
from crm.models import (
    Company,
    Contact,
    Deal,
    Interaction,
    Manager,
    SearchEntry,
    Task,
    utcnow,
)
from crm.models.enums import Role, SearchKind
from crm.storage import Database
from handlers.cards.callbacks import COMPANY, CardCb
from tests.fixtures.cluster import RUN, Balancer, Instance, instance_env

ROOT = Path(__file__).resolve().parent.parent
MIX = (("find", 40), ("card", 20), ("move", 15), ("log", 15), ("remind", 10))
WRITES = ("move", "log", "remind")
TARGET_P99 = 0.100
ANSWER_TIMEOUT = 10.0
LOG_SUMMARY = "bench: discussed the offer"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
_ids = itertools.count(10_000_000)


# --- what the managers send ------------------------------------------------------------------


@dataclass
class Person:
    persona: Persona
    names: dict[int, str]  # company id -> name
    turn: int = 0


def kinds(seed: int = 7) -> itertools.cycle[str]:
    cycle = [kind for kind, share in MIX for _ in range(share)]
    random.Random(seed).shuffle(cycle)
    return itertools.cycle(cycle)


def _user(p: Persona) -> dict[str, Any]:
    return {"id": p.tg_id, "is_bot": False, "first_name": "Bench", "language_code": p.language}


def _text(p: Persona, text: str) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": p.tg_id, "type": "private", "first_name": "Bench"},
            "from": _user(p),
            "text": text,
        },
    }


def _press(p: Persona, data: str) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": _user(p),
            "chat_instance": "bench",
            "data": data,
            "message": {
                "message_id": 77,
                "date": int(time.time()),
                "chat": {"id": p.tg_id, "type": "private", "first_name": "Bench"},
                "from": {"id": 1, "is_bot": True, "first_name": "ChatCRM"},
                "text": "card",
            },
        },
    }


def update_for(kind: str, person: Person) -> dict[str, Any]:
    p = person.persona
    person.turn += 1
    query, company_id = p.queries[person.turn % len(p.queries)]
    name = person.names[company_id]
    if kind == "find":
        return _text(p, f"/find {query}")
    if kind == "card":
        return _press(p, CardCb(kind=COMPANY, id=company_id).pack())
    if kind == "move":
        return _press(p, next_move(p))
    if kind == "log":
        return _text(p, f"/log {name}; call; out; {LOG_SUMMARY}")
    tomorrow = utcnow() + timedelta(days=1)
    return _text(p, f"/remind {tomorrow:%d.%m.%Y} 10:00; bench call {name}")


async def enlarge(db: Database, total: int) -> None:
    """`total` managers instead of the demo's 12: each demo manager's companies and their
    deals shared out among them and their new colleagues (same department and language)."""
    async with db.uow() as uow:
        demo_staff = list(
            await uow.session.scalars(
                select(Manager).where(Manager.role == Role.MANAGER.value).order_by(Manager.id)
            )
        )
        teams: dict[int, list[int]] = {m.id: [m.id] for m in demo_staff}
        for n in range(max(0, total - len(demo_staff))):
            base = demo_staff[n % len(demo_staff)]
            clone = Manager(
                tg_id=5_000_000 + n,
                name=f"{base.name} {n}",
                role=base.role,
                department_id=base.department_id,
                language=base.language,
                timezone=base.timezone,
            )
            uow.session.add(clone)
            await uow.session.flush()
            teams[base.id].append(clone.id)
        for base_id, team in teams.items():
            companies = list(
                await uow.session.scalars(
                    select(Company.id).where(Company.curator_id == base_id).order_by(Company.id)
                )
            )
            for k, company_id in enumerate(companies):
                curator = team[k % len(team)]
                if curator == base_id:
                    continue
                await uow.session.execute(
                    update(Company).where(Company.id == company_id).values(curator_id=curator)
                )
                await uow.session.execute(
                    update(Deal).where(Deal.company_id == company_id).values(curator_id=curator)
                )
                await uow.session.execute(
                    update(Contact)
                    .where(Contact.company_id == company_id)
                    .values(curator_id=curator)
                )
                for kind, ids in (  # search is scoped by the owner of each row
                    (SearchKind.COMPANY, select(Company.id).where(Company.id == company_id)),
                    (SearchKind.DEAL, select(Deal.id).where(Deal.company_id == company_id)),
                    (
                        SearchKind.CONTACT,
                        select(Contact.id).where(Contact.company_id == company_id),
                    ),
                ):
                    await uow.session.execute(
                        update(SearchEntry)
                        .where(SearchEntry.kind == kind.value, SearchEntry.entity_id.in_(ids))
                        .values(owner_id=curator)
                    )
        await uow.commit()


async def quiet(db: Database) -> None:
    """Nothing scheduled falls due during the run: the demo's reminders count as sent and the
    digests are due at 23:59. A reminder to a simulated manager would otherwise be taken for
    the answer to their update, and thousands of them would measure the fan-out instead."""
    async with db.uow() as uow:
        await uow.session.execute(
            update(Task).where(Task.reminded_at.is_(None)).values(reminded_at=utcnow())
        )
        await uow.session.execute(update(Manager).values(digest_time=dt_time(23, 59)))
        await uow.commit()


async def people_of(db: Database) -> list[Person]:
    found = await personas(db)
    async with db.uow().read_only() as uow:
        ids = [company_id for p in found for _query, company_id in p.queries]
        rows = await uow.session.execute(
            select(Company.id, Company.name).where(Company.id.in_(ids))
        )
        names = {company_id: name for company_id, name in rows}
        shared = set(  # /log by a name two companies have asks which one: not a write
            await uow.session.scalars(
                select(Company.name).group_by(Company.name).having(func.count() > 1)
            )
        )
    people = []
    for p in found:
        p.queries = [(q, cid) for q, cid in p.queries if names[cid] not in shared]
        if p.queries:
            people.append(Person(p, {cid: names[cid] for _q, cid in p.queries}))
    return people


async def work_done(db: Database) -> tuple[int, int]:
    """(interactions logged by the bench, reminders set by the bench)."""
    async with db.uow().read_only() as uow:
        logged = await uow.session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.summary == LOG_SUMMARY)
        )
        reminded = await uow.session.scalar(
            select(func.count()).select_from(Task).where(Task.title.like("bench call %"))
        )
    return int(logged or 0), int(reminded or 0)


# --- one step of load --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def services_cpu(database: str | None, redis: bool) -> dict[int, float]:
    """CPU seconds so far, by pid, of the PostgreSQL backends serving `database` (their
    process title names it) and, with `redis`, of redis-server (shared with the machine's
    other users, a small share)."""
    found: dict[int, float] = {}
    if database is None and not redis:
        return found
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            ours = (comm == "postgres" and database is not None and f" {database} " in title) or (
                redis and comm == "redis-server"
            )
            if ours:
                found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Step:
    rate: float
    seconds: float = 0.0
    offered: int = 0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lost: int = 0
    answers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    instances_cpu: float = 0.0  # % of one core
    generator_cpu: float = 0.0
    services_cpu: float = 0.0  # the bench database's postgres backends + redis-server
    machine_cpu: float = 0.0  # all processes of the machine

    def cpu_ms(self) -> tuple[float, float, float]:
        """CPU ms per answered update: (the instances, the load generator, the services)."""
        per = 10 * self.seconds / max(1, self.answered)  # % of a core -> ms per update
        return self.instances_cpu * per, self.generator_cpu * per, self.services_cpu * per

    def all(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    def writes(self) -> list[float]:
        return [x for kind in WRITES for x in self.latencies.get(kind, [])]

    @property
    def answered(self) -> int:
        return len(self.all())

    def held(self) -> bool:
        return (
            self.answered >= 0.95 * self.offered
            and self.lost == 0
            and p99(self.all()) <= TARGET_P99
        )


def p99(values: list[float]) -> float:
    if not values:
        return float("inf")
    if len(values) < 100:
        return max(values)
    return statistics.quantiles(values, n=100)[98]


async def step(
    stand_in: StandIn,
    people: list[Person],
    cycle: itertools.cycle[str],
    rate: float,
    seconds: float,
    pids: list[int],
    services: tuple[str | None, bool] = (None, False),
) -> Step:
    result = Step(rate)
    idle: asyncio.Queue[Person] = asyncio.Queue()
    for person in people:
        idle.put_nowait(person)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def offer(person: Person, kind: str, due: float) -> None:
        waiter: asyncio.Future[float] = loop.create_future()
        stand_in.waiting[person.persona.tg_id] = waiter
        try:
            status = await stand_in.deliver(update_for(kind, person))
            if status != 200:
                raise RuntimeError(f"webhook answered {status}")
            answered = await asyncio.wait_for(waiter, ANSWER_TIMEOUT)
            result.latencies[kind].append(answered - due)
            result.answers[kind].append(stand_in.last_text.get(person.persona.tg_id, ""))
        except (TimeoutError, RuntimeError, OSError):
            result.lost += 1
            stand_in.waiting.pop(person.persona.tg_id, None)
        finally:
            idle.put_nowait(person)

    cpu_before = [cpu_seconds(pid) for pid in pids]
    services_before = services_cpu(*services)
    machine_before = machine_cpu()
    own_before = time.process_time()
    started = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        person = await idle.get()
        task = asyncio.create_task(offer(person, next(cycle), due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        result.offered += 1
    if tasks:
        await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    result.instances_cpu = (
        100
        * sum(cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True))
        / result.seconds
    )
    result.generator_cpu = 100 * (time.process_time() - own_before) / result.seconds
    services_after = services_cpu(*services)
    result.services_cpu = (
        100
        * sum(cpu - services_before.get(pid, 0.0) for pid, cpu in services_after.items())
        / result.seconds
    )
    result.machine_cpu = 100 * (machine_cpu() - machine_before) / result.seconds
    return result


def ms(value: float) -> str:
    return "—" if value == float("inf") else f"{value * 1000:6.1f}"


def print_step(s: Step) -> None:
    values, writes = s.all(), s.writes()
    print(
        f"  {s.rate:6.0f}/s offered {s.offered / s.seconds:6.1f}/s answered"
        f" {s.answered / s.seconds:6.1f}/s  p50 {ms(statistics.median(values) if values else 0)}"
        f"  p99 {ms(p99(values))}  writes p99 {ms(p99(writes))}"
        f"  max {ms(max(values) if values else float('inf'))}  lost {s.lost}"
        f"  cpu: instances {s.instances_cpu:4.0f} %, generator {s.generator_cpu:4.0f} %,"
        f" pg+redis {s.services_cpu:4.0f} %, machine {s.machine_cpu:4.0f} %"
        f" (load {os.getloadavg()[0]:.1f})"
        f"  {'ok' if s.held() else 'MISSED'}"
    )
    print(
        "           by kind, p50/p99 ms: "
        + ", ".join(
            f"{kind} {ms(statistics.median(v)).strip()}/{ms(p99(v)).strip()}"
            for kind, v in sorted(s.latencies.items())
            if v
        )
    )


# --- the configurations ----------------------------------------------------------------------


@dataclass
class Result:
    name: str
    sustained: float  # updates/s answered at the last step that held (0: none held)
    steps: list[Step]
    checks_ok: bool = True

    instances: int = 1

    def cpu_ms(self) -> tuple[float, float, float]:
        """CPU ms per update over the steps that held (or the first step): what the
        software costs, whatever else the machine was doing: (the instances, the load
        generator, PostgreSQL + Redis)."""
        steps = [s for s in self.steps if s.held()] or self.steps[:1]
        triples = [s.cpu_ms() for s in steps]
        return (
            statistics.median(p[0] for p in triples) if triples else 0.0,
            statistics.median(p[1] for p in triples) if triples else 0.0,
            statistics.median(p[2] for p in triples) if triples else 0.0,
        )

    def ceiling(self) -> float:
        """The updates/s the CPU allows: the cores left to the instances (all cores, less
        what the generator and the services take per update) over the instances' CPU per
        update, and each instance at most one core."""
        instances, generator, services = self.cpu_ms()
        if not instances:
            return 0.0
        cores = os.cpu_count() or 1
        return min(
            self.instances * 1000 / instances, cores * 1000 / (instances + generator + services)
        )


@contextlib.asynccontextmanager
async def serving(
    name: str, database_url: str | None, count: int, redis: bool, log_dir: Path
) -> AsyncIterator[tuple[StandIn, list[Instance]]]:
    async with StandIn() as stand_in, Balancer() as front:
        env = instance_env(
            stand_in,  # type: ignore[arg-type]
            database_url or "sqlite+aiosqlite:///:memory:",
            REDIS_URL if redis else None,
            front.url + "/tg/hook",
            PYTHONPATH=str(ROOT),
            TELEGRAM_RATE="1000",  # the bench measures the bot, not Telegram's limits
        )
        argv = {
            "echo": ("-m", "bench.echo_bot"),
            "read1": ("-m", "bench.echo_bot", "--read1"),
            "read1pg": ("-m", "bench.echo_bot", "--read1"),
        }.get(name, RUN)
        instances = [Instance(env, log_dir, f"{name}-{n}", argv) for n in range(count)]
        try:
            await asyncio.gather(*(i.start(120) for i in instances))
            front.backends = [i.base for i in instances]
            await asyncio.wait_for(stand_in.webhook_set.wait(), 30)
            yield stand_in, instances
        finally:
            await asyncio.gather(*(i.stop() for i in instances))


async def measure(
    name: str,
    database_url: str | None,
    count: int,
    redis: bool,
    people: list[Person],
    args: argparse.Namespace,
    log_dir: Path,
) -> Result:
    title = {
        "echo": "echo bot (the floor)",
        "read1": "read1: echo + one read, SQLite",
        "read1pg": "read1: echo + one read, PostgreSQL",
        "sqlite": "one instance, SQLite",
        "postgres": "one instance, PostgreSQL",
        "two": "two instances, PostgreSQL + Redis",
    }[name]
    print(f"\n== {title}: {len(people)} managers", flush=True)
    steps: list[Step] = []
    async with serving(name, database_url, count, redis, log_dir) as (stand_in, instances):
        pids = [i.process.pid for i in instances if i.process is not None]
        pg_name = (
            database_url.rsplit("/", 1)[1] if database_url and "postgres" in database_url else None
        )
        services = (pg_name, redis)
        cycle = kinds()
        # warm-up, not reported: the first use of each path (dateparser's languages, the
        # templates, the connection pool) costs up to seconds once
        await step(stand_in, people, cycle, 10, 4, pids, services)
        for rate in args.rates:
            s = await step(stand_in, people, cycle, rate, args.seconds, pids, services)
            steps.append(s)
            print_step(s)
            if not s.held():
                break
    held = [s for s in steps if s.held()]
    sustained = max((s.answered / s.seconds for s in held), default=0.0)
    return Result(title, sustained, steps, instances=count)


def expected_work(steps: list[Step]) -> tuple[int, int]:
    return (
        sum(len(s.latencies.get("log", [])) for s in steps),
        sum(len(s.latencies.get("remind", [])) for s in steps),
    )


async def checked(result: Result, db: Database, before: tuple[int, int]) -> Result:
    """Every answered /log and /remind must be in the database (the answer may also be a
    refusal: then the run is not measuring the mix and fails)."""
    after = await work_done(db)
    done = (after[0] - before[0], after[1] - before[1])
    # the warm-up's writes are not in the steps: at least what the steps answered
    want = expected_work(result.steps)
    if done[0] < want[0] or done[1] < want[1]:
        print(
            f"  CHECK FAILED: logged {done[0]} (answered {want[0]}), reminders {done[1]}"
            f" (answered {want[1]})"
        )
        result.checks_ok = False
        for kind in ("log", "remind"):
            seen = {t.split("\n")[0][:70] for s in result.steps for t in s.answers.get(kind, [])}
            print(f"    answers to {kind}: {sorted(seen)[:6]}")
    return result


async def main(args: argparse.Namespace) -> int:
    print(
        f"bench_load: {os.cpu_count()} CPU cores shared by the instances AND this load generator"
        f" (offering, the front, the stand-in); load average before the run"
        f" {os.getloadavg()[0]:.1f}; steps of {args.seconds:g} s;"
        f" target p99 <= {TARGET_P99 * 1000:.0f} ms"
    )
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="chatcrm-bench-") as folder:
        log_dir = Path(args.logs or folder)
        sqlite_file = log_dir / "bench.db"
        sqlite_url = f"sqlite+aiosqlite:///{sqlite_file}"
        async with contextlib.AsyncExitStack() as stack:
            sqlite = Database.from_url(sqlite_url)
            stack.push_async_callback(sqlite.dispose)
            from crm.migrate import upgrade

            await upgrade(sqlite.engine)
            await demo.generate(sqlite, companies=args.companies, seed=1)
            await enlarge(sqlite, args.managers)
            await quiet(sqlite)
            people = await people_of(sqlite)
            postgres: Database | None = None
            if {"postgres", "two", "read1pg"} & set(args.configs):
                postgres = await stack.enter_async_context(temp_database("postgres"))
                await demo.generate(postgres, companies=args.companies, seed=1)
                await enlarge(postgres, args.managers)
                await quiet(postgres)
            pg_url = postgres.engine.url.render_as_string(hide_password=False) if postgres else None
            pg_people = await people_of(postgres) if postgres else []
            for name in args.configs:
                if name == "echo":
                    results[name] = await measure(name, None, 1, False, people, args, log_dir)
                elif name == "read1":
                    await sqlite.engine.dispose()
                    results[name] = await measure(name, sqlite_url, 1, False, people, args, log_dir)
                elif name == "read1pg":
                    assert pg_url is not None
                    results[name] = await measure(name, pg_url, 1, False, pg_people, args, log_dir)
                elif name == "sqlite":
                    await sqlite.engine.dispose()
                    before = await work_done(sqlite)
                    result = await measure(name, sqlite_url, 1, False, people, args, log_dir)
                    results[name] = await checked(result, sqlite, before)
                else:
                    assert postgres is not None and pg_url is not None
                    before = await work_done(postgres)
                    count, redis = (2, True) if name == "two" else (1, False)
                    result = await measure(name, pg_url, count, redis, pg_people, args, log_dir)
                    results[name] = await checked(result, postgres, before)
    return report(results)


def report(results: dict[str, Result]) -> int:
    print("\n== sustained updates/s with p99 <= 100 ms (the mix)")
    floor = results.get("echo")
    for name, result in results.items():
        ratio = ""
        if floor is not None and name != "echo" and floor.sustained:
            ratio = f"  = {result.sustained / floor.sustained:.2f}x the echo's"
        print(f"  {result.name:<36} {result.sustained:7.1f}/s{ratio}")
    print("\n== CPU per update (median over the steps that held, else the first step)")
    for result in results.values():
        instances, generator, services = result.cpu_ms()
        bound = f"~{1000 / instances:.0f}/s per free core" if instances else ""
        print(
            f"  {result.name:<36} {instances:6.1f} ms in the instances ({bound}),"
            f" {generator:5.1f} ms in the load generator, {services:5.1f} ms in pg+redis;"
            f" CPU ceiling on {os.cpu_count()} cores ~{result.ceiling():.0f}/s"
        )
    ok = all(r.checks_ok for r in results.values())
    one, two = results.get("postgres"), results.get("two")
    if one is not None and two is not None:
        scale = two.sustained / one.sustained if one.sustained else 0.0
        ceiling = two.ceiling() / one.ceiling() if one.ceiling() else 0.0
        print(
            f"  two instances / one on PostgreSQL: {scale:.2f}x measured (target >= 1.7x);"
            f" ceiling from the CPU measured {ceiling:.2f}x"
            f" ({two.ceiling():.0f}/s / {one.ceiling():.0f}/s)"
        )
    single = max((results[n].sustained for n in ("sqlite", "postgres") if n in results), default=0)
    if single:
        print(f"  one instance: {single:.0f}/s (target >= 250/s)")
    return 0 if ok else 1


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_load", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each step")
    parser.add_argument(
        "--rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[10, 25, 50, 60, 70, 80, 90, 100, 125, 150, 200, 250, 300, 400],
        help="offered updates/s, step by step",
    )
    parser.add_argument("--companies", type=int, default=3000, help="demo data size")
    parser.add_argument(
        "--managers",
        type=int,
        default=600,
        help="simulated managers (the demo has 12); Telegram (and the bot's governor) allow "
        "a chat about one message a second, so each must send less than one update a second",
    )
    parser.add_argument(
        "--configs",
        type=lambda s: s.split(","),
        default=["echo", "read1", "read1pg", "sqlite", "postgres", "two"],
        help="which of echo,read1,read1pg,sqlite,postgres,two",
    )
    parser.add_argument("--logs", help="keep the instances' logs in this folder")
    args = parser.parse_args(argv)
    if args.logs:
        Path(args.logs).mkdir(parents=True, exist_ok=True)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
