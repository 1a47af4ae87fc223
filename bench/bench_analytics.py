"""Analytics benchmark: every report of `crm.analytics`, on rollups of N sales.

    python -m bench.bench_analytics [--sales 1000000] [--db sqlite|postgres|both] [--runs 5]

2,000 companies (mostly regular clients) and 20 managers in 4 departments; N sales over
two years (nine in ten with a payment due date, some of them overdue), N/5 deals with
stage changes, N/5 interactions, N/20 inquiries and N/20 tasks
are bulk-inserted (core INSERTs in batches of 5,000) into a temporary, migrated database,
and the monthly rollups are built from the sales as the migration does. Each report is
then timed as a director (everything), a head (a department) and a manager (their own)
through the same engine and units of work the bot uses: the median of `--runs` runs after
a warm-up, with the target (every director report ≤ 100 ms), and the median CPU time of
this process beside it (what the report costs where the machine is shared: on SQLite the
database runs in the process, on PostgreSQL the server's CPU is not counted).

Baselines measured in the same run, for the director's ABC and XYZ over the same 12
months: the plain SQL over the sales table (what the reports did before the rollups),
and pandas reading the period's sales and computing ABC (with the `bench` extra); for the
director's funnel, the furthest stage of each deal from its stage history (what the
funnel did before deals kept `reached_rank`, migration 0011).
ABC's target: at least 10× faster than both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text, union_all

from bench.bench_claims import COMPANIES, _insert, _people
from bench.databases import database
from crm.access import Actor
from crm.analytics import (
    abc_xyz,
    digest,
    forecast,
    forgotten,
    funnel,
    inquiries,
    managers,
    movers,
    rollups,
)
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.scope import current_month, last_full_months
from crm.models import Company, Deal, DealStageChange, Inquiry, Interaction, Sale, Task
from crm.services import payments
from crm.storage import Database

TARGET_S = 0.100
ABC_SPEEDUP = 10.0
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
START = date(2024, 6, 1)
STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
SOURCES = ["web", "phone", "fair", "referral", "email"]


def payment(rng: random.Random, sold_on: date) -> tuple[date | None, date | None]:
    """When a sale is due and paid: a tenth is not tracked; the rest are due 0–60 days
    after the sale, nearly all of the older ones paid (about a day late on average), a
    third of those due in the last 90 days or later not yet: the overdue payments of the
    digest and the receivables report."""
    if rng.random() < 0.1:
        return None, None
    due_on = sold_on + timedelta(days=rng.choice((0, 14, 30, 60)))
    recent = due_on > TODAY - timedelta(days=90)
    if rng.random() < (0.33 if recent else 0.005):
        return due_on, None
    paid_on = min(due_on + timedelta(days=rng.randrange(-7, 10)), TODAY)
    return due_on, max(paid_on, sold_on)


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
        sold_on = START + timedelta(days=rng.randrange(days))
        due_on, paid_on = payment(rng, sold_on)
        rows.append(
            {
                "id": i + 1,
                "company_id": company + 1,
                "manager_id": curators[company],
                "sold_on": sold_on,
                "due_on": due_on,
                "paid_on": paid_on,
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
        deals[-1]["reached_rank"] = reached  # as the stage moves below leave it
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


async def build_rollups(db: Database) -> None:
    """The sales rollups as the migration builds them (the deal rollups were kept by their
    triggers while the deals were inserted); then what autovacuum would have done after
    such a bulk load on PostgreSQL: VACUUM sets the visibility map of every table, so the
    covering indexes (deals, inquiries, rollups) are read alone, and ANALYZE gives the
    planner the statistics of the loaded tables."""
    async with db.uow() as uow:
        await rollups.rebuild(uow.session)
        await uow.commit()
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE"))
        return
    async with db.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))


def load_average() -> str:
    """The machine's load (1, 5 and 15 minutes): the figures mean little on a busy one."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


async def timed_cpu(runs: int, action: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (the bench, the bot's
    code and, on SQLite, the database in its thread) of `runs` runs after a warm-up. On a
    loaded machine the wall time includes the wait for a core; the CPU time does not. On
    PostgreSQL the server's CPU is not in it."""
    await action()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        await action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


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
        "movers": lambda: movers.movers_report(db.uow(), actor, year),
        "funnel (year)": lambda: funnel.funnel_report(
            db.uow(), actor, *year.utc_bounds(actor.timezone)
        ),
        "forecast": lambda: forecast.forecast_report(db.uow(), actor),
        "managers": lambda: managers.managers_report(db.uow(), actor, month, now=NOW),
        "inquiries": lambda: inquiries.inquiries_report(db.uow(), actor, month_start, month_end),
        "forgotten": lambda: forgotten.forgotten_report(db.uow(), actor, 30, now=NOW),
        "digest": lambda: digest.build_digest(db.uow(), actor, now=NOW),
        "receivables": lambda: payments.receivables(db.uow(), actor, TODAY),
    }


RAW_ABC = """
WITH v AS (
    SELECT s.company_id, SUM(s.amount) AS value FROM sales s
    JOIN companies c ON c.id = s.company_id
    WHERE s.sold_on >= :start AND s.sold_on < :end GROUP BY s.company_id
), r AS (
    SELECT company_id, value,
        SUM(value) OVER (ORDER BY value DESC, company_id ROWS UNBOUNDED PRECEDING) AS cum,
        SUM(value) OVER () AS total
    FROM v
)
SELECT CASE WHEN (cum - value) * 100 < total * 80 THEN 'A'
            WHEN (cum - value) * 100 < total * 95 THEN 'B' ELSE 'C' END AS abc,
       COUNT(*), SUM(value)
FROM r GROUP BY 1
"""
RAW_XYZ = """
WITH m AS (
    SELECT s.company_id, {month} AS month, SUM(s.amount) AS v FROM sales s
    JOIN companies c ON c.id = s.company_id
    WHERE s.sold_on >= :start AND s.sold_on < :end AND c.stage = 'regular'
    GROUP BY s.company_id, {month}
), t AS (SELECT company_id, SUM(v) AS t, SUM(v * v) AS q FROM m GROUP BY company_id)
SELECT CASE WHEN c.stage <> 'regular' THEN c.stage
            WHEN COALESCE(t.t, 0) <= 0 THEN 'Z'
            WHEN (t.q * :n - t.t * t.t) * 10000 <= t.t * t.t * 100 THEN 'X'
            WHEN (t.q * :n - t.t * t.t) * 10000 <= t.t * t.t * 625 THEN 'Y' ELSE 'Z' END AS xyz,
       COUNT(*)
FROM companies c LEFT JOIN t ON t.company_id = c.id GROUP BY 1
"""


def baselines(db: Database) -> dict[str, Callable[[], Awaitable[object]]]:
    year = last_full_months(TODAY)
    month = (
        "substr(s.sold_on, 1, 7)" if db.dialect == "sqlite" else "date_trunc('month', s.sold_on)"
    )
    bounds = {"start": year.start, "end": year.end}

    async def raw(sql: str, **extra: object) -> object:
        async with db.uow().read_only() as uow:
            return (await uow.session.execute(text(sql), {**bounds, **extra})).all()

    async def history_funnel() -> object:
        """The funnel as it was before migration 0011: each deal's furthest stage from a
        UNION of its current stage and all its stage changes."""
        start, end = year.utc_bounds("Europe/Moscow")
        where = (Deal.created_at >= start, Deal.created_at < end)
        current = select(Deal.id.label("deal_id"), funnel.stage_rank(Deal.stage).label("rank"))
        changed = select(DealStageChange.deal_id, funnel.stage_rank(DealStageChange.to_stage))
        both = union_all(
            current.where(*where),
            changed.join(Deal, Deal.id == DealStageChange.deal_id).where(*where),
        ).subquery()
        furthest = (
            select(both.c.deal_id, func.max(both.c.rank).label("rank"))
            .group_by(both.c.deal_id)
            .subquery()
        )
        async with db.uow().read_only() as uow:
            query = select(furthest.c.rank, func.count()).group_by(furthest.c.rank)
            return (await uow.session.execute(query)).all()

    async def floor(sql: str) -> object:
        async with db.uow().read_only() as uow:
            return (await uow.session.execute(text(sql), bounds)).all()

    found: dict[str, Callable[[], Awaitable[object]]] = {
        # floors: a unit of work that reads nothing, and the cheapest pass over the rollup
        # rows a 12-month report needs (summed once: nothing grouped, joined or returned)
        "floor: SELECT 1": lambda: floor("SELECT 1"),
        "floor: year's rollups": lambda: floor(
            "SELECT count(*), sum(revenue_cents) FROM sales_company_months "
            "WHERE month >= :start AND month < :end"
        ),
        "raw SQL ABC revenue": lambda: raw(RAW_ABC),
        "raw SQL XYZ": lambda: raw(RAW_XYZ.format(month=month), n=year.months),
        "funnel over history": history_funnel,
    }
    try:
        import pandas as pd
    except ImportError:
        print("  (pandas is not installed: pip install -e '.[bench]' for its baseline)")
        return found

    async def pandas_abc() -> object:
        async with db.uow().read_only() as uow:
            result = await uow.session.execute(
                text(
                    "SELECT company_id, amount FROM sales "
                    "WHERE sold_on >= :start AND sold_on < :end"
                ),
                bounds,
            )
            frame = pd.DataFrame(result.all(), columns=["company_id", "amount"])
        frame["amount"] = frame["amount"].astype(float)
        values = frame.groupby("company_id")["amount"].sum().sort_values(ascending=False)
        before = values.cumsum() - values
        total = values.sum()
        classes = pd.cut(before / total, [-1, 0.8, 0.95, 2], right=False, labels=list("ABC"))
        return values.groupby(classes, observed=False).agg(["count", "sum"])

    found["pandas read + ABC"] = pandas_abc
    return found


async def run(kind: str, sales: int, runs: int) -> None:
    async with database(kind) as db:
        started = time.perf_counter()
        director, head, manager = await populate(db, sales)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        await build_rollups(db)
        built = time.perf_counter() - started
        async with db.uow().read_only() as uow:
            rows = await uow.session.scalar(select(func.count()).select_from(rollups.COMPANY_TABLE))
        print(
            f"\n== {kind}: {sales:,} sales, {COMPANIES:,} companies loaded in {loaded:.1f} s; "
            f"rollups built in {built:.1f} s ({rows:,} company-months); {load_average()}"
        )
        print("  baselines (director, the last 12 full months):")
        base: dict[str, float] = {}
        for label, action in baselines(db).items():
            base[label], cpu = await timed_cpu(runs, action)
            print(f"    {label:22s} {base[label] * 1000:8.1f} ms (cpu {cpu * 1000:6.1f} ms)")
        for who, actor in (("director", director), ("head", head), ("manager", manager)):
            print(f"  as {who}:")
            for label, action in reports(db, actor).items():
                took, cpu = await timed_cpu(runs, action)
                verdict = ""
                if who == "director":
                    verdict = " ok" if took <= TARGET_S else f" OVER {TARGET_S * 1000:.0f} ms"
                extra = ""
                if label == "ABC revenue":
                    ratios = {k: v / took for k, v in base.items() if "ABC" in k}
                    extra = "  " + ", ".join(
                        f"{r:.0f}x faster than {k}" + ("" if r >= ABC_SPEEDUP else " (UNDER 10x)")
                        for k, r in ratios.items()
                    )
                if label == "funnel (year)" and "funnel over history" in base:
                    extra = f"  {base['funnel over history'] / took:.0f}x faster than over history"
                if label == "XYZ" and "raw SQL XYZ" in base:
                    extra = f"  {base['raw SQL XYZ'] / took:.0f}x faster than raw SQL XYZ"
                print(
                    f"    {label:14s} {took * 1000:8.1f} ms (cpu {cpu * 1000:6.1f} ms)"
                    f"{verdict}{extra}"
                )
        print(f"  done; {load_average()}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        asyncio.run(run(kind, args.sales, args.runs))


if __name__ == "__main__":
    main()
