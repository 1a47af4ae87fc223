from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.access import Actor
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import AuditEntry, Product
from crm.models.enums import Role
from crm.services import products
from crm.services.products import ProductInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count


async def audit_rows(db: Database) -> list[AuditEntry]:
    async with db.uow() as uow:
        return list(await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def get(db: Database, actor: Actor, product_id: int) -> Product:
    async with db.uow() as uow:
        return await products.get(uow, actor, product_id)


async def test_head_creates_everyone_reads(db: Database) -> None:
    dept = await factories.department(db)
    head = await factories.staff(db, Role.HEAD, department_id=dept.id)
    manager = await factories.staff(db, name="Boris")  # of no department at all
    created = await products.create(
        db.uow(),
        head,
        ProductInput(
            name="  Кран  шаровой ", unit_price="1 250,5", unit_cost="800", description="DN50"
        ),
    )
    got = await get(db, manager, created.id)
    assert (got.name, got.unit_price, got.unit_cost, got.description, got.active) == (
        "Кран шаровой",
        Decimal("1250.50"),
        Decimal("800.00"),
        "DN50",
        True,
    )
    [entry] = await audit_rows(db)
    assert (entry.entity, entry.entity_id, entry.action, entry.actor_id) == (
        "products",
        created.id,
        "create",
        head.id,
    )
    assert entry.changes["unit_price"] == [None, "1250.50"]
    assert entry.changes["name"] == [None, "Кран шаровой"]
    free = await products.create(db.uow(), head, ProductInput(name="Консультация", unit_price=0))
    assert free.unit_price == Decimal("0.00") and free.unit_cost is None
    rows, total = await products.list_page(db.uow(), manager)
    assert ([r.name for r in rows], total) == (["Консультация", "Кран шаровой"], 2)
    with pytest.raises(AccessDenied):
        await get(db, manager, created.id + 999)


async def test_manager_cannot_create_or_change(db: Database) -> None:
    manager = await factories.staff(db)
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    with pytest.raises(AccessDenied):
        await products.create(db.uow(), manager, ProductInput(name="Widget", unit_price=10))
    assert await count(db, Product) == 0
    item = await products.create(db.uow(), director, ProductInput(name="Widget", unit_price=10))
    with pytest.raises(AccessDenied):
        await products.update(db.uow(), manager, item.id, unit_price=1)
    assert (await get(db, manager, item.id)).unit_price == Decimal("10.00")
    assert len(await audit_rows(db)) == 1


async def test_duplicate_name_refused(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR)
    widget = await products.create(db.uow(), director, ProductInput(name="Widget", unit_price=10))
    gadget = await products.create(db.uow(), director, ProductInput(name="Gadget", unit_price=5))
    for name in ("Widget", " widget ", "WIDGET"):
        with pytest.raises(Conflict) as err:
            await products.create(db.uow(), director, ProductInput(name=name, unit_price=1))
        assert err.value.reason == "duplicate"
    with pytest.raises(Conflict) as err:
        await products.update(db.uow(), director, gadget.id, name="widget")
    assert err.value.reason == "duplicate"
    assert await count(db, Product) == 2
    assert len(await audit_rows(db)) == 2
    # a product may change the case of its own name
    renamed = await products.update(db.uow(), director, widget.id, name="WIDGET")
    assert renamed.name == "WIDGET"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (ProductInput(name=" ", unit_price=1), "name"),
        (ProductInput(name="x" * 201, unit_price=1), "name"),
        (ProductInput(name="Widget", unit_price="-1"), "unit_price"),
        (ProductInput(name="Widget", unit_price=""), "unit_price"),
        (ProductInput(name="Widget", unit_price="ten"), "unit_price"),
        (ProductInput(name="Widget", unit_price=1, unit_cost="-3"), "unit_cost"),
        (ProductInput(name="Widget", unit_price=1, description="d" * 10_000), "description"),
    ],
)
async def test_bad_input_writes_nothing(db: Database, data: ProductInput, field: str) -> None:
    head = await factories.staff(db, Role.HEAD)
    with pytest.raises(InvalidInput) as err:
        await products.create(db.uow(), head, data)
    assert err.value.field == field
    assert await count(db, Product) == 0
    assert await count(db, AuditEntry) == 0


async def test_update_audits_and_deactivation_hides_from_the_default_list(db: Database) -> None:
    head = await factories.staff(db, Role.HEAD)
    manager = await factories.staff(db, name="Boris")
    item = await products.create(db.uow(), head, ProductInput(name="Widget", unit_price=10))
    await products.create(db.uow(), head, ProductInput(name="Gadget", unit_price=5))
    updated = await products.update(
        db.uow(), head, item.id, unit_price="12.5", active=False, name="Widget"
    )
    assert (updated.unit_price, updated.active) == (Decimal("12.50"), False)
    entries = await audit_rows(db)
    assert [e.action for e in entries] == ["create", "create", "update"]
    assert entries[-1].changes == {"unit_price": ["10.00", "12.50"], "active": [True, False]}
    with pytest.raises(InvalidInput) as err:
        await products.update(db.uow(), head, item.id, unit_price="-1")
    assert err.value.field == "unit_price"
    with pytest.raises(InvalidInput) as err:
        await products.update(db.uow(), head, item.id, colour="red")
    assert err.value.field == "colour"
    assert len(await audit_rows(db)) == 3

    rows, total = await products.list_page(db.uow(), manager)
    assert ([r.name for r in rows], total) == (["Gadget"], 1)
    rows, total = await products.list_page(db.uow(), manager, 0, 1, active_only=False)
    assert ([r.name for r in rows], total) == (["Gadget"], 2)
    rows, total = await products.list_page(db.uow(), manager, 1, 1, active_only=False)
    assert ([r.name for r in rows], total) == (["Widget"], 2)
