"""The shared product catalogue: everyone reads it, heads and directors keep it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, true
from sqlalchemy.exc import IntegrityError

from crm import validation
from crm.access import Actor, require_role
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import Product
from crm.models.enums import Role
from crm.uow import UnitOfWork


@dataclass
class ProductInput:
    name: str
    unit_price: Decimal | int | str
    unit_cost: Decimal | int | str | None = None
    description: str | None = None
    active: bool = True


def clean(data: ProductInput) -> dict[str, object]:
    """Validated column values; raises InvalidInput before anything is written."""
    if not isinstance(data.active, bool):
        raise InvalidInput("active", "invalid")
    return {
        "name": validation.text("name", data.name),
        "unit_price": validation.money("unit_price", data.unit_price),
        "unit_cost": validation.money("unit_cost", data.unit_cost, allow_none=True),
        "description": validation.optional_text(
            "description", data.description, validation.TEXT_MAX
        ),
        "active": data.active,
    }


def _keeper(actor: Actor) -> None:
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="product")


async def _check_name_free(uow: UnitOfWork, name: str, product_id: int | None = None) -> None:
    """The name must not be taken by another product (case ignored where the database can)."""
    query = select(Product.id).where(func.lower(Product.name) == name.lower())
    if product_id is not None:
        query = query.where(Product.id != product_id)
    if await uow.session.scalar(query.limit(1)) is not None:
        raise Conflict("duplicate", field="name", name=name)


async def _flush(uow: UnitOfWork, name: str) -> None:
    """Flush; a concurrent insert of the same name still ends as a Conflict, not a crash."""
    try:
        await uow.flush()
    except IntegrityError as exc:
        raise Conflict("duplicate", field="name", name=name) from exc


async def get(uow: UnitOfWork, actor: Actor, product_id: int) -> Product:
    product = await uow.session.get(Product, product_id)
    if product is None:
        raise AccessDenied("product")
    return product


async def create(uow: UnitOfWork, actor: Actor, data: ProductInput) -> Product:
    _keeper(actor)
    values = clean(data)
    name = str(values["name"])
    async with uow:
        await _check_name_free(uow, name)
        product = Product(**values)
        uow.session.add(product)
        await _flush(uow, name)
        uow.audit_created(actor.id, product)
        await uow.commit()
    return product


async def update(uow: UnitOfWork, actor: Actor, product_id: int, **changes: object) -> Product:
    """Change some fields; only the fields given are validated and written."""
    _keeper(actor)
    allowed = set(ProductInput.__dataclass_fields__)
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "unknown_field")
    async with uow:
        product = await get(uow, actor, product_id)
        current = ProductInput(**{k: getattr(product, k) for k in allowed})  # type: ignore[arg-type]
        for key, value in changes.items():
            setattr(current, key, value)
        values = {k: v for k, v in clean(current).items() if k in changes}
        if "name" in values and values["name"] != product.name:
            await _check_name_free(uow, str(values["name"]), product.id)
        if uow.apply(actor.id, product, **values):
            await _flush(uow, product.name)
        await uow.commit()
    return product


async def list_page(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10, active_only: bool = True
) -> tuple[list[Product], int]:
    async with uow.read_only():
        scope = Product.active.is_(True) if active_only else true()
        total = await uow.session.scalar(select(func.count()).select_from(Product).where(scope))
        rows = await uow.session.scalars(
            select(Product)
            .where(scope)
            .order_by(Product.name, Product.id)
            .offset(offset)
            .limit(limit)
        )
        return list(rows), int(total or 0)
