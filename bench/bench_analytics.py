"""Analytics benchmark: every report of `crm.analytics` on 100,000 sales.

    python -m bench.bench_analytics [--sales 100000] [--db sqlite|postgres|both] [--runs 5]

2,000 companies (mostly regular clients) and 20 managers in 4 departments; 100,000
sales over two years, 20,000 deals with stage changes, 20,000 interactions, 5,000
inquiries and 5,000 tasks are bulk-inserted (core INSERTs in batches of 5,000) into a
temporary, migrated database. Each report is then timed as a director (everything)
through the same engine and units of work the bot uses: the median of `--runs` runs
after a warm-up, printed with the target (≤ 1 s on SQLite) and as a ratio to a baseline
measured in the same run: `SELECT count(*) FROM sales` in a read-only unit of work.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text

from bench.bench_claims import COMPANIES, _insert, _people, timed
from bench.databases import database
from crm.access import Actor
from crm.analytics import abc_xyz, digest, forecast, forgotten, funnel, inquiries, managers
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.scope import current_month, last_full_months
from crm.models import Company, Deal, DealStageChange, Inquiry, Interaction, Sale, Task
from crm.storage import Database

TARGET_S = 1.0
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
START = date(2024, 6, 1)
STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
SOURCES = ["web", "phone", "fair", "referral", "email"]


async def populate(db: Database, sales: int, seed: int = 7) -> tuple[Actor, Actor, Actor]:
    rng = random.Random(seed)
    director, head, staff = await _people(db)
    curators = [rng.choice(staff).id for _ in range(COMPANIES)]
    start_at = datetime.combine(START, datetime.min.time(), UTC)
    await _insert(
        db,
        Company.__table__,  # type: ignore[arg-type]
        [
            {
                "id": i + 1,
                "name": f"Company {i + 1:05d}",
                "name_key": f"company {i + 1:05d}",
                "curator_id": curator,
                "stage": rng.choices(["regular", "one_time", "potential", "lost"], [80, 10, 5, 5])[
                    0
                ],
                "tags": [],
                "created_at": start_at,
                "updated_at": start_at,
                "last_interaction_at": NOW - timedelta(days=rng.randrange(120)),
            }
            for i, curator in enumerate(curators)
        ],
    )
    days = (TODAY - START).days
    weights = [rng.paretovariate(1.2) for _ in range(COMPANIES)]
    companies = rng.choices(range(COMPANIES), weights, k=sales)
    rows = []
    for i, company in enumerate(companies):
        amount = Decimal(rng.randrange(1_000, 200_000)) / 10
        rows.append(
            {
                "id": i + 1,
                "company_id": company + 1,
                "manager_id": curators[company],
                "sold_on": START + timedelta(days=rng.randrange(days)),
                "quantity": Decimal(1),
                "amount": amount,
                "cost": (amount * Decimal("0.7")).quantize(Decimal("0.01")),
                "source": "import",
                "created_at": start_at,
            }
        )
    await _insert(db, Sale.__table__, rows)  # type: ignore[arg-type]
    deals, changes = [], []
    for i in range(sales // 5):
        company = rng.randrange(COMPANIES)
        created = start_at + timedelta(seconds=rng.random() * days * 86400)
        stage = rng.choice(STAGES)
        deals.append(
            {
                "id": i + 1,
                "company_id": company + 1,
                "curator_id": curators[company],
                "title": f"Deal {i + 1}",
                "stage": stage,
                "amount": Decimal(rng.randrange(1_000, 100_000)),
                "probability": rng.randrange(5, 95),
                "expected_close": TODAY + timedelta(days=rng.randrange(-30, 180)),
                "created_at": created,
                "updated_at": created,
            }
        )
        reached = STAGES.index(stage) if stage != "lost" else rng.randrange(4)
        for step in range(1, reached + 1):
            changes.append(
                {
                    "deal_id": i + 1,
                    "from_stage": STAGES[step - 1],
                    "to_stage": STAGES[step],
                    "changed_at": created,
                }
            )
    await _insert(db, Deal.__table__, deals)  # type: ignore[arg-type]
    await _insert(db, DealStageChange.__table__, changes)  # type: ignore[arg-type]
    recent = NOW - timedelta(days=60)
    await _insert(
        db,
        Interaction.__table__,  # type: ignore[arg-type]
        [
            {
                "kind": "call",
                "direction": "out",
                "status": "done",
                "occurred_at": recent + timedelta(seconds=rng.random() * 60 * 86400),
                "summary": "",
                "company_id": rng.randrange(COMPANIES) + 1,
                "manager_id": rng.choice(staff).id,
                "created_at": recent,
            }
            for _ in range(sales // 5)
        ],
    )
    await _insert(
        db,
        Inquiry.__table__,  # type: ignore[arg-type]
        [
            {
                "source": rng.choice(SOURCES),
                "text": "",
                "manager_id": rng.choice(staff).id,
                "deal_id": rng.randrange(len(deals)) + 1 if rng.random() < 0.4 else None,
                "received_at": recent + timedelta(seconds=rng.random() * 60 * 86400),
            }
            for _ in range(sales // 20)
        ],
    )
    await _insert(
        db,
        Task.__table__,  # type: ignore[arg-type]
        [
            {
                "title": "t",
                "due_at": NOW + timedelta(days=rng.randrange(-30, 30)),
                "assignee_id": rng.choice(staff).id,
                "status": rng.choice(["open", "done"]),
                "kind": "manual",
                "reminded_late": False,
                "snooze_count": 0,
                "created_at": recent,
            }
            for _ in range(sales // 20)
        ],
    )
    async with db.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    return director, head, staff[0]


def reports(db: Database, actor: Actor) -> dict[str, Callable[[], Awaitable[object]]]:
    year = last_full_months(TODAY)
    month = current_month(TODAY)
    month_start, month_end = month.utc_bounds(actor.timezone)
    return {
        "ABC revenue": lambda: abc_xyz.abc_report(db.uow(), actor, year),
        "ABC margin": lambda: abc_xyz.abc_report(db.uow(), actor, year, AbcMetric.MARGIN),
        "ABC count": lambda: abc_xyz.abc_report(db.uow(), actor, year, AbcMetric.COUNT),
        "XYZ": lambda: abc_xyz.xyz_report(db.uow(), actor, year),
        "ABC x XYZ": lambda: abc_xyz.abc_xyz_matrix(db.uow(), actor, year),
        "funnel (year)": lambda: funnel.funnel_report(
            db.uow(), actor, *year.utc_bounds(actor.timezone)
        ),
        "forecast": lambda: forecast.forecast_report(db.uow(), actor),
        "managers": lambda: managers.managers_report(db.uow(), actor, month, now=NOW),
        "inquiries": lambda: inquiries.inquiries_report(db.uow(), actor, month_start, month_end),
        "forgotten": lambda: forgotten.forgotten_report(db.uow(), actor, 30, now=NOW),
        "digest": lambda: digest.build_digest(db.uow(), actor, now=NOW),
    }


async def run(kind: str, sales: int, runs: int) -> None:
    async with database(kind) as db:
        started = time.perf_counter()
        director, head, manager = await populate(db, sales)
        loaded = time.perf_counter() - started
        print(f"\n== {kind}: {sales:,} sales, {COMPANIES:,} companies loaded in {loaded:.1f} s")

        async def count() -> None:
            async with db.uow().read_only() as uow:
                await uow.session.scalar(select(func.count()).select_from(Sale))

        baseline = await timed(runs, count)
        print(f"  baseline SELECT count(*) FROM sales: {baseline * 1000:8.1f} ms")
        target = TARGET_S if kind == "sqlite" else None
        for who, actor in (("director", director), ("head", head), ("manager", manager)):
            print(f"  as {who}:")
            for label, action in reports(db, actor).items():
                took = await timed(runs, action)
                verdict = "" if target is None else (" ok" if took <= target else " OVER TARGET")
                print(
                    f"    {label:14s} {took * 1000:8.1f} ms{verdict}"
                    f"  = {took / baseline:6.1f}x baseline"
                )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sales", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        asyncio.run(run(kind, args.sales, args.runs))


if __name__ == "__main__":
    main()
