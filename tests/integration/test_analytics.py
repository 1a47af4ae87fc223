"""The analytics reports against numbers worked out by hand on a small fixed data set,
on SQLite and PostgreSQL, for a director (all), a head (the department) and a manager."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crm.access import Actor
from crm.analytics import abc_xyz, forecast, forgotten, funnel, inquiries, managers
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.scope import Period, current_month, last_full_months
from crm.errors import InvalidInput
from crm.models import Company, Deal, DealStageChange, Inquiry, Interaction, Manager, Sale, Task
from crm.models.enums import Role
from crm.storage import Database
from tests.fixtures import factories

QUARTER = Period(date(2026, 1, 1), date(2026, 4, 1))
MARCH = Period(date(2026, 3, 1), date(2026, 4, 1))
MARCH_START = datetime(2026, 3, 1, tzinfo=UTC)
APRIL_START = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# name, curator, stage, created, last interaction
COMPANIES = [
    ("Alfa", "anna", "regular", "2025-01-01", "2026-03-20"),
    ("Beta", "anna", "regular", "2025-01-01", "2026-01-15"),
    ("Gamma", "boris", "regular", "2025-06-01", None),
    ("Delta", "vera", "one_time", "2025-01-01", "2026-02-27 12:00"),
    ("Epsilon", "vera", "potential", "2026-03-15", None),
    ("Zeta", "boris", "lost", "2025-01-01", None),
]
# company, sold on, amount, cost (the seller is the curator)
SALES = [
    ("Alfa", "2026-01-10", 2000, 1200),
    ("Alfa", "2026-02-10", 2000, 1200),
    ("Alfa", "2026-03-10", 2000, 1200),
    ("Beta", "2026-01-05", 500, None),
    ("Beta", "2026-02-05", 600, None),
    ("Beta", "2026-03-05", 400, None),
    ("Gamma", "2026-01-20", 2000, 1900),
    ("Delta", "2026-02-14", 300, 100),
    ("Alfa", "2025-12-31", 5000, 0),  # before the period
    ("Gamma", "2026-04-01", 5000, 0),  # after it (end exclusive)
]
# key, company, curator, created, stage, amount, probability, expected close, stage changes
DEALS = [
    ("d1", "Alfa", "anna", "2026-03-02", "won", 500, 100, None,
     ["qualified", "proposal", "negotiation", "won"]),
    ("d2", "Beta", "anna", "2026-03-03", "lost", 300, 0, None, ["qualified", "lost"]),
    ("d3", "Delta", "vera", "2026-03-05", "proposal", 1000, 50, "2026-04-20", ["proposal"]),
    ("d4", "Gamma", "boris", "2026-03-06", "lead", 400, 10, None, []),
    ("d5", "Alfa", "anna", "2026-02-20", "won", 700, 100, None, []),
    ("d6", "Beta", "anna", "2026-01-10", "negotiation", 2000, 80, "2026-04-15", []),
]  # fmt: skip


class World:
    anna: Actor
    vera: Actor
    boris: Actor
    head: Actor
    director: Actor


async def arrange(db: Database) -> World:
    w = World()
    sales = await factories.department(db)
    other = await factories.department(db, "Other")
    w.anna = await factories.staff(db, department_id=sales.id, name="Anna")
    w.vera = await factories.staff(db, department_id=sales.id, name="Vera")
    w.head = await factories.staff(db, Role.HEAD, department_id=sales.id, name="Helen")
    w.boris = await factories.staff(db, department_id=other.id, name="Boris")
    w.director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    people = {"anna": w.anna, "vera": w.vera, "boris": w.boris}
    async with db.uow() as uow:
        anna = await uow.session.get(Manager, w.anna.id)
        assert anna is not None
        anna.sales_plan, anna.commission_pct = Decimal(4000), Decimal(5)
        companies = {}
        for name, curator, stage, created, last in COMPANIES:
            companies[name] = Company(
                name=name,
                name_key=name.lower(),
                curator_id=people[curator].id,
                stage=stage,
                tags=[],
                created_at=at(created),
                last_interaction_at=at(last) if last else None,
            )
        uow.session.add_all(companies.values())
        await uow.flush()
        curator_of = {name: people[c].id for name, c, *_ in COMPANIES}
        for name, sold_on, amount, cost in SALES:
            uow.session.add(
                Sale(
                    company_id=companies[name].id,
                    manager_id=curator_of[name],
                    sold_on=date.fromisoformat(sold_on),
                    amount=Decimal(amount),
                    cost=Decimal(cost) if cost is not None else None,
                )
            )
        deals = {}
        for key, company, curator, created, stage, amount, prob, close, changes in DEALS:
            deal = Deal(
                company_id=companies[company].id,
                curator_id=people[curator].id,
                title=key,
                stage=stage,
                amount=Decimal(amount),
                probability=prob,
                expected_close=date.fromisoformat(close) if close else None,
                created_at=at(created),
            )
            uow.session.add(deal)
            await uow.flush()
            deals[key] = deal
            previous = "lead"
            for to in changes:
                uow.session.add(
                    DealStageChange(
                        deal_id=deal.id, from_stage=previous, to_stage=to, changed_at=at(created)
                    )
                )
                previous = to
        # inquiries in March: source, manager, deal
        for source, who, deal_key in [
            ("web", w.anna, "d1"),
            ("web", w.anna, "d2"),
            ("web", w.vera, None),
            ("phone", w.boris, "d4"),
            ("fair", None, None),
        ]:
            uow.session.add(
                Inquiry(
                    source=source,
                    manager_id=who.id if who else None,
                    deal_id=deals[deal_key].id if deal_key else None,
                    received_at=at("2026-03-10"),
                )
            )
        uow.session.add(Inquiry(source="web", manager_id=w.anna.id, received_at=at("2026-02-10")))
        # interactions: (manager, when UTC, status); the period is March in Moscow time
        for who, when, status in [
            (w.anna, "2026-03-03 10:00", "done"),
            (w.anna, "2026-03-20 10:00", "done"),
            (w.anna, "2026-03-25 10:00", "planned"),
            (w.anna, "2026-02-27 10:00", "done"),
            (w.vera, "2026-02-28 22:00", "done"),  # 1 March 01:00 in Moscow
        ]:
            uow.session.add(
                Interaction(
                    kind="call",
                    direction="out",
                    status=status,
                    occurred_at=at(when),
                    company_id=companies["Alfa"].id,
                    manager_id=who.id,
                )
            )
        for who, due, status in [
            (w.anna, "2026-03-30", "open"),
            (w.anna, "2026-04-05", "open"),
            (w.anna, "2026-03-01", "done"),
            (w.boris, "2026-03-02", "open"),
        ]:
            uow.session.add(Task(title="t", due_at=at(due), assignee_id=who.id, status=status))
        await uow.commit()
    return w


def test_periods() -> None:
    assert last_full_months(date(2026, 4, 15), 3) == QUARTER
    assert last_full_months(date(2026, 1, 31)) == Period(date(2025, 1, 1), date(2026, 1, 1))
    assert current_month(date(2026, 12, 7)) == Period(date(2026, 12, 1), date(2027, 1, 1))
    assert QUARTER.months == 3
    with pytest.raises(InvalidInput):
        Period(date(2026, 2, 1), date(2026, 2, 1))


async def test_abc_by_revenue_margin_and_count(db: Database) -> None:
    w = await arrange(db)
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
    w = await arrange(db)
    head = await abc_xyz.abc_report(db.uow(), w.head, QUARTER)
    # Alfa 6000, Beta 1500, Delta 300 = 7800: A, A (76.9 %), C (96.2 %)
    assert [(c.name, c.abc) for c in head.top] == [("Alfa", "A"), ("Beta", "A"), ("Delta", "C")]
    boris = await abc_xyz.abc_report(db.uow(), w.boris, QUARTER)
    assert [(c.name, c.value, c.abc) for c in boris.top] == [("Gamma", Decimal("2000.00"), "A")]
    vera = await abc_xyz.abc_report(db.uow(), w.vera, Period(date(2025, 1, 1), date(2025, 2, 1)))
    assert vera.empty and vera.top == [] and vera.total == 0


async def test_xyz_by_variation_of_monthly_purchases(db: Database) -> None:
    w = await arrange(db)
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
    w = await arrange(db)
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
    w = await arrange(db)
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
    w = await arrange(db)
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
    w = await arrange(db)
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
    w = await arrange(db)
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
    w = await arrange(db)
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
