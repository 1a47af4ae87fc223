"""The monthly sales rollups: for random sales and random sequences of writes (ORM adds,
changes and deletes, bulk inserts, sales moved between companies, deals won and reopened),
every rollup-based report equals the same report worked out from the raw sales
(tests/fixtures/rollup_oracle.py), on SQLite and PostgreSQL, for a director, a head and a
manager."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update

from crm.access import Actor
from crm.analytics import abc_xyz, managers, movers, rollups
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.scope import Period
from crm.models import Company, CompanySalesMonth, Manager, ManagerSalesMonth, Sale
from crm.models.enums import Role
from crm.services import deals
from crm.services.deals import DealInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures import rollup_oracle as oracle

YEAR = Period(date(2025, 1, 1), date(2026, 1, 1))
QUARTER = Period(date(2025, 10, 1), date(2026, 1, 1))
MONTHS = [date(2024 + (10 + i) // 12, (10 + i) % 12 + 1, 1) for i in range(16)]  # 11.2024-02.2026
STAGES = ("regular", "regular", "regular", "one_time", "potential", "lost")


class World:
    director: Actor
    head: Actor
    anna: Actor
    boris: Actor
    staff: list[Actor]
    companies: list[int]


async def arrange(db: Database) -> World:
    w = World()
    sales = await factories.department(db)
    other = await factories.department(db, "Other")
    w.anna = await factories.staff(db, department_id=sales.id, name="Anna")
    vera = await factories.staff(db, department_id=sales.id, name="Vera")
    w.boris = await factories.staff(db, department_id=other.id, name="Boris")
    w.head = await factories.staff(db, Role.HEAD, department_id=sales.id, name="Helen")
    w.director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    w.staff = [w.anna, vera, w.boris, w.head]
    w.companies = []
    for i in range(6):
        company = await factories.raw_company(db, w.staff[i % 3], f"Company {i}")
        w.companies.append(company.id)
    return w


sale = st.tuples(
    st.integers(0, 5),  # company
    st.one_of(st.none(), st.integers(0, 3)),  # seller
    st.integers(0, len(MONTHS) - 1),  # month
    st.integers(1, 28),  # day
    st.integers(1, 1_000_000),  # amount, cents
    st.one_of(st.none(), st.integers(0, 1_200_000)),  # cost, cents
)
write = st.one_of(
    st.tuples(st.just("add"), st.lists(sale, min_size=1, max_size=4)),
    st.tuples(st.just("bulk"), st.lists(sale, min_size=1, max_size=6)),
    st.tuples(st.just("delete"), st.integers(0, 1000)),
    st.tuples(st.just("change"), st.integers(0, 1000), sale),
    st.tuples(st.just("move"), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("stage"), st.integers(0, 5), st.sampled_from(STAGES)),
)


def _values(w: World, drawn: tuple[Any, ...]) -> dict[str, Any]:
    company, seller, month, day, amount, cost = drawn
    return {
        "company_id": w.companies[company],
        "manager_id": w.staff[seller].id if seller is not None else None,
        "sold_on": MONTHS[month].replace(day=day),
        "amount": Decimal(amount) / 100,
        "cost": Decimal(cost) / 100 if cost is not None else None,
        "source": "import",
    }


async def _apply(db: Database, w: World, op: tuple[Any, ...]) -> None:
    async with db.uow() as uow:
        s = uow.session
        ids = list(await s.scalars(select(Sale.id).order_by(Sale.id)))
        match op:
            case ("add", drawn):
                for one in drawn:
                    s.add(Sale(**_values(w, one)))
                    await s.flush()
            case ("bulk", drawn):
                rows = [_values(w, one) for one in drawn]
                await s.execute(insert(Sale), rows)
                await rollups.add_rows(s, rows)
            case ("delete", k) if ids:
                await s.delete(await s.get(Sale, ids[k % len(ids)]))
            case ("change", k, drawn) if ids:
                record = await s.get(Sale, ids[k % len(ids)])
                assert record is not None
                for name, value in _values(w, drawn).items():
                    setattr(record, name, value)
            case ("move", a, b):
                await s.execute(
                    update(Sale)
                    .where(Sale.company_id == w.companies[a])
                    .values(company_id=w.companies[b])
                )
                await rollups.recompute_companies(s, [w.companies[a], w.companies[b]])
            case ("stage", c, stage):
                await s.execute(
                    update(Company).where(Company.id == w.companies[c]).values(stage=stage)
                )
        await uow.commit()


async def _reset(db: Database) -> None:
    async with db.uow() as uow:
        for model in (Sale, CompanySalesMonth, ManagerSalesMonth):
            await uow.session.execute(delete(model))
        await uow.session.execute(update(Company).values(stage="regular"))
        await uow.commit()


async def assert_reports_match(db: Database, w: World) -> None:
    raw = await oracle.load(db)
    for actor in (w.director, w.head, w.anna, w.boris):
        for period in (YEAR, QUARTER):
            for metric in AbcMetric:
                report = await abc_xyz.abc_report(db.uow(), actor, period, metric, top=100)
                expected = oracle.abc(raw, actor, period, metric)
                scale = 1 if metric is AbcMetric.COUNT else 100
                assert [(c.company_id, c.value * scale, c.abc) for c in report.top] == [
                    (cid, Decimal(v), cls) for cid, v, cls in expected
                ], (actor.name, period, metric)
                assert report.total * scale == sum(v for _, v, _ in expected)
                if period is YEAR and metric is not AbcMetric.REVENUE:
                    continue
                moved = await movers.movers_report(db.uow(), actor, period, metric, top=100)
                assert [
                    (
                        m.company_id,
                        m.abc_before,
                        m.abc_after,
                        m.xyz_before,
                        m.xyz_after,
                        m.before * scale,
                        m.after * scale,
                    )
                    for m in moved.movers
                ] == oracle.movers(raw, actor, period, moved.previous, metric)
            xyz = await abc_xyz.xyz_report(db.uow(), actor, period, top=100)
            classes = oracle.xyz(raw, actor, period)
            assert {c.company_id: c.xyz for c in xyz.regular} == {
                cid: cls for cid, cls in classes.items() if cls in "XYZ"
            }
            assert sum(xyz.counts.values()) == len(classes)
            matrix = await abc_xyz.abc_xyz_matrix(db.uow(), actor, period)
            assert matrix.cells == oracle.matrix(raw, actor, period)
            if actor.role is not Role.MANAGER:
                team = await managers.managers_report(db.uow(), actor, period)
                assert {r.manager_id: r.revenue * 100 for r in team.rows} == {
                    k: Decimal(v) for k, v in oracle.managers(raw, actor, period).items()
                }
    async with db.uow() as uow:
        assert await rollups.verify(uow.session) == []


async def _on(url: str, action: Any) -> Any:
    """Run `action(database)` on a database handle of this loop (hypothesis runs sync)."""
    database = Database.from_url(url)
    try:
        return await action(database)
    finally:
        await database.dispose()


def run_in_thread(coro: Any) -> Any:
    """To completion on a loop of its own: hypothesis runs its examples synchronously."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_rollups_follow_random_writes(db: Database) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    w = run_in_thread(_on(url, arrange))

    async def example(database: Database, writes: list[tuple[Any, ...]]) -> None:
        await _reset(database)
        for op in writes:
            await _apply(database, w, op)
        await assert_reports_match(database, w)

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(writes=st.lists(write, min_size=1, max_size=8))
    def check(writes: list[tuple[Any, ...]]) -> None:
        run_in_thread(_on(url, lambda database: example(database, writes)))

    check()


async def test_a_won_deal_counts_and_a_reopened_one_does_not(db: Database) -> None:
    w = await arrange(db)
    deal = await deals.open(
        db.uow(), w.anna, DealInput(w.companies[0], "Big", amount=Decimal("1234.50"))
    )
    await deals.move(db.uow(), w.anna, deal.id, "won")
    async with db.uow() as uow:
        rows = list(await uow.session.execute(select(CompanySalesMonth)))
        [(row,)] = rows
        assert (row.company_id, row.revenue_cents, row.sales) == (w.companies[0], 123450, 1)
        seller = await uow.session.scalar(
            select(ManagerSalesMonth.revenue_cents).where(ManagerSalesMonth.manager_id == w.anna.id)
        )
        assert seller == 123450
    await deals.move(db.uow(), w.head, deal.id, "negotiation")
    async with db.uow() as uow:
        left = await uow.session.scalar(select(func.count()).select_from(CompanySalesMonth))
        assert left == 0
        assert await rollups.verify(uow.session) == []


async def test_verify_finds_and_repair_fixes_a_difference(db: Database) -> None:
    w = await arrange(db)
    async with db.uow() as uow:
        uow.session.add(
            Sale(
                company_id=w.companies[1],
                manager_id=w.anna.id,
                sold_on=date(2025, 3, 5),
                amount=Decimal("10.00"),
            )
        )
        await uow.commit()
    async with db.uow() as uow:
        await uow.session.execute(update(CompanySalesMonth).values(revenue_cents=999))
        await uow.session.execute(delete(ManagerSalesMonth))
        await uow.commit()
    async with db.uow() as uow:
        found = await rollups.verify(uow.session)
    assert [(d.kind, d.key, d.month, d.stored, d.expected) for d in found] == [
        ("company", w.companies[1], date(2025, 3, 1), (999, 0, 1), (1000, 0, 1)),
        ("manager", w.anna.id, date(2025, 3, 1), None, (1000, 0, 1)),
    ]
    async with db.uow() as uow:
        await rollups.rebuild(uow.session)
        await uow.commit()
    async with db.uow() as uow:
        assert await rollups.verify(uow.session) == []
        assert await uow.session.get(Manager, w.anna.id) is not None


async def test_a_very_large_client_does_not_overflow(db: Database) -> None:
    """50 million a month: a month's square in cents is past 2⁶³ (BIGINT's end)."""
    w = await arrange(db)
    async with db.uow() as uow:
        await uow.session.execute(
            update(Company).where(Company.id == w.companies[0]).values(stage="regular")
        )
        for month in MONTHS[2:14]:  # the twelve months of 2025
            uow.session.add(
                Sale(
                    company_id=w.companies[0],
                    manager_id=w.anna.id,
                    sold_on=month.replace(day=3),
                    amount=Decimal("50000000.00"),
                )
            )
        await uow.commit()
    xyz = await abc_xyz.xyz_report(db.uow(), w.director, YEAR)
    [big] = [c for c in xyz.regular if c.company_id == w.companies[0]]
    assert (big.xyz, big.total) == ("X", Decimal("600000000.00"))
    matrix = await abc_xyz.abc_xyz_matrix(db.uow(), w.director, YEAR)
    assert matrix.cells[("A", "X")] == 1
    moved = await movers.movers_report(db.uow(), w.director, YEAR)
    assert [(m.company_id, m.xyz_before, m.xyz_after) for m in moved.movers] == [
        (w.companies[0], "Z", "X")  # a year ago: eleven months of the twelve
    ]
