"""The claims report against numbers worked out by hand on a small fixed data set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.access import Actor
from crm.analytics import claims as report
from crm.analytics.claims import CauseCount, CompanyCount
from crm.errors import InvalidInput
from crm.models import Claim
from crm.storage import Database
from tests.fixtures.claims_quarter import claims_quarter

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 31, tzinfo=UTC)

# the claims the figures below are worked out from: tests/fixtures/claims_quarter.py


async def run(db: Database, actor: Actor, top: int = 5) -> report.ClaimsReport:
    return await report.claims_report(db.uow(), actor, START, END, top=top, now=NOW)


async def test_director_sees_the_whole_company(db: Database) -> None:
    p = await claims_quarter(db)
    r = await run(db, p.director, top=2)
    assert (r.total, r.open, r.resolved, r.rejected, r.overdue_open) == (8, 2, 5, 1, 1)
    # resolved: 10, 80, 20, 200, 40 h; on time: 10 (≤24), 20 (≤168), 40 (≤72)
    assert r.resolved_within_sla == 3
    assert r.share_within_sla == pytest.approx(0.6)
    # sorted 10, 20, 40, 80, 200: median at position 2 = 40;
    # p90 at position 0.9 * 4 = 3.6: 80 + 0.6 * (200 - 80) = 152
    assert r.median_hours == pytest.approx(40, abs=1e-3)
    assert r.p90_hours == pytest.approx(152, abs=1e-3)
    assert r.by_cause == [
        CauseCount("quality", "Quality", 4),
        CauseCount("delivery", "Delivery", 2),
        CauseCount("billing", "Billing", 1),
        CauseCount("service", "Service", 1),
    ]
    assert r.by_priority == {"critical": 2, "high": 2, "normal": 3, "low": 1}
    # Alfa 3 and Gamma 3 tie and are ordered by name; Beta 1, Delta 1 are cut by top=2
    assert [(c.name, c.count) for c in r.top_companies] == [("Alfa", 3), ("Gamma", 3)]
    assert all(isinstance(c, CompanyCount) for c in r.top_companies)
    assert r.by_month == [("2026-01", 2), ("2026-02", 3), ("2026-03", 3)]


async def test_head_sees_the_department(db: Database) -> None:
    p = await claims_quarter(db)
    r = await run(db, p.head)
    # Alfa and Beta (Anna) and Delta (Vera): claims 1, 2, 3, 6, 7
    assert (r.total, r.open, r.resolved, r.rejected, r.overdue_open) == (5, 2, 3, 0, 1)
    # resolved 10, 80, 20 -> sorted 10, 20, 80: median 20; p90 at 1.8: 20 + 0.8 * 60 = 68
    assert r.median_hours == pytest.approx(20, abs=1e-3)
    assert r.p90_hours == pytest.approx(68, abs=1e-3)
    assert r.share_within_sla == pytest.approx(2 / 3)
    assert [(c.code, c.count) for c in r.by_cause] == [
        ("quality", 3),
        ("delivery", 1),
        ("service", 1),
    ]
    assert r.by_priority == {"critical": 2, "high": 1, "normal": 2, "low": 0}
    assert [(c.name, c.count) for c in r.top_companies] == [
        ("Alfa", 3),
        ("Beta", 1),
        ("Delta", 1),
    ]
    assert r.by_month == [("2026-01", 2), ("2026-02", 1), ("2026-03", 2)]


async def test_manager_sees_own_clients(db: Database) -> None:
    p = await claims_quarter(db)
    r = await run(db, p.boris)
    # Gamma: claims 4, 5, 8; resolved 200 and 40 h: median 120, p90 40 + 0.9 * 160 = 184
    assert (r.total, r.resolved, r.rejected, r.resolved_within_sla) == (3, 2, 1, 1)
    assert r.share_within_sla == pytest.approx(0.5)
    assert r.median_hours == pytest.approx(120, abs=1e-3)
    assert r.p90_hours == pytest.approx(184, abs=1e-3)
    assert [(c.name, c.count) for c in r.top_companies] == [("Gamma", 3)]

    empty = await run(db, p.loner)
    assert (empty.total, empty.share_within_sla, empty.median_hours, empty.p90_hours) == (
        0,
        None,
        None,
        None,
    )
    assert empty.by_cause == [] and empty.by_month == [] and empty.top_companies == []
    assert empty.by_priority == {"critical": 0, "high": 0, "normal": 0, "low": 0}


async def test_window_percentiles_agree_on_both_databases(db: Database) -> None:
    """The portable window query gives what percentile_cont gives (checked on PostgreSQL)."""
    p = await claims_quarter(db)
    async with db.uow().read_only() as uow:
        hours = report._hours(db.dialect, Claim.created_at, Claim.resolved_at)
        cases = ((p.director, 5, (40, 152)), (p.head, 3, (20, 68)), (p.boris, 2, (120, 184)))
        for actor, resolved, expected in cases:
            scope = report._Scope(actor, START, END)
            got = await report.percentiles_window(uow, scope, hours, resolved)
            assert got == pytest.approx(expected, abs=1e-3)
            if db.dialect == "postgresql":
                assert await report._percentiles_postgres(uow, scope, hours) == pytest.approx(
                    expected, abs=1e-3
                )


async def test_bad_period_is_refused(db: Database) -> None:
    p = await claims_quarter(db)
    with pytest.raises(InvalidInput):
        await report.claims_report(db.uow(), p.director, END, START)
    with pytest.raises(InvalidInput):
        await report.claims_report(db.uow(), p.director, START.replace(tzinfo=None), END)
