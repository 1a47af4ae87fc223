"""ABC and XYZ by holding (crm/analytics/holdings.py) on SQLite and PostgreSQL: for random
holdings, stages and sales, a holding's figures are the sums of its members' figures in
the reports by client, for a director, a head and a manager."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update

from crm.access import Actor
from crm.analytics import abc_xyz
from crm.analytics import holdings as holding_reports
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.scope import Period
from crm.models import Company, CompanySalesMonth, ManagerSalesMonth, Sale
from crm.models.enums import Role
from crm.money import cents as to_cents
from crm.services import holdings
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.sync_db import run_on, url_of

YEAR = Period(date(2025, 1, 1), date(2026, 1, 1))
COMPANIES = 7
STAGES = ("regular", "regular", "one_time", "potential", "lost")


async def arrange(db: Database) -> tuple[list[Actor], list[int]]:
    sales = await factories.department(db)
    other = await factories.department(db, "Other")
    anna = await factories.staff(db, department_id=sales.id, name="Anna")
    vera = await factories.staff(db, department_id=sales.id, name="Vera")
    boris = await factories.staff(db, department_id=other.id, name="Boris")
    head = await factories.staff(db, Role.HEAD, department_id=sales.id, name="Helen")
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    curators = [anna, vera, boris]
    ids = [
        (await factories.raw_company(db, curators[i % 3], f"Company {i}")).id
        for i in range(COMPANIES)
    ]
    return [director, head, anna], ids


# a company's parent is one of the companies before it: no loops, chains of any depth
world = st.tuples(
    st.lists(
        st.one_of(st.none(), st.integers(0, COMPANIES)), min_size=COMPANIES, max_size=COMPANIES
    ),
    st.lists(st.sampled_from(STAGES), min_size=COMPANIES, max_size=COMPANIES),
    st.lists(
        st.tuples(st.integers(0, COMPANIES - 1), st.integers(1, 12), st.integers(1, 500_000)),
        max_size=25,
    ),
)


async def _write(db: Database, ids: list[int], drawn: tuple[Any, ...]) -> None:
    links, stages, sales = drawn
    async with db.uow() as uow:
        s = uow.session
        for model in (Sale, CompanySalesMonth, ManagerSalesMonth):
            await s.execute(delete(model))
        for i, cid in enumerate(ids):
            parent = links[i]
            parent_id = ids[parent % i] if parent is not None and i > 0 else None
            await s.execute(
                update(Company)
                .where(Company.id == cid)
                .values(parent_id=parent_id, stage=stages[i])
            )
        for company, month, cents in sales:
            s.add(
                Sale(
                    company_id=ids[company],
                    sold_on=date(2025, month, 15),
                    amount=Decimal(cents) / 100,
                    source="import",
                )
            )
        await uow.commit()


async def check_sums(db: Database, actors: list[Actor], ids: list[int]) -> None:
    for actor in actors:
        for metric in AbcMetric:
            by_client = await abc_xyz.abc_report(db.uow(), actor, YEAR, metric, top=100)
            by_holding = await holding_reports.abc_by_holding(
                db.uow(), actor, YEAR, metric, top=100
            )
            async with db.uow().read_only() as uow:
                groups = await holdings.holding_ids(
                    uow, actor, [c.company_id for c in by_client.top]
                )
            expected: dict[int, Decimal] = defaultdict(Decimal)
            for c in by_client.top:
                expected[groups[c.company_id]] += c.value
            assert {c.company_id: c.value for c in by_holding.top} == expected, (actor, metric)
            assert by_holding.total == by_client.total
            async with db.uow().read_only() as uow:
                names = await holdings.names(uow, expected)
            assert {c.company_id: c.name for c in by_holding.top} == names

        revenue = await abc_xyz.abc_report(db.uow(), actor, YEAR, top=100)
        xyz = await holding_reports.xyz_by_holding(db.uow(), actor, YEAR, top=100)
        async with db.uow().read_only() as uow:
            groups = await holdings.holding_ids(uow, actor, [c.company_id for c in revenue.top])
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for c in revenue.top:
            totals[groups[c.company_id]] += c.value
        for row in xyz.regular:
            assert row.total == totals.get(row.company_id, Decimal("0.00")), actor
            assert row.mean == to_cents(row.total / 12)


def test_a_holding_report_is_the_sum_of_its_members_reports(db: Database) -> None:
    url = url_of(db)
    actors, ids = run_on(url, arrange)

    async def example(database: Database, drawn: tuple[Any, ...]) -> None:
        await _write(database, ids, drawn)
        await check_sums(database, actors, ids)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(drawn=world)
    def check(drawn: tuple[Any, ...]) -> None:
        run_on(url, lambda database: example(database, drawn))

    check()


async def test_a_holding_is_classed_by_its_members_months(db: Database) -> None:
    actors, ids = await arrange(db)
    director = actors[0]
    # two members that alternate months: each is Z alone, the holding buys steadily (X)
    sales = [(1, month, 100_000) for month in range(1, 13, 2)]
    sales += [(2, month, 100_000) for month in range(2, 13, 2)]
    await _write(
        db,
        ids,
        (
            [None, 0, 0, None, None, None, None],
            ["potential", "regular", "regular"] + ["lost"] * 4,
            sales,
        ),
    )
    alone = await abc_xyz.xyz_report(db.uow(), director, YEAR, top=100)
    assert {c.name: c.xyz for c in alone.regular} == {"Company 1": "Z", "Company 2": "Z"}
    grouped = await holding_reports.xyz_by_holding(db.uow(), director, YEAR, top=100)
    [holding] = grouped.regular
    assert (holding.name, holding.xyz, holding.total) == ("Company 0", "X", Decimal("12000.00"))
    assert grouped.counts["X"] == 1 and grouped.counts["lost"] == 4
