"""Holdings: which company belongs to which, as `companies.parent_id` records it.

Rules decided here:
- A parent is one the actor may see; a parent that would make a loop (the company
  itself, or a company that already belongs to it, directly or through others) is
  refused (`InvalidInput("parent_id", "cycle")`). Parent changes are serialised (an
  advisory lock on PostgreSQL, SQLite's one writer), so two changes at once cannot
  close a loop between them.
- A related company's name is shown only to those who may see that company: the card
  names a parent the reader sees, and lists the subsidiaries the reader sees.
- In a report grouped by holding, a company counts under its holding: the highest
  company up its chain of parents that the reader sees without passing one they do
  not (a director: the top of the chain). A company without a visible parent is a
  holding of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, ScalarSelect, func, select

from crm.access import Actor, can_see_owner, visible_owner
from crm.errors import AccessDenied, InvalidInput
from crm.models import Company
from crm.uow import UnitOfWork

HOLDINGS_LOCK = 0x484F4C44  # "HOLD": the advisory lock key of parent changes
PREVIEW = 5
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Related:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Family:
    """What a company card shows of the company's holding, within the reader's reach."""

    parent: Related | None  # None also when the reader may not see the parent
    subsidiaries: list[Related]  # the first PREVIEW by name
    subsidiaries_total: int


def makes_loop(parents: Mapping[int, int | None], company_id: int, parent_id: int) -> bool:
    """Whether `company_id` → `parent_id` would close a loop in `parents` (id -> parent id)."""
    seen: set[int] = set()
    cursor: int | None = parent_id
    while cursor is not None and cursor not in seen:
        if cursor == company_id:
            return True
        seen.add(cursor)
        cursor = parents.get(cursor)
    return False


async def lock(uow: UnitOfWork) -> None:
    """Serialise the changes of parents (SQLite: BEGIN IMMEDIATE has done it already)."""
    if uow.session.get_bind().dialect.name == "postgresql":
        await uow.session.execute(select(func.pg_advisory_xact_lock(HOLDINGS_LOCK)))


async def _chain(uow: UnitOfWork, start: int) -> dict[int, int | None]:
    """id -> parent id of `start` and every company above it (a loop already stored stops)."""
    parents: dict[int, int | None] = {}
    cursor: int | None = start
    while cursor is not None and cursor not in parents:
        parent = await uow.session.scalar(select(Company.parent_id).where(Company.id == cursor))
        parents[cursor] = parent
        cursor = parent
    return parents


async def check_parent(uow: UnitOfWork, actor: Actor, company_id: int, parent_id: int) -> None:
    """Inside a write transaction: the parent is visible and makes no loop (else raises)."""
    await lock(uow)
    parent = await uow.session.get(Company, parent_id)  # as companies.get, which imports us
    if parent is None or not can_see_owner(actor, parent.curator):
        raise AccessDenied("company")
    if makes_loop(await _chain(uow, parent_id), company_id, parent_id):
        raise InvalidInput("parent_id", "cycle")


def _children(actor: Actor, company_id: int) -> tuple[ColumnElement[bool], ...]:
    return (Company.parent_id == company_id, visible_owner(actor, Company.curator_id))


def subsidiaries_count(actor: Actor, company_id: int) -> ScalarSelect[int]:
    """How many subsidiaries of the company the actor sees: a column for a query that
    reads several figures at once (the company card's), for `family(..., subsidiaries=)`."""
    return (
        select(func.count()).select_from(Company).where(*_children(actor, company_id))
    ).scalar_subquery()


async def family(
    uow: UnitOfWork, actor: Actor, company: Company, subsidiaries: int | None = None
) -> Family:
    """The visible parent and subsidiaries of a company the actor sees (in an open uow).

    `subsidiaries`: their number if the caller has read it already (`subsidiaries_count`);
    none to list is then no query."""
    parent = None
    if company.parent_id is not None:
        row = (
            await uow.session.execute(
                select(Company.id, Company.name).where(
                    Company.id == company.parent_id, visible_owner(actor, Company.curator_id)
                )
            )
        ).first()
        parent = Related(*row) if row else None
    scope = _children(actor, company.id)
    total = subsidiaries
    if total is None:
        total = await uow.session.scalar(select(func.count()).select_from(Company).where(*scope))
    if not total:
        return Family(parent, [], 0)
    rows = await uow.session.execute(
        select(Company.id, Company.name)
        .where(*scope)
        .order_by(Company.name, Company.id)
        .limit(PREVIEW)
    )
    return Family(parent, [Related(*r) for r in rows], int(total))


async def holding_ids(uow: UnitOfWork, actor: Actor, company_ids: Iterable[int]) -> dict[int, int]:
    """company id -> the id of its holding (see the module's rules), for the companies asked,
    which the actor sees. Reads the links of the companies that have a parent, and which of
    their parents the actor sees."""
    wanted = set(company_ids)
    parents: dict[int, int] = {
        cid: pid
        for cid, pid in await uow.session.execute(
            select(Company.id, Company.parent_id).where(Company.parent_id.is_not(None))
        )
        if pid is not None  # always, by the WHERE clause: the check narrows the type
    }
    visible = set(wanted)
    candidates = set(parents.values()) - visible
    if candidates and actor.is_director:
        visible |= candidates
    elif candidates:
        ordered = sorted(candidates)
        for start in range(0, len(ordered), CHUNK):
            visible |= set(
                await uow.session.scalars(
                    select(Company.id).where(
                        Company.id.in_(ordered[start : start + CHUNK]),
                        visible_owner(actor, Company.curator_id),
                    )
                )
            )
    tops: dict[int, int] = {}
    for cid in wanted:
        top, seen = cid, {cid}
        while parents.get(top) in visible and parents[top] not in seen:
            top = parents[top]
            seen.add(top)
        tops[cid] = top
    return tops


async def holdings_of(
    uow: UnitOfWork, actor: Actor, company_ids: Iterable[int]
) -> dict[int, Related]:
    """`holding_ids` with the holdings' names."""
    tops = await holding_ids(uow, actor, company_ids)
    known = await names(uow, set(tops.values()))
    return {cid: Related(top, known[top]) for cid, top in tops.items()}


async def names(uow: UnitOfWork, ids: Iterable[int]) -> dict[int, str]:
    """id -> name of the companies asked (whose visibility the caller has settled)."""
    found: dict[int, str] = {}
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        rows = await uow.session.execute(
            select(Company.id, Company.name).where(Company.id.in_(chunk))
        )
        found.update(dict(rows.all()))
    return found
