"""The duplicate check at the door: a new company or contact against every record stored.

A company matches by INN or by name (crm/matching.py: legal form, quotes, case and
transliteration ignored, one typo tolerated); a contact by phone (E.164, so every
spelling of a number agrees), email (any case), or by name at the same company.
Each check is one round trip: the candidates and who serves them come back together.
Whoever owns the match: the actor may open it if it is within their reach; otherwise
they learn only who serves the client (the curator and their department) and may ask
for it (crm/services/duplicates/requests.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, String, bindparam, func, literal, select, true, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from crm import matching
from crm.access import Actor, can_see
from crm.errors import AlreadyServed
from crm.models import Company, Contact, Department, Manager
from crm.models.enums import Role
from crm.uow import UnitOfWork

COMPANIES = "companies"
CONTACTS = "contacts"
CANDIDATES = 20
REASONS = ("inn", "phone", "email", "name")  # the strongest evidence first
# (id, reason, curator_id, a name still to compare or None) of some candidates
Hits = Select[int, str, int, str]


@dataclass(frozen=True, slots=True)
class Match:
    """An existing record a new one would duplicate; `reason`: inn, name, phone, email."""

    kind: str
    entity_id: int
    reason: str
    visible: bool
    curator_name: str
    department: str | None
    curator_id: int = 0


def _joined(hits: Sequence[Hits]) -> Select[Any]:
    """Some statements' candidates, each with who serves it, as one statement.

    Each statement selects (id, reason, curator_id, extra): `extra` is what the caller
    still has to judge (a name to compare) or None.
    """
    # each in its own subquery: SQLite takes no LIMIT inside a UNION's members
    found = union_all(*(select(h.subquery()) for h in hits)).subquery("hit")
    return (
        select(found, Manager.name, Manager.department_id, Department.name)
        .join(Manager, Manager.id == found.c.curator_id)
        .outerjoin(Department, Department.id == Manager.department_id)
    )


async def _match(
    session: AsyncSession, actor: Actor, kind: str, query: Select[Any], params: dict[str, Any]
) -> list[tuple[Match, Any]]:
    """The candidates of a `_joined` query as matches, each with what is left to judge."""
    rows = await session.execute(query, params)
    return [
        (
            Match(
                kind,
                rid,
                reason,
                can_see(actor, curator_id, department_id),
                curator_name,
                department,
                curator_id,
            ),
            extra,
        )
        for rid, reason, curator_id, extra, curator_name, department_id, department in rows
    ]


def _best(matches: Sequence[Match], actor: Actor) -> Match | None:
    """Of several matches: the strongest reason first (as `REASONS` orders them), then the
    actor's own, then the oldest."""
    if not matches:
        return None
    return min(
        matches, key=lambda m: (REASONS.index(m.reason), m.curator_id != actor.id, m.entity_id)
    )


def _by_key(dialect: str) -> Hits:
    """Companies whose match key is one of the parameter `near` (some hundred spellings),
    by the index.

    PostgreSQL gets them one key at a time through a LATERAL subquery: as an `= ANY` of
    hundreds of values (or ordered by id under a LIMIT), it planned a walk of the whole
    table, estimating many matches before an ANALYZE and some hundreds after it (120 ms
    on 100,000 companies, against 1 ms by the index). SQLite takes them as one JSON
    parameter, not an IN of hundreds of values rendered anew at every check.
    """
    columns = (Company.id, literal("name"), Company.curator_id, Company.name)
    if dialect == "postgresql":
        unnest = func.unnest(bindparam("near", type_=ARRAY(String)))
        keys = unnest.table_valued("key").render_derived(name="near")
        one = (
            select(*columns).where(Company.match_key == keys.c.key).limit(CANDIDATES).lateral("one")
        )
        return select(one).select_from(keys).join(one, true()).limit(CANDIDATES)
    keys = func.json_each(bindparam("near", type_=String)).table_valued("value")
    return select(*columns).where(Company.match_key.in_(select(keys.c.value))).limit(CANDIDATES)


@cache
def _company_query(dialect: str, by_inn: bool, by_name: bool) -> Select[Any]:
    """Built once per shape: building and keying a statement this size at every check
    cost more than running it."""
    hits: list[Hits] = []
    if by_inn:
        hits.append(
            select(Company.id, literal("inn"), Company.curator_id, literal(None, String))
            .where(Company.inn == bindparam("inn"))
            .limit(CANDIDATES)
        )
    if by_name:
        hits.append(_by_key(dialect))
    return _joined(hits)


@cache
def _contact_query(by_phone: bool, by_email: bool, by_company: bool) -> Select[Any]:
    hits: list[Hits] = []
    if by_phone:
        hits.append(
            select(Contact.id, literal("phone"), Contact.curator_id, literal(None, String))
            .where(Contact.phone == bindparam("phone"))
            .limit(CANDIDATES)
        )
    if by_email:
        hits.append(
            select(Contact.id, literal("email"), Contact.curator_id, literal(None, String))
            .where(func.lower(Contact.email) == bindparam("email"))  # ix_contacts_email_lower
            .limit(CANDIDATES)
        )
    if by_company:
        hits.append(
            select(Contact.id, literal("name"), Contact.curator_id, Contact.name).where(
                Contact.company_id == bindparam("company_id")
            )
        )
    return _joined(hits)


async def load(session: AsyncSession, kind: str, record_id: int) -> Company | Contact | None:
    """The company (COMPANIES) or contact (CONTACTS) with this id; None if absent."""
    if kind == COMPANIES:
        return await session.get(Company, record_id)
    if kind == CONTACTS:
        return await session.get(Contact, record_id)
    return None


async def company_ids(session: AsyncSession, name: str, inn: str | None = None) -> dict[int, str]:
    """Every company the name or INN matches, whoever owns it: id -> reason."""
    return {m.entity_id: m.reason for m in await _companies(session, None, name, inn)}


async def _companies(
    session: AsyncSession, actor: Actor | None, name: str, inn: str | None
) -> list[Match]:
    key = matching.company_key(name)
    if not inn and not key:
        return []
    dialect = session.get_bind().dialect.name
    params: dict[str, Any] = {"inn": inn}
    if key:
        near = sorted(matching.neighbours(key))
        params["near"] = near if dialect == "postgresql" else json.dumps(near)
    query = _company_query(dialect, bool(inn), bool(key))
    nobody = actor or Actor(0, Role.MANAGER, None)
    found: dict[int, Match] = {}
    for match, other_name in await _match(session, nobody, COMPANIES, query, params):
        if match.reason == "inn":
            found[match.entity_id] = match
        elif matching.company_key(other_name) == key or matching.similar_names(name, other_name):
            found.setdefault(match.entity_id, match)
    return list(found.values())


async def company_match(
    session: AsyncSession, actor: Actor, name: str, inn: str | None = None, exclude: int = 0
) -> Match | None:
    """The company a new one named so (with this INN) would duplicate, if any."""
    found = await _companies(session, actor, name, inn)
    return _best([m for m in found if m.entity_id != exclude], actor)


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
    if not phone and not email and company_id is None:
        return None
    query = _contact_query(bool(phone), bool(email), company_id is not None)
    params = {"phone": phone, "email": email.lower() if email else None, "company_id": company_id}
    found = await _match(session, actor, CONTACTS, query, params)
    key = matching.person_key(name)
    matches = [
        m
        for m, other in found
        if m.reason != "name" or matching.similar(key, matching.person_key(other))
    ]
    return _best(matches, actor)


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
