"""Test data written straight to the database, for arranging a test's world."""

from __future__ import annotations

import itertools
from decimal import Decimal

from crm.access import Actor
from crm.models import Company, Contact, Department, Manager
from crm.models.enums import Role
from crm.search import normalise
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
        company = Company(name=name, name_key=normalise(name), curator_id=curator.id, tags=[])
        uow.session.add(company)
        await uow.commit()
    return company


async def raw_contact(
    db: Database, curator: Actor, name: str = "Ivan Petrov", company_id: int | None = None
) -> Contact:
    async with db.uow() as uow:
        contact = Contact(name=name, curator_id=curator.id, company_id=company_id)
        uow.session.add(contact)
        await uow.commit()
    return contact


from crm.models import Product  # noqa: E402  (appended: the imports above are shared)


async def catalogue_product(
    db: Database,
    name: str = "Widget",
    price: Decimal | str = "100.00",
    cost: Decimal | str | None = None,
) -> Product:
    async with db.uow() as uow:
        item = Product(
            name=name,
            unit_price=Decimal(price),
            unit_cost=Decimal(cost) if cost is not None else None,
        )
        uow.session.add(item)
        await uow.commit()
    return item
