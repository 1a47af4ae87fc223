"""Movers: clients whose ABC or XYZ class changed since the previous period (the service;
what /report abc and the digest show of them: tests/e2e/test_handlers_reports.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from crm.analytics import movers
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.scope import Period, last_full_months
from crm.models.enums import Role
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.movers_year import months_ago, slipped_client


async def test_a_client_that_slipped_from_a_to_b(db: Database) -> None:
    await slipped_client(db)
    dina = await factories.staff(db, Role.DIRECTOR, name="Other director")
    year = last_full_months(datetime.now(UTC).date())
    r = await movers.movers_report(db.uow(), dina, year)
    assert r.count == 1
    [alfa] = r.movers
    assert (alfa.name, alfa.abc_before, alfa.abc_after, alfa.xyz_changed) == (
        "Alfa",
        "A",
        "B",
        False,
    )
    assert (alfa.before, alfa.after) == (Decimal("10000.00"), Decimal("2000.00"))
    assert alfa.change is not None and round(alfa.change, 2) == -0.8
    assert r.previous == Period(months_ago(13, 1), months_ago(1, 1))
    by_count = await movers.movers_report(db.uow(), dina, year, AbcMetric.COUNT)
    assert by_count.count == 0  # one sale each year for Alfa, eleven for Beta: A and B both times
    nobody = await factories.staff(db, name="Nick")
    assert (await movers.movers_report(db.uow(), nobody, year)).empty
