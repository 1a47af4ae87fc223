"""Movers: clients whose ABC or XYZ class changed since the previous period, in the service,
in /report abc and in the daily digest."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from crm.analytics import movers
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.scope import Period, last_full_months
from crm.models import Company, Sale
from crm.models.enums import Role
from crm.storage import Database
from tests import factories
from tests.bot_harness import Harness
from tests.botapi_stub import TgUser, message_update

DINA = TgUser(7403, "Dina", language_code="en")  # director
ANNA = TgUser(7401, "Anna", language_code="ru")  # manager


def months_ago(n: int, day: int = 10) -> date:
    first = datetime.now(UTC).date().replace(day=1)
    index = first.year * 12 + first.month - 1 - n
    return date(index // 12, index % 12 + 1, day)


async def world(db: Database) -> None:
    """Alfa bought 10 000 thirteen months ago and 2 000 last month; Beta 1 000 a month for
    the 11 months before last. A year ago Alfa was A (10 000 of 21 000, after Beta's
    11 000); now it is B (2 000 of 13 000), −80 %. Nothing else changed class."""
    anna = await factories.staff(db, name="Anna", language="ru", tg_id=ANNA.id)
    await factories.staff(db, Role.DIRECTOR, name="Dina", language="en", tg_id=DINA.id)
    async with db.uow() as uow:
        alfa = Company(name="Alfa", name_key="alfa", curator_id=anna.id, stage="regular", tags=[])
        beta = Company(name="Beta", name_key="beta", curator_id=anna.id, stage="regular", tags=[])
        uow.session.add_all([alfa, beta])
        await uow.flush()
        sales = [(alfa, 13, 10000), (alfa, 1, 2000)] + [(beta, n, 1000) for n in range(2, 13)]
        for company, n, amount in sales:
            uow.session.add(
                Sale(
                    company_id=company.id,
                    manager_id=anna.id,
                    sold_on=months_ago(n),
                    amount=Decimal(amount),
                )
            )
        await uow.commit()


async def test_a_client_that_slipped_from_a_to_b(db: Database) -> None:
    await world(db)
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


async def test_report_abc_and_the_digest_name_the_movers(harness: Harness) -> None:
    await world(harness.db)
    shown = await harness.send(message_update(DINA, "/report abc"))
    assert "Class changes since " in shown[0].text
    assert "• A → B: Alfa, −80 %" in shown[0].text
    digest = await harness.send(message_update(DINA, "/digest"))
    assert "Class changes since " in digest[0].text and ": 1\n" in digest[0].text
    assert "• A → B: Alfa, −80 %" in digest[0].text
    russian = await harness.send(message_update(ANNA, "/report abc"))
    assert "Сменили класс по сравнению с периодом " in russian[0].text
    assert "• A → B: Alfa, −80 %" in russian[0].text
