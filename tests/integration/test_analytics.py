"""The analytics reports against numbers worked out by hand on a small fixed data set,
on SQLite and PostgreSQL, for a director (all), a head (the department) and a manager."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from crm.access import Actor
from crm.analytics import abc_xyz, forecast, forgotten, funnel, inquiries, managers
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.scope import Period
from crm.errors import InvalidInput
from crm.migrate import downgrade, upgrade
from crm.models import Company, Deal, Inquiry, utcnow
from crm.services import deals
from crm.services.deals import DealInput
from crm.storage import Database
from tests.fixtures.first_quarter import first_quarter
from tests.fixtures.worlds import office_with_client

QUARTER = Period(date(2026, 1, 1), date(2026, 4, 1))
MARCH = Period(date(2026, 3, 1), date(2026, 4, 1))
MARCH_START = datetime(2026, 3, 1, tzinfo=UTC)
APRIL_START = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)

# the data set the figures below are worked out from: tests/fixtures/first_quarter.py


async def test_abc_by_revenue_margin_and_count(db: Database) -> None:
    w = await first_quarter(db)
    r = await abc_xyz.abc_report(db.uow(), w.director, QUARTER)
    # Alfa 6000, Gamma 2000, Beta 1500, Delta 300 = 9800; shares before each:
    # 0 -> A, 61 % -> A, 81.6 % -> B, 96.9 % -> C
    assert [(c.name, c.value, c.abc) for c in r.top] == [
        ("Alfa", Decimal("6000.00"), "A"),
        ("Gamma", Decimal("2000.00"), "A"),
        ("Beta", Decimal("1500.00"), "B"),
        ("Delta", Decimal("300.00"), "C"),
    ]
    assert r.total == Decimal("9800.00")
    assert [(c.abc, c.companies, c.value) for c in r.classes] == [
        ("A", 2, Decimal("8000.00")),
        ("B", 1, Decimal("1500.00")),
        ("C", 1, Decimal("300.00")),
    ]
    assert r.top[1].cumulative == pytest.approx(8000 / 9800)
    assert r.classes[0].share == pytest.approx(8000 / 9800)

    # margin: Alfa 2400, Beta 1500, Delta 200, Gamma 100 = 4200: A, A (57 %), B (92.9 %), C
    m = await abc_xyz.abc_report(db.uow(), w.director, QUARTER, AbcMetric.MARGIN)
    assert [(c.name, c.value, c.abc) for c in m.top] == [
        ("Alfa", Decimal("2400.00"), "A"),
        ("Beta", Decimal("1500.00"), "A"),
        ("Delta", Decimal("200.00"), "B"),
        ("Gamma", Decimal("100.00"), "C"),
    ]
    # count: Alfa 3, Beta 3 (tie broken by id), Gamma 1, Delta 1 of 8: A, A, A (75 %), B (87.5 %)
    n = await abc_xyz.abc_report(db.uow(), w.director, QUARTER, AbcMetric.COUNT, top=2)
    assert [(c.name, c.value, c.abc) for c in n.top] == [("Alfa", 3, "A"), ("Beta", 3, "A")]
    assert [(c.abc, c.companies, c.value) for c in n.classes] == [
        ("A", 3, 7),
        ("B", 1, 1),
        ("C", 0, 0),
    ]
    # other thresholds: 50/30/20 -> Alfa A, Gamma (61 %) B, Beta (81.6 %) C, Delta C
    t = await abc_xyz.abc_report(db.uow(), w.director, QUARTER, thresholds=(50, 30, 20))
    assert [c.abc for c in t.top] == ["A", "B", "C", "C"]
    with pytest.raises(InvalidInput):
        await abc_xyz.abc_report(db.uow(), w.director, QUARTER, thresholds=(80, 15, 10))


async def test_abc_is_scoped(db: Database) -> None:
    w = await first_quarter(db)
    head = await abc_xyz.abc_report(db.uow(), w.head, QUARTER)
    # Alfa 6000, Beta 1500, Delta 300 = 7800: A, A (76.9 %), C (96.2 %)
    assert [(c.name, c.abc) for c in head.top] == [("Alfa", "A"), ("Beta", "A"), ("Delta", "C")]
    boris = await abc_xyz.abc_report(db.uow(), w.boris, QUARTER)
    assert [(c.name, c.value, c.abc) for c in boris.top] == [("Gamma", Decimal("2000.00"), "A")]
    vera = await abc_xyz.abc_report(db.uow(), w.vera, Period(date(2025, 1, 1), date(2025, 2, 1)))
    assert vera.empty and vera.top == [] and vera.total == 0


async def test_xyz_by_variation_of_monthly_purchases(db: Database) -> None:
    w = await first_quarter(db)
    r = await abc_xyz.xyz_report(db.uow(), w.director, QUARTER)
    assert r.months == 3
    assert r.counts == {"X": 1, "Y": 1, "Z": 1, "one_time": 1, "potential": 1, "lost": 1}
    by_name = {c.name: c for c in r.regular}
    # Alfa 2000 each month: CV 0. Beta 500/600/400: sqrt(3·770000 − 1500²)/1500 = 16.3 %.
    # Gamma 2000/0/0 (the empty months count): sqrt(3·4e6 − 4e6)/2000 = 141 %
    assert by_name["Alfa"].xyz == "X" and by_name["Alfa"].cv == pytest.approx(0, abs=1e-9)
    assert by_name["Beta"].xyz == "Y" and by_name["Beta"].cv == pytest.approx(0.16330, abs=1e-4)
    assert by_name["Beta"].mean == Decimal("500.00")
    assert by_name["Gamma"].xyz == "Z" and by_name["Gamma"].cv == pytest.approx(2**0.5, abs=1e-6)
    assert [c.xyz for c in r.regular] == ["X", "Y", "Z"]
    # Beta is X when X allows up to 20 %
    wide = await abc_xyz.xyz_report(db.uow(), w.director, QUARTER, thresholds=(20, 50))
    assert wide.counts["X"] == 2
    head = await abc_xyz.xyz_report(db.uow(), w.head, QUARTER)
    assert head.counts == {"X": 1, "Y": 1, "Z": 0, "one_time": 1, "potential": 1, "lost": 0}
    boris = await abc_xyz.xyz_report(db.uow(), w.boris, QUARTER)
    assert boris.counts == {"X": 0, "Y": 0, "Z": 1, "one_time": 0, "potential": 0, "lost": 1}
    with pytest.raises(InvalidInput):
        await abc_xyz.xyz_report(db.uow(), w.director, Period(date(2026, 1, 5), date(2026, 4, 1)))


async def test_abc_xyz_matrix(db: Database) -> None:
    w = await first_quarter(db)
    r = await abc_xyz.abc_xyz_matrix(db.uow(), w.director, QUARTER)
    filled = {cell: n for cell, n in r.cells.items() if n}
    assert filled == {("A", "X"): 1, ("A", "Z"): 1, ("B", "Y"): 1, ("C", "one_time"): 1}
    assert len(r.cells) == 3 * 6
    head = await abc_xyz.abc_xyz_matrix(db.uow(), w.head, QUARTER)
    assert {c: n for c, n in head.cells.items() if n} == {
        ("A", "X"): 1,
        ("A", "Y"): 1,
        ("C", "one_time"): 1,
    }


async def test_funnel(db: Database) -> None:
    w = await first_quarter(db)
    r = await funnel.funnel_report(db.uow(), w.director, MARCH_START, APRIL_START)
    # d1 won (4), d2 qualified then lost (1), d3 lead -> proposal directly (2), d4 lead (0)
    assert [(s.stage, s.reached) for s in r.steps] == [
        ("lead", 4),
        ("qualified", 3),
        ("proposal", 2),
        ("negotiation", 1),
        ("won", 1),
    ]
    assert [s.conversion for s in r.steps] == [None, 0.75, pytest.approx(2 / 3), 0.5, 1.0]
    assert (r.created, r.lost) == (4, 1)
    head = await funnel.funnel_report(db.uow(), w.head, MARCH_START, APRIL_START)
    assert [s.reached for s in head.steps] == [3, 3, 2, 1, 1]
    boris = await funnel.funnel_report(db.uow(), w.boris, MARCH_START, APRIL_START)
    assert [s.reached for s in boris.steps] == [1, 0, 0, 0, 0]
    assert [s.conversion for s in boris.steps] == [None, 0.0, None, None, None]


async def test_forecast(db: Database) -> None:
    w = await first_quarter(db)
    r = await forecast.forecast_report(db.uow(), w.director)
    # closed deals: d1 won (reached won), d5 won, d2 lost after qualified:
    # lead 2/3, qualified 2/3, proposal 2/2, negotiation 2/2
    assert r.stage_conversion == {
        "lead": pytest.approx(2 / 3),
        "qualified": pytest.approx(2 / 3),
        "proposal": 1.0,
        "negotiation": 1.0,
    }
    april, undated = r.months
    # d3 1000 × 50 % + d6 2000 × 80 %; historical 1000 × 1 + 2000 × 1
    assert (april.month, april.deals, april.amount) == ("2026-04", 2, Decimal("3000.00"))
    assert (april.weighted, april.historical) == (Decimal("2100.00"), Decimal("3000.00"))
    # d4 400 × 10 %; historical 400 × 2/3
    assert (undated.month, undated.deals) == (None, 1)
    assert (undated.weighted, undated.historical) == (Decimal("40.00"), Decimal("266.67"))
    assert (r.weighted, r.historical) == (Decimal("2140.00"), Decimal("3266.67"))
    head = await forecast.forecast_report(db.uow(), w.head)
    assert [(m.month, m.weighted, m.historical) for m in head.months] == [
        ("2026-04", Decimal("2100.00"), Decimal("3000.00"))
    ]
    boris = await forecast.forecast_report(db.uow(), w.boris)
    # no closed deal of Boris's: no history, the historical figure is 0
    assert [(m.month, m.weighted, m.historical) for m in boris.months] == [
        (None, Decimal("40.00"), Decimal("0.00"))
    ]


async def test_managers(db: Database) -> None:
    w = await first_quarter(db)
    r = await managers.managers_report(db.uow(), w.director, MARCH, now=NOW)
    rows = {row.name: row for row in r.rows}
    assert [row.name for row in r.rows] == ["Anna", "Boris", "Helen", "Vera"]
    anna = rows["Anna"]
    # March sales: Alfa 2000 + Beta 400; plan 4000 -> 60 %; commission 5 %
    assert (anna.revenue, anna.plan, anna.plan_pct, anna.commission) == (
        Decimal("2400.00"),
        Decimal("4000.00"),
        pytest.approx(60.0),
        Decimal("120.00"),
    )
    assert (anna.activity, anna.overdue_tasks) == (2, 1)
    assert (rows["Vera"].activity, rows["Vera"].revenue, rows["Vera"].plan_pct) == (
        1,
        Decimal("0.00"),
        None,
    )
    assert rows["Boris"].overdue_tasks == 1
    head = await managers.managers_report(db.uow(), w.head, MARCH, now=NOW)
    assert [row.name for row in head.rows] == ["Anna", "Helen", "Vera"]
    own = await managers.managers_report(db.uow(), w.boris, MARCH, now=NOW)
    assert [(row.name, row.overdue_tasks) for row in own.rows] == [("Boris", 1)]
    quarter = await managers.managers_report(db.uow(), w.anna, QUARTER, now=NOW)
    # Jan-Mar: 6000 + 1500 of a 3 × 4000 plan
    assert (quarter.rows[0].revenue, quarter.rows[0].plan) == (
        Decimal("7500.00"),
        Decimal("12000.00"),
    )


async def test_inquiries_by_source(db: Database) -> None:
    w = await first_quarter(db)
    r = await inquiries.inquiries_report(db.uow(), w.director, MARCH_START, APRIL_START)
    assert [(s.source, s.inquiries, s.deals, s.won) for s in r.sources] == [
        ("web", 3, 2, 1),
        ("fair", 1, 0, 0),
        ("phone", 1, 1, 0),
    ]
    assert r.sources[0].conversion == pytest.approx(2 / 3)
    assert r.total == 5
    head = await inquiries.inquiries_report(db.uow(), w.head, MARCH_START, APRIL_START)
    assert [(s.source, s.inquiries) for s in head.sources] == [("web", 3)]
    anna = await inquiries.inquiries_report(db.uow(), w.anna, MARCH_START, APRIL_START)
    assert [(s.source, s.inquiries, s.won) for s in anna.sources] == [("web", 2, 1)]


async def test_forgotten_clients(db: Database) -> None:
    w = await first_quarter(db)
    r = await forgotten.forgotten_report(db.uow(), w.director, 30, now=NOW)
    # Gamma silent since created 2025-06-01, Beta since 15 Jan, Delta since 27 Feb 12:00
    # (32 days); Alfa spoke on 20 Mar, Epsilon is new, Zeta is lost
    assert r.count == 3
    assert [(c.name, c.silent_days, c.never_contacted) for c in r.clients] == [
        ("Gamma", 303, True),
        ("Beta", 75, False),
        ("Delta", 32, False),
    ]
    assert r.clients[0].curator == "Boris"
    assert await forgotten.forgotten_count(db.uow(), w.director, 60, now=NOW) == 2
    head = await forgotten.forgotten_report(db.uow(), w.head, 30, now=NOW)
    assert [c.name for c in head.clients] == ["Beta", "Delta"]
    boris = await forgotten.forgotten_report(db.uow(), w.boris, 30, now=NOW)
    assert (boris.count, [c.name for c in boris.clients]) == (1, ["Gamma"])


async def conversion_of(db: Database, actor: Actor) -> dict[str, float | None]:
    async with db.uow().read_only() as uow:
        return await forecast.stage_conversion(uow, actor)


async def test_the_moves_keep_the_furthest_stage_the_funnel_reads(db: Database) -> None:
    w = await office_with_client(db)
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Pumps", amount=100))
    start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)

    async def reached() -> list[int]:
        report = await funnel.funnel_report(db.uow(), w.director, start, end)
        return [s.reached for s in report.steps]

    assert await reached() == [1, 0, 0, 0, 0]
    await deals.move(db.uow(), w.anna, deal.id, "proposal")  # qualified is passed over
    assert await reached() == [1, 1, 1, 0, 0]
    await deals.move(db.uow(), w.anna, deal.id, "lost", lost_reason="price")
    assert await reached() == [1, 1, 1, 0, 0]  # lost keeps what it reached
    conversion = (await conversion_of(db, w.director))["proposal"]
    assert conversion == 0.0  # one closed deal reached proposal, none was won
    await deals.move(db.uow(), w.head, deal.id, "qualified")  # reopened lower
    await deals.move(db.uow(), w.head, deal.id, "won")
    assert await reached() == [1, 1, 1, 1, 1]
    await deals.move(db.uow(), w.head, deal.id, "negotiation")  # un-won: it had reached won
    assert await reached() == [1, 1, 1, 1, 1]
    async with db.uow() as uow:
        stored = await uow.session.get(Deal, deal.id)
    assert stored is not None and stored.reached_rank == 4


async def test_the_migration_backfills_the_furthest_stage_from_the_history(db: Database) -> None:
    w = await first_quarter(db)
    before = await funnel.funnel_report(db.uow(), w.director, MARCH_START, APRIL_START)
    async with db.uow() as uow:
        ranks = dict((await uow.session.execute(select(Deal.title, Deal.reached_rank))).all())
    assert ranks["d2"] == 1 and ranks["d3"] == 2  # qualified then lost; lead -> proposal
    await downgrade(db.engine, "0010")
    await upgrade(db.engine, "head")
    async with db.uow() as uow:
        assert dict((await uow.session.execute(select(Deal.title, Deal.reached_rank))).all()) == (
            ranks
        )
    assert await funnel.funnel_report(db.uow(), w.director, MARCH_START, APRIL_START) == before


async def test_inquiries_report_reads_the_deals_in_a_constant_number_of_statements(
    db: Database,
) -> None:
    w = await first_quarter(db)
    statements: list[str] = []

    def counted(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    async def report(actor: Actor) -> tuple[list[tuple[str, int, int, int]], int]:
        statements.clear()
        event.listen(db.engine.sync_engine, "before_cursor_execute", counted)
        try:
            r = await inquiries.inquiries_report(db.uow(), actor, MARCH_START, APRIL_START)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", counted)
        return [(s.source, s.inquiries, s.deals, s.won) for s in r.sources], len(statements)

    _few, few_statements = await report(w.director)
    async with db.uow() as uow:
        company = await uow.session.scalar(select(Company.id).limit(1))
        assert company is not None
        for i in range(30):
            deal = Deal(
                company_id=company,
                curator_id=w.anna.id,
                title=f"Mail {i}",
                stage="won" if i % 3 == 0 else "lead",
                amount=Decimal(100),
            )
            uow.session.add(deal)
            await uow.flush()
            uow.session.add(
                Inquiry(
                    source="mail",
                    manager_id=w.anna.id,
                    deal_id=deal.id,
                    received_at=datetime(2026, 3, 12, tzinfo=UTC),
                )
            )
        await uow.commit()
    many, many_statements = await report(w.director)
    assert many == [
        ("mail", 30, 30, 10),
        ("web", 3, 2, 1),
        ("fair", 1, 0, 0),
        ("phone", 1, 1, 0),
    ]
    assert many_statements == few_statements <= 2
    mine, mine_statements = await report(w.anna)
    assert mine == [("mail", 30, 30, 10), ("web", 2, 2, 1)]
    assert mine_statements <= 2
