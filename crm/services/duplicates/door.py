"""The duplicate check at the door: a new company or contact against every record stored.

A company matches by INN or by name (crm/matching.py: legal form, quotes, case and
transliteration ignored, one typo tolerated); a contact by phone (E.164, so every
spelling of a number agrees), email (any case), or by name at the same company.
Whoever owns the match: the actor may open it if it is within their reach; otherwise
they learn only who serves the client (the curator and their department) and may ask
for it (crm/services/duplicates/requests.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from crm import matching
from crm.access import Actor, can_see_owner
from crm.errors import AlreadyServed
from crm.models import Company, Contact, Department, Manager
from crm.uow import UnitOfWork

COMPANIES = "companies"
CONTACTS = "contacts"
CANDIDATES = 20


@dataclass(frozen=True, slots=True)
class Match:
    """An existing record a new one would duplicate; `reason`: inn, name, phone, email."""

    kind: str
    entity_id: int
    reason: str
    visible: bool
    curator_name: str
    department: str | None


async def _match(
    session: AsyncSession, actor: Actor, kind: str, entity_id: int, curator_id: int, reason: str
) -> Match:
    row = (
        await session.execute(
            select(Manager, Department.name)
            .outerjoin(Department, Department.id == Manager.department_id)
            .where(Manager.id == curator_id)
        )
    ).one()
    curator, department = row
    return Match(kind, entity_id, reason, can_see_owner(actor, curator), curator.name, department)


async def load(session: AsyncSession, kind: str, record_id: int) -> Company | Contact | None:
    """The company (COMPANIES) or contact (CONTACTS) with this id; None if absent."""
    if kind == COMPANIES:
        return await session.get(Company, record_id)
    if kind == CONTACTS:
        return await session.get(Contact, record_id)
    return None


def _best(rows: Sequence[tuple[int, int]], actor: Actor) -> tuple[int, int]:
    """Of several matches, the actor's own first, then the oldest."""
    return min(rows, key=lambda r: (r[1] != actor.id, r[0]))


async def company_ids(session: AsyncSession, name: str, inn: str | None = None) -> dict[int, str]:
    """Every company the name or INN matches, whoever owns it: id -> reason."""
    found: dict[int, str] = {}
    if inn:
        for cid in await session.scalars(
            select(Company.id).where(Company.inn == inn).order_by(Company.id).limit(CANDIDATES)
        ):
            found[cid] = "inn"
    key = matching.company_key(name)
    if key:
        near = sorted(matching.neighbours(key))
        if session.get_bind().dialect.name == "postgresql":
            # one array parameter: an IN of hundreds is prepared and planned anew each time
            among = Company.match_key == any_(bindparam("near", near, type_=ARRAY(String)))
        else:
            among = Company.match_key.in_(near)
        rows = await session.execute(
            select(Company.id, Company.match_key, Company.name)
            .where(among)
            .order_by(Company.id)
            .limit(CANDIDATES)
        )
        for cid, other, other_name in rows:
            if other == key or matching.similar_names(name, other_name):
                found.setdefault(cid, "name")
    return found


async def company_match(
    session: AsyncSession, actor: Actor, name: str, inn: str | None = None, exclude: int = 0
) -> Match | None:
    """The company a new one named so (with this INN) would duplicate, if any."""
    found = {k: v for k, v in (await company_ids(session, name, inn)).items() if k != exclude}
    if not found:
        return None
    rows = (
        await session.execute(
            select(Company.id, Company.curator_id).where(Company.id.in_(sorted(found)))
        )
    ).all()
    ranked = sorted(rows, key=lambda r: (found[r[0]] != "inn", r[1] != actor.id, r[0]))
    cid, curator_id = ranked[0]
    return await _match(session, actor, COMPANIES, cid, curator_id, found[cid])


async def contact_match(
    session: AsyncSession,
    actor: Actor,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    company_id: int | None = None,
) -> Match | None:
    """The contact a new one would duplicate: same phone, same email, or name at the company.

    `phone` and `email` are the cleaned values (crm/validation.py).
    """
    for reason, condition in (
        ("phone", Contact.phone == phone if phone else None),
        ("email", Contact.email.in_({email, email.lower()}) if email else None),
    ):
        if condition is None:
            continue
        rows = (
            await session.execute(
                select(Contact.id, Contact.curator_id).where(condition).limit(CANDIDATES)
            )
        ).all()
        if not rows and reason == "email" and email:
            rows = (
                await session.execute(
                    select(Contact.id, Contact.curator_id)
                    .where(func.lower(Contact.email) == email.lower())
                    .limit(CANDIDATES)
                )
            ).all()
        if rows:
            cid, curator_id = _best([(cid, cur) for cid, cur in rows], actor)
            return await _match(session, actor, CONTACTS, cid, curator_id, reason)
    if company_id is None:
        return None
    key = matching.person_key(name)
    names = (
        await session.execute(
            select(Contact.id, Contact.curator_id, Contact.name).where(
                Contact.company_id == company_id
            )
        )
    ).all()
    same = [
        (cid, cur) for cid, cur, other in names if matching.similar(key, matching.person_key(other))
    ]
    if not same:
        return None
    cid, curator_id = _best(same, actor)
    return await _match(session, actor, CONTACTS, cid, curator_id, "name")


def refuse_foreign(match: Match | None) -> None:
    """A service creating a record calls this: a client out of reach is not created again."""
    if match is not None and not match.visible:
        raise AlreadyServed(match.kind, match.entity_id, match.curator_name, match.department)


async def check_company(
    uow: UnitOfWork, actor: Actor, name: str, inn: str | None = None
) -> Match | None:
    """For a dialog: what a new company of this name (and INN) would duplicate."""
    async with uow.read_only():
        return await company_match(uow.session, actor, name, inn)


async def check_contact(
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    company_id: int | None = None,
    company_name: str | None = None,
) -> Match | None:
    """For a dialog: the contact (or, by its company's name, the company) a new contact
    would duplicate. A company within reach is the one the contact will join."""
    async with uow.read_only():
        if company_id is None and company_name:
            company = await company_match(uow.session, actor, company_name)
            if company is not None and not company.visible:
                return company
            company_id = company.entity_id if company is not None else None
        return await contact_match(uow.session, actor, name, phone, email, company_id)
