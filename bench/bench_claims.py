"""Claims report benchmark: the report of `crm.analytics.claims` on 100,000 claims.

    python -m bench.bench_claims [--claims 100000] [--db sqlite|postgres|both] [--runs 5]

Claims spread over two years, 2,000 companies and 20 managers in 4 departments are
bulk-inserted (core INSERTs in batches of 5,000) into a temporary, migrated database,
then the report is timed through the same engine and units of work the bot uses, for
a director (everything), a head (a department) and a manager (own clients). Each figure
is the median of `--runs` runs, printed with its target (≤ 1 s on SQLite) and as a ratio
to a baseline measured in the same run: `SELECT COUNT(*) FROM claims` in a read-only
unit of work.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, func, insert, select, text

from bench.databases import database
from crm.access import Actor
from crm.analytics.claims import ClaimsReport, claims_report
from crm.models import Claim, Company, Department, Manager
from crm.models.enums import Role
from crm.services.claims import DEFAULT_SLA_DAYS, ensure_default_causes
from crm.storage import Database

BATCH = 5_000
DEPARTMENTS = 4
MANAGERS_PER_DEPARTMENT = 5
COMPANIES = 2_000
TARGET_S = 1.0
CAUSES = ["quality", "delivery", "billing", "service", "other"]
PRIORITIES = ["low", "normal", "high", "critical"]
PRIORITY_WEIGHTS = [20, 50, 20, 10]
NOW = datetime(2026, 6, 1, tzinfo=UTC)
START = NOW - timedelta(days=730)


async def _insert(db: Database, table: Table, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), BATCH):
        async with db.engine.begin() as conn:
            await conn.execute(insert(table), rows[start : start + BATCH])


async def _people(db: Database) -> tuple[Actor, Actor, list[Actor]]:
    async with db.uow() as uow:
        director = Manager(tg_id=1, name="Director", role=Role.DIRECTOR.value)
        uow.session.add(director)
        heads, managers = [], []
        for d in range(DEPARTMENTS):
            dept = Department(name=f"Dept {d + 1}")
            uow.session.add(dept)
            await uow.flush()
            head = Manager(tg_id=100 + d, name=f"Head {d}", role=Role.HEAD.value, department=dept)
            uow.session.add(head)
            heads.append(head)
            for m in range(MANAGERS_PER_DEPARTMENT):
                manager = Manager(
                    tg_id=1000 + d * 100 + m,
                    name=f"Manager {d}-{m}",
                    role=Role.MANAGER.value,
                    department=dept,
                )
                uow.session.add(manager)
                managers.append(manager)
        await ensure_default_causes(uow)
        await uow.commit()
    return Actor.of(director), Actor.of(heads[0]), [Actor.of(m) for m in managers]


async def populate(db: Database, claims: int, seed: int = 11) -> tuple[Actor, Actor, Actor]:
    rng = random.Random(seed)
    director, head, managers = await _people(db)
    curators = [rng.choice(managers).id for _ in range(COMPANIES)]
    await _insert(
        db,
        Company.__table__,  # type: ignore[arg-type]
        [
            {
                "id": i + 1,
                "name": f"Company {i + 1:05d}",
                "name_key": f"company {i + 1:05d}",
                "curator_id": curator,
                "stage": "regular",
                "tags": [],
                "created_at": START,
                "updated_at": START,
            }
            for i, curator in enumerate(curators)
        ],
    )
    span = (NOW - START).total_seconds()
    rows: list[dict[str, object]] = []
    for i in range(claims):
        company = rng.randrange(COMPANIES)
        priority = rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
        created = START + timedelta(seconds=rng.random() * span)
        due = created + timedelta(days=DEFAULT_SLA_DAYS[priority])  # type: ignore[index]
        roll = rng.random()
        status = "resolved" if roll < 0.7 else "rejected" if roll < 0.8 else "investigating"
        closed = created + timedelta(hours=rng.expovariate(1 / 60)) if roll < 0.8 else None
        rows.append(
            {
                "id": i + 1,
                "company_id": company + 1,
                "text": "claim",
                "cause": rng.choice(CAUSES),
                "priority": priority,
                "status": status,
                "due_at": due,
                "responsible_id": curators[company],
                "resolution": "done" if closed else None,
                "escalation_level": 0,
                "created_at": created,
                "resolved_at": closed,
            }
        )
        if len(rows) == BATCH:
            await _insert(db, Claim.__table__, rows)  # type: ignore[arg-type]
            rows = []
    if rows:
        await _insert(db, Claim.__table__, rows)  # type: ignore[arg-type]
    async with db.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    return director, head, managers[0]


async def timed(runs: int, action: Callable[[], Awaitable[object]]) -> float:
    """Median seconds of `runs` runs, after one warm-up run."""
    await action()
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


async def run(kind: str, claims: int, runs: int) -> None:
    async with database(kind) as db:
        started = time.perf_counter()
        director, head, manager = await populate(db, claims)
        loaded = time.perf_counter() - started
        print(f"\n== {kind}: {claims:,} claims, {COMPANIES:,} companies loaded in {loaded:.1f} s")

        async def count() -> None:
            async with db.uow().read_only() as uow:
                await uow.session.scalar(select(func.count()).select_from(Claim))

        baseline = await timed(runs, count)
        print(f"  baseline SELECT COUNT(*) FROM claims: {baseline * 1000:8.1f} ms")
        target = TARGET_S if kind == "sqlite" else None
        last: ClaimsReport | None = None
        for label, actor in (("director", director), ("head", head), ("manager", manager)):

            async def report(actor: Actor = actor) -> None:
                nonlocal last
                last = await claims_report(db.uow(), actor, START, NOW, top=10, now=NOW)

            took = await timed(runs, report)
            verdict = "" if target is None else (" ok" if took <= target else " OVER TARGET")
            goal = f" (target <= {target:.0f} s{verdict})" if target else ""
            assert last is not None
            print(
                f"  report as {label:8s} ({last.total:6,} claims): {took * 1000:8.1f} ms{goal}"
                f"  = {took / baseline:5.1f}x baseline"
            )
            if label == "director":
                print(
                    f"    median {last.median_hours:.1f} h, p90 {last.p90_hours:.1f} h, "
                    f"within SLA {last.share_within_sla:.1%}, months {len(last.by_month)}"
                )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        asyncio.run(run(kind, args.claims, args.runs))


if __name__ == "__main__":
    main()
