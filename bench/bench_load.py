"""Capacity end to end: how many updates a second real `chatcrm run` processes answer with
p99 time-to-answer <= 100 ms, over HTTP, against a floor measured in the same run.

    python -m bench.bench_load [--seconds 5]
                               [--rates 10,25,50,60,70,80,90,100,125,150,200,250,300,400]
                               [--companies 3000] [--managers 600]
                               [--configs echo,read1,read1pg,sqlite,postgres,two]

The configurations, one after another in one run, each behind the same round-robin front
(standins/cluster.py Balancer, what nginx's upstream does, shared with the tests) and fed
by the same load generator (bench/load_world.py the updates, bench/load_steps.py the steps)
through the Bot API stand-in (bench/load_stand_in.py) in webhook mode:

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
import os
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench.databases import database as temp_database
from bench.load_stand_in import StandIn
from bench.load_steps import TARGET_P99, Step, print_step, step
from bench.load_world import Person, enlarge, kinds, people_of, quiet, work_done
from crm import demo
from crm.storage import Database
from standins.cluster import RUN, Balancer, Instance, instance_env

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


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
            stand_in,
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
        pg_name = None  # the bench database, named in its PostgreSQL backends' titles
        if database_url is not None and database_url.startswith("postgresql"):
            pg_name = database_url.rsplit("/", 1)[1]
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
