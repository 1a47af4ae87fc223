"""/duplicates: candidate pairs of companies and of contacts, ranked by evidence.

Only records sharing some evidence are compared, so the scan grows with the number of
records, not its square. The database groups what it can: records sharing an INN, a
phone, an email or an email domain come back as groups, the rest of the table never
leaves it. Names are compared by crm/matching.py keys: a key and its one-letter deletions
meet when two names are one typo apart (blocks.py, symmetric deletion). Groups larger
than CROWD (a common phone of a switchboard, a short name) are no evidence and are
skipped. Pairs marked "not a duplicate" are never proposed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, distinct, func, select

from crm import matching
from crm.access import Actor, require_role, visible_owner
from crm.models import Company, Contact, NotDuplicate
from crm.models.enums import Role
from crm.services.duplicates import blocks
from crm.services.duplicates.door import COMPANIES, CONTACTS
from crm.uow import UnitOfWork

CROWD = 20
WEIGHTS = {"inn": 100, "phone": 60, "email": 60, "same_name": 50, "similar_name": 35, "domain": 30}


@dataclass
class Pair:
    kind: str
    first_id: int  # the smaller id
    second_id: int
    reasons: set[str] = field(default_factory=set)

    @property
    def score(self) -> int:
        names = {"same_name", "similar_name"} & self.reasons
        best_name = max((WEIGHTS[n] for n in names), default=0)
        return best_name + sum(WEIGHTS[r] for r in self.reasons - names)


def _groups(
    pairs: dict[tuple[int, int], Pair],
    kind: str,
    buckets: Iterable[Sequence[int]],
    reason: str,
    check: dict[int, str] | None = None,
    names: dict[int, str] | None = None,
) -> None:
    """Pairs from groups of records sharing a key; `check`: their name keys must be alike
    (and with `names`, the company names, as `matching.similar_names` says)."""
    for ids in buckets:
        if len(ids) < 2 or len(ids) > CROWD:
            continue
        for a, b in combinations(sorted(set(ids)), 2):
            if check is not None and not matching.similar(check[a], check[b]):
                continue
            if names is not None and check is not None and check[a] != check[b]:
                if not matching.similar_names(names[a], names[b]):
                    continue
            why = reason
            if check is not None:
                why = "same_name" if check[a] == check[b] else "similar_name"
            pairs.setdefault((a, b), Pair(kind, a, b)).reasons.add(why)


def _by(items: Iterable[tuple[Any, int]]) -> list[list[int]]:
    found: defaultdict[object, list[int]] = defaultdict(list)
    for key, record_id in items:
        if key:
            found[key].append(record_id)
    return list(found.values())


def _domain(dialect: str) -> ColumnElement[str]:
    """A contact's email domain in SQL, as `matching.email_domain` reads it."""
    if dialect == "postgresql":
        return func.lower(func.substring(Contact.email, "@([^@]*)$"))
    return func.lower(func.substr(Contact.email, func.instr(Contact.email, "@") + 1))


async def _shared(
    uow: UnitOfWork,
    key: SQLColumnExpression[Any],
    owner: SQLColumnExpression[int | None],
    *where: SQLColumnExpression[bool],
    by_company: bool = False,
) -> list[list[int]]:
    """Groups of `owner` ids sharing a value of `key`: at least two owners, at most CROWD
    rows, grouped by the database (`by_company`: contacts joined to their company)."""

    def rows(*columns: SQLColumnExpression[Any]) -> Select[Any]:
        stmt = select(*columns)
        if by_company:
            stmt = stmt.select_from(Contact).join(Company, Company.id == Contact.company_id)
        return stmt.where(*where, key.is_not(None), key != "")

    shared = rows(key).group_by(key).having(func.count() <= CROWD, func.count(distinct(owner)) >= 2)
    return _by(await uow.session.execute(rows(key, owner).where(key.in_(shared))))


async def company_pairs(uow: UnitOfWork, actor: Actor) -> list[Pair]:
    """Candidate pairs among companies in reach: INN, name, and their contacts' phones and
    email domains."""
    scope = visible_owner(actor, Company.curator_id)
    pairs: dict[tuple[int, int], Pair] = {}
    _groups(pairs, COMPANIES, await _shared(uow, Company.inn, Company.id, scope), "inn")
    rows = (
        await uow.session.execute(select(Company.id, Company.name, Company.match_key).where(scope))
    ).all()
    keys = {rid: key for rid, _name, key in rows}
    named = {rid: name for rid, name, _key in rows}
    del rows
    buckets = blocks.name_groups(keys, CROWD)
    _groups(pairs, COMPANIES, buckets, "", check=keys, names=named)
    phones = await _shared(uow, Contact.phone, Contact.company_id, scope, by_company=True)
    _groups(pairs, COMPANIES, phones, "phone")
    domain = _domain(uow.session.get_bind().dialect.name)
    free = domain.not_in(sorted(matching.FREE_MAIL))
    mail = Contact.email.contains("@")
    domains = await _shared(uow, domain, Contact.company_id, scope, free, mail, by_company=True)
    _groups(pairs, COMPANIES, domains, "domain")
    return [p for p in pairs.values() if p.first_id != p.second_id]


async def contact_pairs(uow: UnitOfWork, actor: Actor) -> list[Pair]:
    """Candidate pairs among contacts in reach: phone, email, and the name at the same
    company (the people of companies with two or more only are read)."""
    scope = visible_owner(actor, Contact.curator_id)
    pairs: dict[tuple[int, int], Pair] = {}
    _groups(pairs, CONTACTS, await _shared(uow, Contact.phone, Contact.id, scope), "phone")
    email = func.lower(Contact.email)
    _groups(pairs, CONTACTS, await _shared(uow, email, Contact.id, scope), "email")
    several = (
        select(Contact.company_id)
        .where(scope, Contact.company_id.is_not(None))
        .group_by(Contact.company_id)
        .having(func.count() >= 2)
    )
    rows = await uow.session.execute(
        select(Contact.id, Contact.name, Contact.company_id).where(
            scope, Contact.company_id.in_(several)
        )
    )
    by_company: defaultdict[int, dict[int, str]] = defaultdict(dict)
    for rid, name, company_id in rows:
        if company_id is not None:
            by_company[company_id][rid] = matching.person_key(name)
    for members in by_company.values():
        if len(members) <= CROWD:  # a company's few people: compare them all
            _groups(pairs, CONTACTS, [list(members)], "", check=members)
        else:
            _groups(pairs, CONTACTS, blocks.name_groups(members, CROWD), "", check=members)
    return list(pairs.values())


def ranked(pairs: Iterable[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda p: (-p.score, p.first_id, p.second_id))


async def _marked(uow: UnitOfWork, kind: str) -> set[tuple[int, int]]:
    rows = await uow.session.execute(
        select(NotDuplicate.first_id, NotDuplicate.second_id).where(NotDuplicate.kind == kind)
    )
    return {(a, b) for a, b in rows}


async def scan(uow: UnitOfWork, actor: Actor, kind: str) -> list[Pair]:
    """The candidate pairs of one kind in the actor's reach (a head: their department's;
    a director: everyone's), best evidence first, without those marked not duplicates."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="duplicates")
    async with uow.read_only():
        if kind == COMPANIES:
            found = await company_pairs(uow, actor)
        else:
            found = await contact_pairs(uow, actor)
        marked = await _marked(uow, kind)
    return ranked(p for p in found if (p.first_id, p.second_id) not in marked)


async def titles(uow: UnitOfWork, actor: Actor, kind: str, ids: Iterable[int]) -> dict[int, str]:
    """The names of some records in the actor's reach (for showing pairs)."""
    model = Company if kind == COMPANIES else Contact
    wanted = sorted(set(ids))
    found: dict[int, str] = {}
    async with uow.read_only():
        for start in range(0, len(wanted), 500):
            rows = await uow.session.execute(
                select(model.id, model.name).where(
                    model.id.in_(wanted[start : start + 500]),
                    visible_owner(actor, model.curator_id),
                )
            )
            found.update({rid: name for rid, name in rows})
    return found
