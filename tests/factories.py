"""Test data written straight to the database, for arranging a test's world."""

from __future__ import annotations

import itertools
from decimal import Decimal

from crm.access import Actor
from crm.models import Company, Department, Manager
from crm.models.enums import Role
from crm.storage import Database

_tg_ids = itertools.count(1000)


async def department(db: Database, name: str = "Sales") -> Department:
    async with db.uow() as uow:
        dept = Department(name=name)
        uow.session.add(dept)
        await uow.commit()
    return dept


async def staff(
    db: Database,
    role: Role = Role.MANAGER,
    department_id: int | None = None,
    name: str = "Anna",
    max_discount: Decimal = Decimal(10),
    language: str = "en",
    tg_id: int | None = None,
) -> Actor:
    async with db.uow() as uow:
        manager = Manager(
            tg_id=tg_id or next(_tg_ids),
            name=name,
            role=role.value,
            department_id=department_id,
            max_discount_pct=max_discount,
            language=language,
            timezone="Europe/Moscow",
        )
        uow.session.add(manager)
        await uow.commit()
    return Actor.of(manager)


async def raw_company(db: Database, curator: Actor, name: str = "Romashka") -> Company:
    async with db.uow() as uow:
        company = Company(name=name, curator_id=curator.id, tags=[])
        uow.session.add(company)
        await uow.commit()
    return company
