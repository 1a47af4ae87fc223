"""/duplicates: candidate pairs of companies and of contacts, ranked by evidence.

The records in the actor's reach are read once and grouped in memory by each kind of
evidence; only records sharing a group are compared, so the scan grows with the number
of records, not its square. Names are compared by crm/matching.py keys: a key and its
one-letter deletions meet when two names are one typo apart (symmetric deletion).
Groups larger than CROWD (a common phone of a switchboard, a short name) are no
evidence and are skipped. Pairs marked "not a duplicate" are never proposed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from sqlalchemy import select

from crm import matching
from crm.access import Actor, require_role, visible_owner
from crm.models import Company, Contact, NotDuplicate
from crm.models.enums import Role
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


@dataclass(frozen=True, slots=True)
class CompanyRow:
    id: int
    name: str
    inn: str | None
    match_key: str


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: int
    name: str
    phone: str | None
    email: str | None
    company_id: int | None


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


def _by(items: Iterable[tuple[object, int]]) -> list[list[int]]:
    found: defaultdict[object, list[int]] = defaultdict(list)
    for key, record_id in items:
        if key:
            found[key].append(record_id)
    return list(found.values())


def _name_buckets(keys: dict[int, str]) -> list[list[int]]:
    """Records whose keys meet on a key or a one-letter deletion of it (symmetric deletion).

    The first letter is never left out: a name whose first letter differs is another name
    (`matching.similar_names`). Only collisions get a list: most of the million variants
    of 100,000 names meet nobody.
    """
    first: dict[str, int] = {}
    shared: dict[str, list[int]] = {}
    setdefault, fuzzy = first.setdefault, matching.FUZZY_MIN
    for rid, key in keys.items():
        variants = [key]
        if len(key) >= fuzzy:
            variants += [key[:i] + key[i + 1 :] for i in range(1, len(key))]
        for variant in variants:
            other = setdefault(variant, rid)
            if other != rid:
                bucket = shared.get(variant)
                if bucket is None:
                    shared[variant] = [other, rid]
                elif bucket[-1] != rid:
                    bucket.append(rid)
    return list(shared.values())


def company_pairs(rows: Sequence[CompanyRow], people: Sequence[ContactRow] = ()) -> list[Pair]:
    """Candidate pairs among companies: INN, name, and their contacts' phones and domains."""
    pairs: dict[tuple[int, int], Pair] = {}
    _groups(pairs, COMPANIES, _by((r.inn, r.id) for r in rows), "inn")
    keys = {r.id: r.match_key for r in rows}
    named = {r.id: r.name for r in rows}
    _groups(pairs, COMPANIES, _name_buckets(keys), "", check=keys, names=named)
    linked = [p for p in people if p.company_id is not None]
    _groups(pairs, COMPANIES, _by((p.phone, p.company_id) for p in linked), "phone")  # type: ignore[misc]
    domains = ((matching.email_domain(p.email), p.company_id) for p in linked)
    _groups(pairs, COMPANIES, _by(domains), "domain")  # type: ignore[arg-type]
    return [p for p in pairs.values() if p.first_id != p.second_id]


def contact_pairs(rows: Sequence[ContactRow]) -> list[Pair]:
    """Candidate pairs among contacts: phone, email, and the name at the same company."""
    pairs: dict[tuple[int, int], Pair] = {}
    _groups(pairs, CONTACTS, _by((r.phone, r.id) for r in rows), "phone")
    _groups(pairs, CONTACTS, _by(((r.email or "").lower(), r.id) for r in rows), "email")
    keys = {r.id: matching.person_key(r.name) for r in rows}
    by_company: defaultdict[int, dict[int, str]] = defaultdict(dict)
    for r in rows:
        if r.company_id is not None:
            by_company[r.company_id][r.id] = keys[r.id]
    for members in by_company.values():
        if 1 < len(members) <= CROWD:  # a company's few people: compare them all
            _groups(pairs, CONTACTS, [list(members)], "", check=members)
        elif len(members) > CROWD:
            _groups(pairs, CONTACTS, _name_buckets(members), "", check=members)
    return list(pairs.values())


def ranked(pairs: Iterable[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda p: (-p.score, p.first_id, p.second_id))


async def _marked(uow: UnitOfWork, kind: str) -> set[tuple[int, int]]:
    rows = await uow.session.execute(
        select(NotDuplicate.first_id, NotDuplicate.second_id).where(NotDuplicate.kind == kind)
    )
    return {(a, b) for a, b in rows}


async def load_companies(uow: UnitOfWork, actor: Actor) -> tuple[list[Any], list[Any]]:
    """The companies in reach and their contacts, as rows shaped like CompanyRow/ContactRow."""
    scope = visible_owner(actor, Company.curator_id)
    rows = await uow.session.execute(
        select(Company.id, Company.name, Company.inn, Company.match_key).where(scope)
    )
    companies = list(rows)
    people = await uow.session.execute(
        select(Contact.id, Contact.name, Contact.phone, Contact.email, Contact.company_id)
        .join(Company, Company.id == Contact.company_id)
        .where(scope)
    )
    return companies, list(people)


async def load_contacts(uow: UnitOfWork, actor: Actor) -> list[Any]:
    rows = await uow.session.execute(
        select(Contact.id, Contact.name, Contact.phone, Contact.email, Contact.company_id).where(
            visible_owner(actor, Contact.curator_id)
        )
    )
    return list(rows)


async def scan(uow: UnitOfWork, actor: Actor, kind: str) -> list[Pair]:
    """The candidate pairs of one kind in the actor's reach (a head: their department's;
    a director: everyone's), best evidence first, without those marked not duplicates."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="duplicates")
    async with uow.read_only():
        if kind == COMPANIES:
            found = company_pairs(*(await load_companies(uow, actor)))
        else:
            found = contact_pairs(await load_contacts(uow, actor))
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
