"""Companies (counterparties): create, read, edit, list — within the actor's reach."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import func, select

from crm import matching, search, validation
from crm.access import Actor, can_see_owner, visible_owner
from crm.errors import AccessDenied, InvalidInput
from crm.models import Company, Contact, Manager
from crm.models.enums import CompanyStage, SearchKind
from crm.services import contact_index, holdings
from crm.services.duplicates import door
from crm.uow import UnitOfWork


@dataclass
class CompanyInput:
    name: str
    industry: str | None = None
    territory: str | None = None
    inn: str | None = None
    parent_id: int | None = None
    stage: str = CompanyStage.POTENTIAL.value
    credit_limit: Decimal | str | None = None
    payment_deferral_days: int | None = None
    tags: list[str] = field(default_factory=list)
    notes: str | None = None
    curator_id: int | None = None


def _inn(value: str | None) -> str | None:
    return validation.inn("inn", value)


def _deferral(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 365:
        raise InvalidInput("payment_deferral_days", "out_of_range", min=0, max=365)
    return value


class CompanyValues(TypedDict):
    """The column values `clean` checked, ready for `Company(**values)`."""

    name: str
    name_key: str
    match_key: str
    industry: str | None
    territory: str | None
    inn: str | None
    stage: str
    credit_limit: Decimal | None
    payment_deferral_days: int | None
    tags: list[str]
    notes: str | None
    parent_id: int | None


def clean(data: CompanyInput) -> CompanyValues:
    """Validated column values; raises InvalidInput before anything is written."""
    name = validation.text("name", data.name)
    return {
        "name": name,
        "name_key": search.normalise(name),
        "match_key": matching.company_key(name),
        "industry": validation.optional_text("industry", data.industry, validation.SHORT_MAX),
        "territory": validation.optional_text("territory", data.territory, validation.SHORT_MAX),
        "inn": _inn(data.inn),
        "stage": validation.choice("stage", data.stage, CompanyStage).value,
        "credit_limit": validation.money("credit_limit", data.credit_limit, allow_none=True),
        "payment_deferral_days": _deferral(data.payment_deferral_days),
        "tags": validation.tags(data.tags),
        "notes": validation.optional_text("notes", data.notes, validation.TEXT_MAX),
        "parent_id": data.parent_id,
    }


async def reindex(uow: UnitOfWork, company: Company) -> None:
    await search.index(
        uow.session,
        SearchKind.COMPANY,
        company.id,
        company.curator_id,
        company.name,
        [company.name, company.inn, company.industry, company.territory, *company.tags],
    )


async def _reindex_contacts(uow: UnitOfWork, company: Company) -> None:
    """Contacts are found by their company's name too: keep their search rows in step."""
    rows = await uow.session.scalars(select(Contact).where(Contact.company_id == company.id))
    for contact in rows:
        await contact_index.reindex(uow, contact, company)


async def get(uow: UnitOfWork, actor: Actor, company_id: int) -> Company:
    """The company if the actor may see it; AccessDenied alike if absent or someone else's."""
    company = await uow.session.get(Company, company_id)
    if company is None or not can_see_owner(actor, company.curator):
        raise AccessDenied("company")
    return company


async def get_visible(uow: UnitOfWork, actor: Actor, company_id: int) -> Company:
    """`get` in a read-only transaction of its own."""
    async with uow.read_only():
        return await get(uow, actor, company_id)


async def _curator_for(uow: UnitOfWork, actor: Actor, curator_id: int | None) -> int:
    if curator_id is None or curator_id == actor.id:
        return actor.id
    curator = await uow.session.get(Manager, curator_id)
    if curator is None or not curator.active or not can_see_owner(actor, curator):
        raise AccessDenied("manager")
    return curator.id


async def create(uow: UnitOfWork, actor: Actor, data: CompanyInput) -> Company:
    """A new company; refused (AlreadyServed) when it is a client someone out of the
    actor's reach serves. One within reach the handler offers first (`door.company_match`)."""
    values = clean(data)
    async with uow:
        door.refuse_foreign(
            await door.company_match(uow.session, actor, values["name"], values["inn"])
        )
        if values["parent_id"] is not None:
            await get(uow, actor, int(values["parent_id"]))
        company = Company(**values, curator_id=await _curator_for(uow, actor, data.curator_id))
        uow.session.add(company)
        await uow.flush()
        uow.audit_created(actor.id, company)
        await reindex(uow, company)
        await uow.session.refresh(company, ["curator"])
        await uow.commit()
    return company


async def update(uow: UnitOfWork, actor: Actor, company_id: int, **changes: object) -> Company:
    """Change some fields; only the fields given are validated and written."""
    allowed = set(CompanyInput.__dataclass_fields__) - {"curator_id"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "unknown_field")
    async with uow:
        company = await get(uow, actor, company_id)
        current = CompanyInput(
            **{k: getattr(company, k) for k in allowed}  # type: ignore[arg-type]
        )
        for key, value in changes.items():
            setattr(current, key, value)
        values = {
            k: v
            for k, v in clean(current).items()
            if k in changes or k in ("name_key", "match_key")
        }
        if "parent_id" in changes and current.parent_id is not None:
            await holdings.check_parent(uow, actor, company.id, int(current.parent_id))
        changed = uow.apply(actor.id, company, **values)
        if changed:
            await reindex(uow, company)
        if "name" in changed:
            await _reindex_contacts(uow, company)
        await uow.commit()
    return company


async def find_by_name(uow: UnitOfWork, actor: Actor, name: str) -> Company | None:
    """The company of exactly this name (any case) among those the actor sees."""
    key = search.normalise(validation.text("company", name))
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(Company)
            .where(Company.name_key == key, visible_owner(actor, Company.curator_id))
            .order_by(Company.id)
            .limit(1)
        )
        return rows.first()


async def list_page(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10
) -> tuple[list[Company], int]:
    async with uow.read_only():
        scope = visible_owner(actor, Company.curator_id)
        total = await uow.session.scalar(select(func.count()).select_from(Company).where(scope))
        rows = await uow.session.scalars(
            select(Company)
            .where(scope)
            .order_by(Company.name, Company.id)
            .offset(offset)
            .limit(limit)
        )
        return list(rows), int(total or 0)
