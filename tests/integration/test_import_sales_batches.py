"""A sales import over several batches: the rollups it keeps, what it skips, and the SQLite
connection it borrows put back as it was (crm/services/imports/writers/sales_table.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from crm.analytics import rollups
from crm.errors import InvalidInput
from crm.models import AuditEntry, CompanySalesMonth, ManagerSalesMonth, Sale
from crm.models.enums import Role
from crm.services import imports
from crm.services.imports.writers.sales_table import SqliteSalesTable, sales_table
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count

ROWS = 11_000  # three batches of the reader (worker.BATCH_ROWS = 5000)


def sales_csv(rows: int) -> str:
    lines = ["Номер;Дата;Компания;Сумма;Себестоимость"]
    for i in range(rows):
        day = date(2025, 12, 20) + timedelta(days=i % 70)
        company = ("Romashka", "Tulip")[i % 2]
        amount = f"{(i % 997) + 1 + 0.05 * (i % 20):.2f}".replace(".", ",")
        cost = "" if i % 3 else f"{(i % 997) * 0.6:.2f}"
        lines.append(f"N{i};{day:%d.%m.%Y};{company};{amount};{cost}")
    return "\n".join(lines) + "\n"


async def cache_size(db: Database) -> int:
    async with db.uow() as uow:
        return int((await uow.session.execute(text("PRAGMA cache_size"))).scalar_one())


async def test_rollups_and_duplicates_over_several_batches(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dora")
    anna = await factories.staff(db)
    romashka = await factories.raw_company(db, anna, "Romashka")
    await factories.raw_company(db, director, "Tulip")
    async with db.uow() as uow:  # a sale counted before the import, in a month it adds to
        uow.session.add(
            Sale(
                company_id=romashka.id,
                manager_id=anna.id,
                sold_on=date(2026, 1, 5),
                amount=Decimal("10.00"),
                external_ref="OLD-1",
            )
        )
        await uow.commit()
    content = sales_csv(ROWS)
    content += "N5;01.01.2026;Romashka;1,00;\n"  # a number two batches back: skipped
    content += "OLD-1;05.01.2026;Romashka;10,00;\n"  # stored before the import: skipped

    report = await imports.import_file(db.uow(), director, "1c.csv", content.encode())

    assert (report.rows, report.created, report.skipped_duplicates) == (ROWS + 2, ROWS, 2)
    assert report.rejected == []
    assert await count(db, Sale) == ROWS + 1
    async with db.uow() as uow:
        assert await rollups.verify(uow.session) == []
        january = (
            await uow.session.execute(
                select(
                    CompanySalesMonth.revenue_cents,
                    CompanySalesMonth.cost_cents,
                    CompanySalesMonth.sales,
                ).where(
                    CompanySalesMonth.company_id == romashka.id,
                    CompanySalesMonth.month == date(2026, 1, 1),
                )
            )
        ).one()
        by_manager = await uow.session.scalar(select(func.sum(ManagerSalesMonth.sales)))
    assert tuple(january) == expected(content, "Romashka", "2026-01", plus=(1000, 0, 1))
    assert by_manager == ROWS + 1


def expected(content: str, company: str, month: str, plus: tuple[int, int, int]) -> tuple[int, ...]:
    """(revenue cents, cost cents, sales) of a company's month, read from the file itself,
    the rows skipped as duplicates left out."""
    revenue, cost, sales = plus
    seen: set[str] = set()
    for line in content.splitlines()[1:]:
        number, day, name, amount, cost_text = line.split(";")
        if number in seen or number.startswith("OLD"):
            continue
        seen.add(number)
        _, mm, yyyy = day.split(".")
        if name != company or f"{yyyy}-{mm}" != month:
            continue
        revenue += int(Decimal(amount.replace(",", ".")) * 100)
        cost += int(Decimal(cost_text or "0") * 100)
        sales += 1
    return revenue, cost, sales


async def test_the_import_ids_in_the_audit_are_its_sales(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dora")
    await factories.raw_company(db, director, "Romashka")
    await factories.raw_company(db, director, "Tulip")
    report = await imports.import_file(db.uow(), director, "a.csv", sales_csv(7_000).encode())
    assert report.created == 7_000
    async with db.uow() as uow:
        low, high = (await uow.session.execute(select(func.min(Sale.id), func.max(Sale.id)))).one()
        [entry] = (
            await uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "import"))
        ).all()
    assert entry.changes["ids"] == [None, [low, high]] and high - low + 1 == 7_000


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the page cache is SQLite's
async def test_sqlite_page_cache_is_put_back_after_an_import_or_a_refusal(
    db: Database,
) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dora")
    await factories.raw_company(db, director, "Romashka")
    await factories.raw_company(db, director, "Tulip")
    async with db.uow() as uow:  # the fast way, not the fallback for an unusable INSERT
        assert isinstance(sales_table(uow), SqliteSalesTable)
    before = await cache_size(db)
    assert db.engine.pool.checkedin() == 1  # type: ignore[attr-defined]  # the same connection
    report = await imports.import_file(db.uow(), director, "a.csv", sales_csv(6_000).encode())
    assert report.created == 6_000
    assert await cache_size(db) == before
    assert db.engine.pool.checkedin() == 1  # type: ignore[attr-defined]

    # refused half-way (bytes of another encoding in the second batch): nothing written
    bad = sales_csv(8_000).encode() + "X1;01.01.2026;Тюльпан;1;\n".encode("cp1251")
    with pytest.raises(InvalidInput) as refused:
        await imports.import_file(db.uow(), director, "b.csv", bad)
    assert refused.value.reason == "mixed_encoding"
    assert await count(db, Sale) == 6_000
    assert await cache_size(db) == before
    async with db.uow() as uow:
        assert await rollups.verify(uow.session) == []
