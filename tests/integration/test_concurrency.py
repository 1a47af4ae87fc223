"""Many managers writing at once: no "database is locked", nothing lost, every change audited."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from crm import search
from crm.access import Actor
from crm.models import AuditEntry, Company, SearchEntry
from crm.models.enums import Role
from crm.services import companies
from crm.services.companies import CompanyInput
from crm.storage import Database
from tests.fixtures import factories

WRITERS = 20
WRITES = 200


async def _count(db: Database, model: type, *where: object) -> int:
    async with db.uow().read_only() as uow:
        stmt = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int(await uow.session.scalar(stmt) or 0)


async def _search(db: Database, actor: Actor, query: str) -> list[search.Hit]:
    async with db.uow().read_only() as uow:
        return await search.search(uow.session, actor, query)


async def test_200_concurrent_writes_from_20_managers(db: Database) -> None:
    dept = await factories.department(db)
    managers = [
        await factories.staff(db, department_id=dept.id, name=f"M{i}") for i in range(WRITERS)
    ]
    director = await factories.staff(db, Role.DIRECTOR)

    async def write(i: int) -> Company:
        manager = managers[i % WRITERS]
        return await companies.create(
            db.uow(), manager, CompanyInput(name=f"Ромашка {i:03d}", industry="Retail")
        )

    async def read(i: int) -> list[search.Hit]:
        return await _search(db, director, f"ромашка {i:03d}")

    results = await asyncio.gather(
        *(write(i) for i in range(WRITES)), *(read(i) for i in range(0, WRITES, 4))
    )

    created = [r for r in results if isinstance(r, Company)]
    assert len({c.id for c in created}) == WRITES
    assert await _count(db, Company) == WRITES
    assert await _count(db, AuditEntry, AuditEntry.entity == "companies") == WRITES
    assert await _count(db, SearchEntry) == WRITES
    for manager in managers:
        assert await _count(db, Company, Company.curator_id == manager.id) == WRITES // WRITERS
    hits = await _search(db, director, "ромашка 137")
    assert hits[0].title == "Ромашка 137"


async def test_sqlite_file_takes_concurrent_writers_without_locking_errors(
    sqlite_db: Database,
) -> None:
    """Writers that read first (the case BEGIN IMMEDIATE exists for) alongside readers."""
    manager = await factories.staff(sqlite_db)
    company = await companies.create(sqlite_db.uow(), manager, CompanyInput(name="Ромашка"))

    async def rename(i: int) -> None:
        await companies.update(sqlite_db.uow(), manager, company.id, notes=f"note {i}")

    async def read(_: int) -> None:
        async with sqlite_db.uow().read_only() as uow:
            await companies.get(uow, manager, company.id)

    await asyncio.gather(*(rename(i) for i in range(100)), *(read(i) for i in range(100)))
    assert await _count(sqlite_db, AuditEntry, AuditEntry.action == "update") == 100
