"""Merge two records of one client, and undo a merge within UNDO_DAYS.

Every row of every table that references the merged-away record (the loser) moves to the
survivor in one transaction: the tables are found from the schema's foreign keys, so a
new table that links to companies or contacts moves too. A row that cannot move because
the survivor already has its twin (a unique constraint: the same event invitation) is
deleted instead. The merge log keeps the loser's row, the survivor's fields before the
merge, each moved row's (table, id, column, old value) and each deleted row, so undo
restores the loser and moves back exactly what moved. Tables without an id column are
the sales rollups: they are recomputed for both companies (crm/analytics/rollups.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Numeric,
    Table,
    delete,
    insert,
    select,
    update,
)

from crm import search
from crm.access import Actor, can_see_owner, require_role
from crm.analytics.rollups import recompute_companies
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import Base, ClientRequest, Company, Contact, Manager, MergeLog, utcnow
from crm.models.enums import Role, SearchKind
from crm.services.duplicates import door, reindex, requests
from crm.services.duplicates.door import COMPANIES, CONTACTS
from crm.uow import UnitOfWork, jsonable

UNDO_DAYS = 30
MODELS: dict[str, type[Company] | type[Contact]] = {COMPANIES: Company, CONTACTS: Contact}
# the fields a merger chooses between when both records have a value and they differ
FIELDS: dict[str, tuple[str, ...]] = {
    COMPANIES: (
        "name",
        "inn",
        "industry",
        "territory",
        "stage",
        "credit_limit",
        "payment_deferral_days",
        "notes",
    ),
    CONTACTS: (
        "name",
        "phone",
        "email",
        "position",
        "tg_username",
        "tg_user_id",
        "decision_role",
        "notes",
        "birthday",
    ),
}
SEARCH_KINDS = {COMPANIES: SearchKind.COMPANY, CONTACTS: SearchKind.CONTACT}


@dataclass(frozen=True, slots=True)
class Merged:
    log_id: int
    survivor_id: int
    moved: int  # rows relinked
    dropped: int  # rows deleted as twins of the survivor's


def conflicts(kind: str, survivor: Company | Contact, loser: Company | Contact) -> list[str]:
    """The fields where both records hold a value and the values differ."""
    return [
        f
        for f in FIELDS[kind]
        if getattr(survivor, f) not in (None, "")
        and getattr(loser, f) not in (None, "")
        and getattr(survivor, f) != getattr(loser, f)
    ]


def _references(kind: str) -> list[tuple[Table, str]]:
    """(table, column) of every foreign key to the kind's table, tables with an `id` only."""
    found = []
    for table in Base.metadata.sorted_tables:
        if "id" not in table.c:
            continue  # the rollups: recomputed instead
        for fk in table.foreign_keys:
            if fk.column.table.name == kind:
                found.append((table, fk.parent.name))
    return found


def _uniques(table: Table, column: str) -> list[list[str]]:
    """The other columns of each unique constraint holding `column`."""
    sets = [
        [c.name for c in cons.columns]  # type: ignore[attr-defined]
        for cons in table.constraints
        if type(cons).__name__ == "UniqueConstraint"
    ] + [[c.name for c in index.columns] for index in table.indexes if index.unique]
    return [[c for c in cols if c != column] for cols in sets if column in cols]


def _row(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in values.items() if k in table.c}


def _typed(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """A logged row back in its columns' Python types."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        column_type = table.c[key].type
        if value is not None and not isinstance(column_type, JSON):
            column_type = getattr(column_type, "impl", column_type)  # UTCDateTime
            if isinstance(column_type, DateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(column_type, Date):
                value = date.fromisoformat(value)
            elif isinstance(column_type, Numeric):
                value = Decimal(value)
        out[key] = value
    return out


async def visible(uow: UnitOfWork, actor: Actor, kind: str, record_id: int) -> Company | Contact:
    record = await door.load(uow.session, kind, record_id)
    curator = await uow.session.get(Manager, record.curator_id) if record is not None else None
    if record is None or curator is None or not can_see_owner(actor, curator):
        raise AccessDenied(kind[:-1])
    return record


async def merge(
    uow: UnitOfWork,
    actor: Actor,
    kind: str,
    survivor_id: int,
    loser_id: int,
    take: set[str] | frozenset[str] = frozenset(),
) -> Merged:
    """Merge `loser_id` into `survivor_id`; `take`: the conflicting fields whose value is
    the loser's. Empty fields of the survivor take the loser's value anyway."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity=kind[:-1])
    if kind not in MODELS:
        raise InvalidInput("kind", "unknown_value", allowed=list(MODELS))
    if survivor_id == loser_id:
        raise InvalidInput(kind[:-1], "same_record")
    async with uow:
        survivor = await visible(uow, actor, kind, survivor_id)
        loser = await visible(uow, actor, kind, loser_id)
        unknown = set(take) - set(FIELDS[kind])
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "unknown_field")
        session = uow.session
        table = Base.metadata.tables[MODELS[kind].__tablename__]
        log: dict[str, Any] = {
            "loser": _row(table, loser.as_dict()),
            "survivor": _row(table, survivor.as_dict()),
            "moved": [],
            "dropped": [],
        }
        values = {
            f: getattr(loser, f)
            for f in FIELDS[kind]
            if getattr(loser, f) not in (None, "")
            and (f in take or getattr(survivor, f) in (None, ""))
        }
        if isinstance(survivor, Company) and isinstance(loser, Company):
            values["tags"] = list(dict.fromkeys([*survivor.tags, *loser.tags]))
        for ref_table, column in _references(kind):
            await _relink(session, ref_table, column, survivor, loser, log)
        await _relink_requests(session, kind, survivor, loser, log)
        await session.execute(delete(table).where(table.c.id == loser.id))
        session.expunge(loser)
        uow.apply(actor.id, survivor, **values)
        if isinstance(survivor, Contact) and survivor.company_id is not None:
            company = await session.get(Company, survivor.company_id)
            if company is not None:
                survivor.curator_id = company.curator_id
        await search.unindex(session, SEARCH_KINDS[kind], loser.id)
        await session.flush()
        moved_contacts = [m[1] for m in log["moved"] if m[0] == CONTACTS and m[2] == "company_id"]
        await reindex.record(uow, survivor, moved_contacts)
        if kind == COMPANIES:
            await recompute_companies(session, [survivor.id, loser.id])
        entry = MergeLog(
            kind=kind, survivor_id=survivor.id, loser_id=loser.id, actor_id=actor.id, log=log
        )
        session.add(entry)
        await session.flush()
        uow.audit(
            actor.id,
            (kind, survivor.id),
            "merge",
            {"merged": [loser.id, None], "moved": [0, len(log["moved"])]},
        )
        uow.audit(actor.id, (kind, loser.id), "merge", {"into": [loser.id, survivor.id]})
        await uow.commit()
    return Merged(entry.id, survivor_id, len(log["moved"]), len(log["dropped"]))


async def _relink_requests(
    session: Any,
    kind: str,
    survivor: Company | Contact,
    loser: Company | Contact,
    log: dict[str, Any],
) -> None:
    """Pending "Ask for this client" requests follow the client to the survivor (they name
    it by kind and id, not by a foreign key) and are addressed to its curator now; decided
    ones keep the record they were about. Logged, so undo moves them back."""
    table: Table = ClientRequest.__table__  # type: ignore[assignment]
    rows = (
        await session.execute(
            select(table.c.id, table.c.curator_id).where(
                table.c.kind == kind,
                table.c.entity_id == loser.id,
                table.c.status == requests.PENDING,
            )
        )
    ).all()
    if not rows:
        return
    ids = [r.id for r in rows]
    log["moved"] += [[table.name, i, "entity_id", loser.id] for i in ids]
    log["moved"] += [
        [table.name, r.id, "curator_id", r.curator_id]
        for r in rows
        if r.curator_id != survivor.curator_id
    ]
    await session.execute(
        update(table)
        .where(table.c.id.in_(ids))
        .values(entity_id=survivor.id, curator_id=survivor.curator_id)
        .execution_options(synchronize_session=False)
    )


async def _relink(
    session: Any,
    table: Table,
    column: str,
    survivor: Company | Contact,
    loser: Company | Contact,
    log: dict[str, Any],
) -> None:
    col = table.c[column]
    where = [col == loser.id]
    if table.name == survivor.__tablename__:
        where.append(table.c.id != survivor.id)  # the survivor's own parent link: below
    rows = (await session.execute(select(table).where(*where))).mappings().all()
    if table.name == survivor.__tablename__ and getattr(survivor, column, None) == loser.id:
        log["moved"].append([table.name, survivor.id, column, loser.id])
        parent = getattr(loser, column)  # its parent becomes the loser's (never itself)
        setattr(survivor, column, None if parent == survivor.id else parent)
    if not rows:
        return
    twins: set[int] = set()
    for others in _uniques(table, column):
        theirs = {
            tuple(r)
            for r in await session.execute(
                select(*(table.c[o] for o in others)).where(col == survivor.id)
            )
        }
        twins |= {r["id"] for r in rows if tuple(r[o] for o in others) in theirs}
    if twins:
        log["dropped"] += [[table.name, _row(table, dict(r))] for r in rows if r["id"] in twins]
        await session.execute(delete(table).where(table.c.id.in_(sorted(twins))))
    ids = [r["id"] for r in rows if r["id"] not in twins]
    log["moved"] += [[table.name, i, column, loser.id] for i in ids]
    for start in range(0, len(ids), 500):
        await session.execute(
            update(table)
            .where(table.c.id.in_(ids[start : start + 500]))
            .values({column: survivor.id})
            .execution_options(synchronize_session=False)
        )
    if table.name == "contacts" and isinstance(survivor, Company):
        # contacts belong to their company's curator
        moved_to = [r["id"] for r in rows if r["curator_id"] != survivor.curator_id]
        log["moved"] += [
            [table.name, r["id"], "curator_id", r["curator_id"]]
            for r in rows
            if r["id"] in set(moved_to)
        ]
        if moved_to:
            await session.execute(
                update(table)
                .where(table.c.id.in_(moved_to))
                .values(curator_id=survivor.curator_id)
                .execution_options(synchronize_session=False)
            )


async def undo(uow: UnitOfWork, actor: Actor, log_id: int) -> MergeLog:
    """Restore the merged-away record and move back exactly what moved."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="merge")
    async with uow:
        session = uow.session
        entry = await session.get(MergeLog, log_id)
        if entry is None:
            raise AccessDenied("merge")
        kind = entry.kind
        survivor = await visible(uow, actor, kind, entry.survivor_id)
        if entry.undone_at is not None:
            raise Conflict("merge_undone")
        if utcnow() - entry.created_at > timedelta(days=UNDO_DAYS):
            raise Conflict("merge_too_old", days=UNDO_DAYS)
        tables = Base.metadata.tables
        table = tables[kind]
        await session.execute(insert(table).values(_typed(table, entry.log["loser"])))
        for name, row in entry.log["dropped"]:
            await session.execute(insert(tables[name]).values(_typed(tables[name], row)))
        back: dict[tuple[str, str, Any], list[int]] = {}
        for name, row_id, column, old in entry.log["moved"]:
            if not (name == kind and row_id == survivor.id):
                back.setdefault((name, column, old), []).append(row_id)
        for (name, column, old), ids in back.items():
            for start in range(0, len(ids), 500):
                await session.execute(
                    update(tables[name])
                    .where(tables[name].c.id.in_(ids[start : start + 500]))
                    .values({column: old})
                    .execution_options(synchronize_session=False)
                )
        before = _typed(table, entry.log["survivor"])
        restore = {k: v for k, v in before.items() if k not in ("id", "created_at", "updated_at")}
        uow.apply(actor.id, survivor, **restore)
        await session.flush()
        loser = await door.load(session, kind, entry.loser_id)
        assert loser is not None
        moved_contacts = [
            m[1] for m in entry.log["moved"] if m[0] == CONTACTS and m[2] == "company_id"
        ]
        await reindex.record(uow, survivor, [] if kind == COMPANIES else None)
        await reindex.record(uow, loser, moved_contacts if kind == COMPANIES else None)
        if kind == COMPANIES:
            await recompute_companies(session, [survivor.id, loser.id])
        uow.apply(actor.id, entry, undone_at=utcnow())
        uow.audit(actor.id, (kind, survivor.id), "unmerge", {"merged": [None, entry.loser_id]})
        await uow.commit()
    return entry


@dataclass(frozen=True, slots=True)
class Preview:
    survivor: Company | Contact
    loser: Company | Contact
    conflicts: list[str]


async def preview(
    uow: UnitOfWork, actor: Actor, kind: str, survivor_id: int, loser_id: int
) -> Preview:
    """The two records of a merge to come and the fields where the merger must choose."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity=kind[:-1])
    if kind not in MODELS:
        raise InvalidInput("kind", "unknown_value", allowed=list(MODELS))
    async with uow.read_only():
        survivor = await visible(uow, actor, kind, survivor_id)
        loser = await visible(uow, actor, kind, loser_id)
        return Preview(survivor, loser, conflicts(kind, survivor, loser))


async def recent(uow: UnitOfWork, actor: Actor, limit: int = 10) -> list[MergeLog]:
    """The merges the actor may still undo, newest first."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="merge")
    since = utcnow() - timedelta(days=UNDO_DAYS)
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(MergeLog)
            .where(MergeLog.undone_at.is_(None), MergeLog.created_at >= since)
            .order_by(MergeLog.id.desc())
            .limit(limit * 5)
        )
        found = []
        for entry in rows:
            record = await door.load(uow.session, entry.kind, entry.survivor_id)
            curator = await uow.session.get(Manager, record.curator_id) if record else None
            if curator is not None and can_see_owner(actor, curator):
                found.append(entry)
        return found[:limit]
