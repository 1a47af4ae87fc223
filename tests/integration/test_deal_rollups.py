"""The deal rollups kept by triggers (migration 0014): for random deals and random sequences
of writes (ORM opens, moves, edits and deletes, bulk reassignments and deletes), the funnel
and the forecast read from them equal the same reports worked out in plain Python from the
raw deals, on SQLite and PostgreSQL, for a director, a head and managers, in several
timezones (periods that start and end off UTC midnight)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from crm.access import Actor
from crm.analytics import deal_rollups, forecast, funnel
from crm.analytics.scope import Period
from crm.models import Company, Deal, DealCreatedDay, DealPipeline, Manager
from crm.models.enums import FUNNEL_STAGES, OPEN_STAGES, Role, funnel_rank
from crm.money import cents
from crm.storage import Database
from tests.integration.test_rollups import World, _on, arrange, run_in_thread

STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
EPOCH = datetime(2024, 12, 30, 20, 0, tzinfo=UTC)
PERIODS = (
    Period(date(2025, 1, 1), date(2026, 1, 1)),
    Period(date(2025, 3, 17), date(2025, 4, 2)),
    Period(date(2025, 2, 1), date(2025, 2, 2)),
)
ZONES = ("UTC", "Europe/Moscow", "America/New_York")

deal = st.tuples(
    st.integers(0, 5),  # company
    st.integers(0, 3),  # curator
    st.sampled_from(STAGES),
    st.integers(0, 4),  # reached rank
    st.integers(0, 10_000_000),  # amount, cents
    st.integers(0, 100),  # probability
    st.one_of(st.none(), st.integers(0, 14)),  # expected close: a month of 2025 or so
    st.integers(0, 24 * 400),  # created: hours after EPOCH
)
write = st.one_of(
    st.tuples(st.just("open"), st.lists(deal, min_size=1, max_size=4)),
    st.tuples(st.just("change"), st.integers(0, 1000), deal),
    st.tuples(st.just("delete"), st.integers(0, 1000)),
    st.tuples(st.just("reassign"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("drop"), st.integers(0, 5)),
)


def _values(w: World, drawn: tuple[Any, ...]) -> dict[str, Any]:
    company, curator, stage, reached, amount, probability, close, hours = drawn
    return {
        "company_id": w.companies[company],
        "curator_id": w.staff[curator].id,
        "stage": stage,
        "reached_rank": reached,
        "amount": Decimal(amount) / 100,
        "probability": probability,
        "expected_close": None if close is None else date(2025 + close // 12, close % 12 + 1, 9),
        "created_at": EPOCH + timedelta(hours=hours, minutes=30),
    }


async def _apply(db: Database, w: World, op: tuple[Any, ...]) -> None:
    async with db.uow() as uow:
        s = uow.session
        ids = list(await s.scalars(select(Deal.id).order_by(Deal.id)))
        match op:
            case ("open", drawn):
                for one in drawn:
                    s.add(Deal(title="Deal", **_values(w, one)))
                    await s.flush()
            case ("change", k, drawn) if ids:
                record = await s.get(Deal, ids[k % len(ids)])
                assert record is not None
                for name, value in _values(w, drawn).items():
                    setattr(record, name, value)
            case ("delete", k) if ids:
                await s.delete(await s.get(Deal, ids[k % len(ids)]))
            case ("reassign", a, b):
                await s.execute(
                    update(Deal)
                    .where(Deal.curator_id == w.staff[a].id)
                    .values(curator_id=w.staff[b].id)
                )
            case ("drop", c):
                await s.execute(delete(Deal).where(Deal.company_id == w.companies[c]))
        await uow.commit()


async def _reset(db: Database) -> None:
    async with db.uow() as uow:
        await uow.session.execute(delete(Deal))
        await uow.commit()


async def _raw(db: Database) -> tuple[list[Any], dict[int, int | None]]:
    async with db.uow() as uow:
        deals = list(
            await uow.session.execute(
                select(
                    Deal.curator_id,
                    Deal.stage,
                    Deal.reached_rank,
                    Deal.amount,
                    Deal.probability,
                    Deal.expected_close,
                    Deal.created_at,
                )
            )
        )
        people = dict((await uow.session.execute(select(Manager.id, Manager.department_id))).all())
    return deals, people


def _sees(people: dict[int, int | None], actor: Actor, owner: int) -> bool:
    if actor.role is Role.DIRECTOR:
        return True
    if actor.role is Role.HEAD and actor.department_id is not None:
        return people.get(owner) == actor.department_id
    return owner == actor.id


def _funnel(deals: list[Any], people: Any, actor: Actor, start: datetime, end: datetime) -> Any:
    at = [0] * len(FUNNEL_STAGES)
    lost = 0
    for curator, stage, reached, *_rest, created in deals:
        if start <= created < end and _sees(people, actor, curator):
            at[max(reached, funnel_rank(stage))] += 1
            lost += stage == "lost"
    return [sum(at[i:]) for i in range(len(at))], lost


def _forecast(deals: list[Any], people: Any, actor: Actor) -> Any:
    mine = [d for d in deals if _sees(people, actor, d[0])]
    won = sum(1 for d in mine if d[1] == "won")
    at = [0] * len(FUNNEL_STAGES)
    for d in mine:
        if d[1] == "lost":
            at[d[2]] += 1
    at[FUNNEL_STAGES.index("won")] += won
    reached = [sum(at[i:]) for i in range(len(at))]
    conversion = {
        s.value: (reached[-1] / reached[i] if reached[i] else None)
        for i, s in enumerate(OPEN_STAGES)
    }
    months: dict[str | None, list[Any]] = defaultdict(lambda: [0, *[Decimal(0)] * 3])
    for _curator, stage, _reached, amount, probability, close, _created in mine:
        if stage not in conversion:
            continue
        m = months[close.strftime("%Y-%m") if close else None]
        m[0] += 1
        m[1] += amount
        m[2] += amount * probability / 100
        m[3] += amount * Decimal(str(conversion[stage] or 0))
    return conversion, {
        k: (n, cents(a), cents(wt), cents(h)) for k, (n, a, wt, h) in months.items()
    }


async def assert_reports_match(db: Database, w: World) -> None:
    deals, people = await _raw(db)
    for actor in (w.director, w.head, w.anna, w.boris):
        for zone in ZONES:
            local = replace(actor, timezone=zone)
            for period in PERIODS:
                start, end = period.utc_bounds(zone)
                got = await funnel.funnel_report(db.uow(), local, start, end)
                reached, lost = _funnel(deals, people, local, start, end)
                assert ([s.reached for s in got.steps], got.lost) == (reached, lost), (
                    actor.name,
                    zone,
                    period,
                )
        outlook = await forecast.forecast_report(db.uow(), actor)
        conversion, months = _forecast(deals, people, actor)
        assert {
            m.month: (m.deals, m.amount, m.weighted, m.historical) for m in outlook.months
        } == months, actor.name
        if months:
            assert outlook.stage_conversion == conversion
    async with db.uow() as uow:
        assert await deal_rollups.verify(uow.session) == []


def test_deal_rollups_follow_random_writes(db: Database) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    w = run_in_thread(_on(url, arrange))

    async def example(database: Database, writes: list[tuple[Any, ...]]) -> None:
        await _reset(database)
        for op in writes:
            await _apply(database, w, op)
        await assert_reports_match(database, w)

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(writes=st.lists(write, min_size=1, max_size=8))
    def check(writes: list[tuple[Any, ...]]) -> None:
        run_in_thread(_on(url, lambda database: example(database, writes)))

    check()


async def test_a_deleted_company_takes_its_deals_out_of_the_rollups(db: Database) -> None:
    w = await arrange(db)
    async with db.uow() as uow:
        uow.session.add(Deal(title="Big", **_values(w, (0, 0, "proposal", 2, 100, 50, 3, 10))))
        uow.session.add(Deal(title="Small", **_values(w, (1, 0, "lead", 0, 100, 10, None, 10))))
        await uow.commit()
    async with db.uow() as uow:
        await uow.session.execute(delete(Company).where(Company.id == w.companies[0]))
        await uow.commit()
    async with db.uow() as uow:
        assert list(await uow.session.execute(select(DealPipeline.stage, DealPipeline.deals))) == [
            ("lead", 1)
        ]
        assert await uow.session.scalar(select(func.sum(DealCreatedDay.deals))) == 1
        assert await deal_rollups.verify(uow.session) == []


async def test_verify_finds_and_repair_fixes_a_deal_rollup(db: Database) -> None:
    w = await arrange(db)
    async with db.uow() as uow:
        uow.session.add(Deal(title="Big", **_values(w, (0, 0, "won", 4, 12345, 100, 0, 10))))
        await uow.commit()
    async with db.uow() as uow:
        await uow.session.execute(update(DealPipeline).values(amount_cents=1))
        await uow.session.execute(delete(DealCreatedDay))
        await uow.commit()
    async with db.uow() as uow:
        found = await deal_rollups.verify(uow.session)
    assert [(d.table, d.stored, d.expected) for d in found] == [
        ("deal_pipeline", (1, 1, 1_234_500), (1, 12345, 1_234_500)),
        ("deal_created_days", None, (1,)),
    ]
    async with db.uow() as uow:
        await deal_rollups.rebuild(uow.session)
        await uow.commit()
    async with db.uow() as uow:
        assert await deal_rollups.verify(uow.session) == []
