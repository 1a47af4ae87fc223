"""The receivables report summed in SQL equals the same report worked out in Python from the
raw sales (bucket_of over each unpaid sale past due), for random sales, days and amounts, on
SQLite and PostgreSQL, for a director, a head and a manager, whole or cut to a top."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from crm.access import Actor, visible_owner
from crm.models import Company, Sale
from crm.models.enums import Role
from crm.services import payments
from crm.services.payments import BUCKETS, Debt, bucket_of
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.sync_db import run_on, url_of

TODAY = date(2026, 12, 7)


@dataclass
class World:
    director: Actor
    head: Actor
    anna: Actor
    sellers: list[Actor]
    companies: list[Company]


async def arrange(db: Database) -> World:
    sales = await factories.department(db)
    other = await factories.department(db, "Other")
    anna = await factories.staff(db, department_id=sales.id, name="Anna")
    vera = await factories.staff(db, department_id=sales.id, name="Vera")
    boris = await factories.staff(db, department_id=other.id, name="Boris")
    head = await factories.staff(db, Role.HEAD, department_id=sales.id, name="Helen")
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    curators = [anna, vera, boris]
    companies = [
        await factories.raw_company(db, curators[i % 3], f"Client {'ABCDE'[i]}") for i in range(5)
    ]
    return World(director, head, anna, [anna, vera, boris, head], companies)


sale = st.tuples(
    st.integers(0, 4),  # company
    st.one_of(st.none(), st.integers(0, 3)),  # seller
    st.one_of(st.none(), st.integers(-3, 130)),  # days late (None: payment not tracked)
    st.booleans(),  # paid
    st.integers(1, 100_000_000),  # amount, cents
)


async def store(db: Database, w: World, today: date, drawn: list[tuple[Any, ...]]) -> None:
    async with db.uow() as uow:
        await uow.session.execute(delete(Sale))
        if drawn:
            await uow.session.execute(
                insert(Sale),
                [
                    {
                        "company_id": w.companies[c].id,
                        "manager_id": None if who is None else w.sellers[who].id,
                        "sold_on": today - timedelta(days=200),
                        "due_on": None if late is None else today - timedelta(days=late),
                        "paid_on": today - timedelta(days=1) if paid else None,
                        "amount": Decimal(cents).scaleb(-2),
                        "source": "import",
                    }
                    for c, who, late, paid, cents in drawn
                ],
            )
        await uow.commit()


def ranked(debts: dict[int, Debt], top: int | None) -> list[tuple[int, str, list[Decimal]]]:
    order = sorted(debts.values(), key=lambda d: (-d.total, d.name, d.key))
    return [(d.key, d.name, d.buckets) for d in order[:top]]


async def expected(
    db: Database, w: World, actor: Actor, today: date, company_id: int | None, top: int | None
) -> tuple[list[Any], list[Any], list[Decimal]]:
    """The report from the raw rows, as the Python of before did it."""
    async with db.uow() as uow:
        visible = set(
            await uow.session.scalars(
                select(Company.id).where(visible_owner(actor, Company.curator_id))
            )
        )
        rows = list(await uow.session.execute(select(Sale)))
    names = {c.id: c.name for c in w.companies}
    people = {p.id: p.name for p in w.sellers}
    clients: dict[int, Debt] = {}
    managers: dict[int, Debt] = {}
    totals = [Decimal("0.00")] * len(BUCKETS)
    for (s,) in rows:
        if s.company_id not in visible or s.paid_on is not None or s.due_on is None:
            continue
        if s.due_on >= today or (company_id is not None and s.company_id != company_id):
            continue
        at = bucket_of((today - s.due_on).days)
        amount = Decimal(str(s.amount))
        clients.setdefault(s.company_id, Debt(s.company_id, names[s.company_id])).buckets[at] += (
            amount
        )
        key = s.manager_id or 0
        managers.setdefault(key, Debt(key, people.get(key, ""))).buckets[at] += amount
        totals[at] += amount
    return ranked(clients, top), ranked(managers, top), totals


async def assert_report_matches(db: Database, w: World, today: date) -> None:
    for actor in (w.director, w.head, w.anna):
        for company_id, top in ((None, None), (None, 2), (w.companies[1].id, None)):
            report = await payments.receivables(db.uow(), actor, today, company_id, top)
            clients, managers, totals = await expected(db, w, actor, today, company_id, top)
            got = (
                [(d.key, d.name, d.buckets) for d in report.by_client],
                [(d.key, d.name, d.buckets) for d in report.by_manager],
                report.buckets,
            )
            assert got == (clients, managers, totals), (actor.name, company_id, top)
            assert all(v == v.quantize(Decimal("0.01")) for v in report.buckets)


def test_receivables_equal_the_python_reference_over_random_sales(db: Database) -> None:
    url = url_of(db)
    w = run_on(url, arrange)

    async def example(database: Database, today: date, drawn: list[tuple[Any, ...]]) -> None:
        await store(database, w, today, drawn)
        await assert_report_matches(database, w, today)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        today=st.dates(date(2023, 12, 1), date(2028, 3, 31)),
        drawn=st.lists(sale, max_size=25),
    )
    def check(today: date, drawn: list[tuple[Any, ...]]) -> None:
        run_on(url, lambda database: example(database, today, drawn))

    check()


async def test_sums_of_many_cents_are_exact(db: Database) -> None:
    """0.10 a thousand times is 99.9999999999986 as a float SUM, and 0.29 × 100 is
    28.999999999999996 as a float (CAST to an integer: 28); the report has every cent."""
    w = await arrange(db)
    drawn = [(0, 0, 10, False, 10)] * 1000 + [(0, 0, 45, False, 1)] * 7
    drawn += [(1, 1, 100, False, 29)] * 3 + [(1, 1, 100, False, 113)]
    await store(db, w, TODAY, drawn)
    report = await payments.receivables(db.uow(), w.director, TODAY)
    assert report.buckets == [Decimal("100.00"), Decimal("0.07"), Decimal(0), Decimal("2.00")]
    assert str(report.total) == "102.07"
