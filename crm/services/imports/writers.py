"""Writing the checked rows of an import, batch after batch, in the one transaction of the file.

Records already present are not created again: a company of the same name among those
the importer sees or with the same INN, a contact with the same phone, email or name at
the same company, a sale with the same document number. Sales without a number get one
made of their content, so importing the same file twice never doubles the revenue.
What a batch looks up (companies by name or INN, products, existing contacts and
document numbers) is asked in chunks of CHUNK values and remembered for the next
batches; rows of the file itself are duplicates of each other by the same keys.

Every company and contact created is audited and made searchable (the search vocabulary
is written once, at the end); the sales of a file are audited as one "import" entry
(the file, the number of sales and the range of their ids) rather than a copy of every
sale, and
counted in the monthly rollups in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from crm import search
from crm.access import Actor, visible_owner
from crm.analytics.rollups import Deltas
from crm.errors import Conflict
from crm.models import (
    AuditEntry,
    Company,
    Contact,
    Department,
    Manager,
    Product,
    Sale,
    SearchEntry,
    utcnow,
)
from crm.models.enums import SearchKind
from crm.services import companies, contacts
from crm.services.companies import CompanyInput
from crm.services.imports.cells import Rejected
from crm.uow import UnitOfWork, jsonable

CHUNK = 500
Rows = list[tuple[int, dict[str, Any]]]
Found = dict[str, tuple[int, int, str]]  # key -> (id, curator_id, name)


def _audit_rows(
    actor_id: int, entity: str, records: Iterable[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "at": now,
            "actor_id": actor_id,
            "entity": entity,
            "entity_id": entity_id,
            "action": "create",
            "changes": {
                k: [None, jsonable(v)]
                for k, v in values.items()
                if v is not None and k not in ("id", "created_at", "updated_at")
            },
        }
        for entity_id, values in records
    ]


async def _insert(uow: UnitOfWork, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows; their ids in the order of the rows.

    PostgreSQL: one INSERT … RETURNING per batch of rows. SQLite: SQLAlchemy would send
    such an INSERT one row at a time to keep the order, so the rows go in one executemany
    and their ids are counted on from the highest id before: the transaction holds
    SQLite's write lock (BEGIN IMMEDIATE), so nobody else takes ids meanwhile, and the
    count is checked against the highest id after.
    """
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    session = uow.session
    if session.get_bind().dialect.name != "sqlite":
        result = await session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return [r[0] for r in result]
    before = int(await session.scalar(select(func.max(table.c.id))) or 0)
    await _write_plain(uow, model, rows)
    after = int(await session.scalar(select(func.max(table.c.id))) or 0)
    if after - before != len(rows):
        raise RuntimeError(f"{table.name}: {len(rows)} rows took ids {before + 1}..{after}")
    return list(range(before + 1, after + 1))


async def _write_plain(uow: UnitOfWork, model: type, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    session = uow.session
    if session.get_bind().dialect.name == "sqlite" and await _executemany_sqlite(uow, table, rows):
        return
    await session.execute(insert(table), rows)


_CACHED_TYPES = (date, datetime)  # few distinct values per file: converted once each


async def _executemany_sqlite(uow: UnitOfWork, table: Any, rows: list[dict[str, Any]]) -> bool:
    """The rows in one executemany of the INSERT SQLAlchemy compiles for them, with the same
    bind conversions, but done here per column instead of through SQLAlchemy's per-row
    parameter machinery (which cost a third of a sales import). False, and nothing done,
    when the statement needs more than the rows' own values (a column default)."""
    keys = list(rows[0])
    dialect = uow.session.get_bind().dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    if compiled.positiontup is None or list(compiled.positiontup) != keys:
        return False
    processors = compiled._bind_processors
    if any(len(row) != len(keys) for row in rows):
        return False
    columns: list[list[Any]] = []
    for key in keys:
        try:
            values = [row[key] for row in rows]
        except KeyError:
            return False
        found = processors.get(key)
        if found is not None and not callable(found):  # an expanding parameter: not ours
            return False
        process = cast(Callable[[Any], Any] | None, found)
        if process is not None:
            cache: dict[Any, Any] = {}
            converted = []
            for value in values:
                if value is None:
                    converted.append(process(value))
                elif isinstance(value, _CACHED_TYPES):
                    if value not in cache:
                        cache[value] = process(value)
                    converted.append(cache[value])
                else:
                    converted.append(process(value))
            values = converted
        columns.append(values)
    connection = await uow.session.connection()
    await connection.exec_driver_sql(compiled.string, list(zip(*columns, strict=True)))
    return True


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _search_row(
    kind: SearchKind,
    entity_id: int,
    owner_id: int,
    title: str,
    parts: list[Any],
    phones: Sequence[str | None] = (),
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "entity_id": entity_id,
        "owner_id": owner_id,
        "title": title[: contacts.TITLE_MAX],
        "text": search.document(parts, phones),
    }


def _company_search_row(company_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return _search_row(
        SearchKind.COMPANY,
        company_id,
        values["curator_id"],
        values["name"],
        [values["name"], values["inn"], values["industry"], values["territory"], *values["tags"]],
    )


async def _companies_by(uow: UnitOfWork, column: Any, keys: Iterable[str]) -> Found:
    """key (match_key or INN) -> the oldest company with it, whoever serves it."""
    found: Found = {}
    for chunk in _chunks(sorted(set(keys))):
        rows = await uow.session.execute(
            select(column, Company.id, Company.curator_id, Company.name)
            .where(column.in_(chunk))
            .order_by(Company.id.desc())
        )
        for key, cid, curator, name in rows:
            found[str(key)] = (cid, curator, name)
    return found


async def _visible_companies_by_key(uow: UnitOfWork, actor: Actor, keys: Iterable[str]) -> Found:
    """name_key -> the oldest visible company of that name (the buyer of a sale)."""
    found: Found = {}
    for chunk in _chunks(sorted(set(keys))):
        rows = await uow.session.execute(
            select(Company.name_key, Company.id, Company.curator_id, Company.name)
            .where(Company.name_key.in_(chunk), visible_owner(actor, Company.curator_id))
            .order_by(Company.id.desc())
        )
        for key, cid, curator, name in rows:
            found[key] = (cid, curator, name)
    return found


async def _companies_by_inn(uow: UnitOfWork, actor: Actor, inns: Iterable[str]) -> Found:
    """INN -> the oldest visible company with it."""
    found: Found = {}
    for chunk in _chunks(sorted(set(inns))):
        stmt = select(Company.inn, Company.id, Company.curator_id, Company.name).where(
            Company.inn.in_(chunk), visible_owner(actor, Company.curator_id)
        )
        for inn, cid, curator, name in await uow.session.execute(stmt.order_by(Company.id.desc())):
            found[str(inn)] = (cid, curator, name)
    return found


class Reach:
    """Whose clients the importer sees, and who serves the others (for the refusal)."""

    def __init__(self, uow: UnitOfWork, actor: Actor) -> None:
        self.uow, self.actor = uow, actor
        self.people: dict[int, tuple[str, str | None, bool]] | None = None

    async def _load(self) -> dict[int, tuple[str, str | None, bool]]:
        if self.people is None:
            visible = set(
                await self.uow.session.scalars(
                    select(Manager.id).where(visible_owner(self.actor, Manager.id))
                )
            )
            rows = await self.uow.session.execute(
                select(Manager.id, Manager.name, Department.name).outerjoin(
                    Department, Department.id == Manager.department_id
                )
            )
            self.people = {mid: (name, dept, mid in visible) for mid, name, dept in rows}
        return self.people

    async def sees(self, curator_id: int) -> bool:
        return (await self._load()).get(curator_id, ("", None, False))[2]

    async def refusal(self, number: int, field: str, curator_id: int) -> Rejected:
        name, department, _ = (await self._load()).get(curator_id, ("?", None, False))
        return Rejected(
            number, field, "already_served", {"curator": name, "department": department or "—"}
        )


class Writer:
    """One file's rows into one open unit of work; `created` and `skipped` count them."""

    def __init__(self, uow: UnitOfWork, actor: Actor, filename: str) -> None:
        self.uow, self.actor, self.filename = uow, actor, filename
        self.created = 0
        self.skipped = 0
        self.companies_created = 0
        self.rejected: list[Rejected] = []
        self.words: set[str] = set()

    async def write(self, rows: Rows) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        """Teach the search the words of everything created."""
        await search.add_terms(self.uow.session, [" ".join(sorted(self.words))])

    async def _index(self, rows: list[dict[str, Any]]) -> None:
        await _write_plain(self.uow, SearchEntry, rows)
        for row in rows:
            self.words |= search.vocabulary(row["text"])

    async def _create_companies(self, rows: list[dict[str, Any]]) -> list[int]:
        for row in rows:
            row.setdefault("last_interaction_at", None)
        ids = await _insert(self.uow, Company, rows)
        await _write_plain(
            self.uow,
            AuditEntry,
            _audit_rows(self.actor.id, "companies", zip(ids, rows, strict=True)),
        )
        await self._index(
            [_company_search_row(cid, row) for cid, row in zip(ids, rows, strict=True)]
        )
        return ids


class CompaniesWriter(Writer):
    """A company already stored (same INN, or the same name as the duplicate check spells
    it) is skipped when the importer sees it and refused, naming its curator, otherwise.

    A company gets its parent when the file names one (by name or INN): a company the
    importer sees, or one of the same file. A row whose parent is not created yet waits
    (rows of a later batch may create it); what still waits at the end is rejected."""

    def __init__(self, uow: UnitOfWork, actor: Actor, filename: str) -> None:
        super().__init__(uow, actor, filename)
        self.reach = Reach(uow, actor)
        self.by_key: Found = {}
        self.by_inn: Found = {}
        self.parents: dict[tuple[str, str], int] = {}  # ("name"|"inn", value) -> visible id
        self.asked: set[tuple[str, str]] = set()
        self.waiting: Rows = []

    async def _look_up_parents(self, values: list[dict[str, Any]]) -> None:
        refs = {v["parent_ref"] for v in values if v["parent_ref"]} - self.asked
        self.asked |= refs
        keys = [value for kind, value in refs if kind == "name"]
        inns = [value for kind, value in refs if kind == "inn"]
        for key, (cid, _curator, _name) in (
            await _visible_companies_by_key(self.uow, self.actor, keys)
        ).items():
            self.parents.setdefault(("name", key), cid)
        for inn, (cid, _curator, _name) in (
            await _companies_by_inn(self.uow, self.actor, inns)
        ).items():
            self.parents.setdefault(("inn", inn), cid)

    async def write(self, rows: Rows) -> None:
        values = [v for _, v in rows]
        keys = {str(v["match_key"]) for v in values} - set(self.by_key)
        inns = {str(v["inn"]) for v in values if v["inn"]} - set(self.by_inn)
        self.by_key.update(await _companies_by(self.uow, Company.match_key, keys))
        self.by_inn.update(await _companies_by(self.uow, Company.inn, inns))
        await self._look_up_parents(values)
        for number, v in rows:
            found = (self.by_inn.get(str(v["inn"])) if v["inn"] else None) or self.by_key.get(
                str(v["match_key"])
            )
            if found is not None:
                if await self.reach.sees(found[1]):
                    self.skipped += 1
                else:
                    self.rejected.append(await self.reach.refusal(number, "name", found[1]))
                continue
            mine = (0, self.actor.id, str(v["name"]))
            self.by_key[str(v["match_key"])] = mine
            if v["inn"]:
                self.by_inn[str(v["inn"])] = mine
            self.waiting.append((number, v))
        await self._create_ready()

    async def _create_ready(self) -> None:
        """Create the waiting rows whose parent exists, round after round (a parent of the
        same batch is created in the round before its subsidiaries)."""
        now = utcnow()
        while self.waiting:
            ready: Rows = []
            still: Rows = []
            for number, v in self.waiting:
                ref = v["parent_ref"]
                (ready if ref is None or ref in self.parents else still).append((number, v))
            if not ready:
                return
            self.waiting = still
            new = [
                {
                    **{k: x for k, x in v.items() if k != "parent_ref"},
                    "parent_id": self.parents[v["parent_ref"]] if v["parent_ref"] else None,
                    "curator_id": self.actor.id,
                    "created_at": now,
                    "updated_at": now,
                }
                for _, v in ready
            ]
            ids = await self._create_companies(new)
            for cid, row in zip(ids, new, strict=True):
                self.parents.setdefault(("name", row["name_key"]), cid)
                if row["inn"]:
                    self.parents.setdefault(("inn", row["inn"]), cid)
            self.created += len(new)

    async def finish(self) -> None:
        self.rejected += [Rejected(number, "parent", "not_found") for number, _ in self.waiting]
        self.waiting = []
        await super().finish()


def _contact_keys(values: dict[str, Any], company_id: int | None) -> set[tuple[Any, ...]]:
    keys: set[tuple[Any, ...]] = {("name", search.normalise(values["name"]), company_id)}
    if values.get("phone"):
        keys.add(("phone", values["phone"]))
    if values.get("email"):
        keys.add(("email", str(values["email"]).lower()))
    return keys


class ContactsWriter(Writer):
    """A contact already stored (same phone, email, or name at the same company) is skipped
    when the importer sees it and refused, naming its curator, otherwise; so is a row whose
    company is a client the importer does not see."""

    def __init__(self, uow: UnitOfWork, actor: Actor, filename: str) -> None:
        super().__init__(uow, actor, filename)
        self.reach = Reach(uow, actor)
        self.companies: Found = {}
        self.existing: set[tuple[Any, ...]] = set()
        self.foreign: dict[tuple[Any, ...], int] = {}  # key -> the curator out of reach
        self.asked: dict[str, set[Any]] = {"phone": set(), "email": set(), "name": set()}

    async def _existing(self, values: list[dict[str, Any]]) -> None:
        """Duplicate keys of the contacts sharing a phone, email or name with a batch."""
        wanted = {
            "phone": {v["phone"] for v in values if v.get("phone")},
            "email": {str(v["email"]).lower() for v in values if v.get("email")},
            "name": {v["name"] for v in values},
        }
        columns = {"phone": Contact.phone, "email": func.lower(Contact.email), "name": Contact.name}
        for what, column in columns.items():
            new = sorted(wanted[what] - self.asked[what])
            self.asked[what] |= set(new)
            for chunk in _chunks(new):
                rows = await self.uow.session.execute(
                    select(
                        Contact.name,
                        Contact.phone,
                        Contact.email,
                        Contact.company_id,
                        Contact.curator_id,
                    ).where(column.in_(chunk))
                )
                for name, phone, email, company_id, curator_id in rows:
                    keys = _contact_keys({"name": name, "phone": phone, "email": email}, company_id)
                    if await self.reach.sees(curator_id):
                        self.existing |= keys
                    else:
                        self.foreign.update(dict.fromkeys(keys, curator_id))

    async def write(self, rows: Rows) -> None:
        values = [v for _, v in rows]
        keys = {str(v["company_key"]) for v in values if v["company_key"]} - set(self.companies)
        self.companies.update(await _companies_by(self.uow, Company.match_key, keys))
        now = utcnow()
        fresh: dict[str, dict[str, Any]] = {}
        for v in values:
            key = v["company_key"]
            if key and key not in self.companies and key not in fresh:
                fresh[key] = {
                    **companies.clean(CompanyInput(name=str(v["company_name"]))),
                    "curator_id": self.actor.id,
                    "created_at": now,
                    "updated_at": now,
                }
        made = await self._create_companies(list(fresh.values()))
        for key, cid in zip(fresh, made, strict=True):
            self.companies[key] = (cid, self.actor.id, fresh[key]["name"])
        self.companies_created += len(made)

        await self._existing(values)
        contact_rows: list[dict[str, Any]] = []
        company_names: list[str | None] = []
        for number, v in rows:
            company = self.companies.get(v["company_key"]) if v["company_key"] else None
            if company is not None and not await self.reach.sees(company[1]):
                self.rejected.append(await self.reach.refusal(number, "company", company[1]))
                continue
            keys_of = _contact_keys(v, company[0] if company else None)
            if keys_of & self.existing:
                self.skipped += 1
                continue
            served = [self.foreign[k] for k in keys_of if k in self.foreign]
            if served:
                self.rejected.append(await self.reach.refusal(number, "contact", served[0]))
                continue
            self.existing |= keys_of
            row = {k: x for k, x in v.items() if k not in ("company_name", "company_key")}
            row.update(
                company_id=company[0] if company else None,
                curator_id=company[1] if company else self.actor.id,
                created_at=now,
                updated_at=now,
            )
            contact_rows.append(row)
            company_names.append(company[2] if company else None)
        ids = await _insert(self.uow, Contact, contact_rows)
        await _write_plain(
            self.uow,
            AuditEntry,
            _audit_rows(self.actor.id, "contacts", zip(ids, contact_rows, strict=True)),
        )
        await self._index(
            [
                _search_row(
                    SearchKind.CONTACT,
                    cid,
                    row["curator_id"],
                    f"{row['name']}, {cname}" if cname else row["name"],
                    [row["name"], row["position"], row["email"], row["tg_username"], cname],
                    [row["phone"]],
                )
                for cid, row, cname in zip(ids, contact_rows, company_names, strict=True)
            ]
        )
        self.created += len(contact_rows)


def _content_ref(company_id: int, values: dict[str, Any], occurrences: dict[str, int]) -> str:
    """A document number for a row without one: the same row of the same file, the same number."""
    content = "|".join(
        str(v)
        for v in (
            company_id,
            values["sold_on"].isoformat(),
            values["amount"],
            values["quantity"],
            values["cost"],
            (values["product"] or "").lower(),
        )
    )
    occurrences[content] = occurrences.get(content, 0) + 1
    digest = hashlib.sha256(f"{content}|{occurrences[content]}".encode()).hexdigest()
    return f"import:{digest[:40]}"


class SalesWriter(Writer):
    def __init__(self, uow: UnitOfWork, actor: Actor, filename: str) -> None:
        super().__init__(uow, actor, filename)
        self.by_key: Found = {}
        self.by_inn: Found = {}
        self.asked_keys: set[str] = set()
        self.asked_inns: set[str] = set()
        self.products: dict[str, int | None] = {}
        self.taken: set[str] = set()
        self.occurrences: dict[str, int] = {}
        self.deltas = Deltas()
        self.first_id: int | None = None
        self.last_id: int | None = None
        self.paid = 0  # sales imported before, marked paid by this file

    async def _lookups(self, values: list[dict[str, Any]]) -> None:
        keys = {v["key"] for v in values if v["key"]} - self.asked_keys
        inns = {v["inn"] for v in values if v["inn"]} - self.asked_inns
        self.asked_keys |= keys
        self.asked_inns |= inns
        self.by_key.update(await _visible_companies_by_key(self.uow, self.actor, keys))
        self.by_inn.update(await _companies_by_inn(self.uow, self.actor, inns))
        names = sorted(
            {str(v["product"]).lower() for v in values if v["product"]} - set(self.products)
        )
        self.products.update(dict.fromkeys(names))
        for chunk in _chunks(names):
            rows = await self.uow.session.execute(
                select(func.lower(Product.name), Product.id).where(
                    func.lower(Product.name).in_(chunk)
                )
            )
            self.products.update({n: pid for n, pid in rows})

    async def write(self, rows: Rows) -> None:
        await self._lookups([v for _, v in rows])
        accepted: list[dict[str, Any]] = []
        for number, v in rows:
            company = (self.by_inn.get(v["inn"]) if v["inn"] else None) or (
                self.by_key.get(v["key"]) if v["key"] else None
            )
            if company is None:
                self.rejected.append(Rejected(number, "company", "not_found"))
                continue
            product_id = self.products.get(str(v["product"]).lower()) if v["product"] else None
            ref = v["external_ref"] or _content_ref(company[0], v, self.occurrences)
            accepted.append(
                {
                    "company_id": company[0],
                    "deal_id": None,
                    "product_id": product_id,
                    "manager_id": company[1],
                    "sold_on": v["sold_on"],
                    "quantity": v["quantity"],
                    "amount": v["amount"],
                    "cost": v["cost"],
                    "source": "import",
                    "external_ref": ref,
                    "paid_on": v.get("paid_on"),
                }
            )
        refs = sorted({row["external_ref"] for row in accepted} - self.taken)
        for chunk in _chunks(refs):
            self.taken |= set(
                await self.uow.session.scalars(
                    select(Sale.external_ref).where(Sale.external_ref.in_(chunk))
                )
            )
        new: list[dict[str, Any]] = []
        seen: set[str] = set()
        now = utcnow()
        paid_later: dict[str, tuple[int, date]] = {}
        for row in accepted:
            ref = row["external_ref"]
            if ref in self.taken or ref in seen:
                self.skipped += 1
                if row["paid_on"] is not None:  # a sale imported before, paid since
                    paid_later[ref] = (row["company_id"], row["paid_on"])
                continue
            seen.add(ref)
            row["created_at"] = now
            new.append(row)
            self.deltas.add(
                row["company_id"], row["manager_id"], row["sold_on"], row["amount"], row["cost"]
            )
        self.taken |= seen
        await self._mark_paid(paid_later)
        if not new:
            return
        session = self.uow.session
        if self.first_id is None:
            self.first_id = int(await session.scalar(select(func.max(Sale.id))) or 0) + 1
        try:
            await _write_plain(self.uow, Sale, new)
        except IntegrityError as exc:  # another import of the same documents at the same time
            raise Conflict("duplicate") from exc
        self.created += len(new)

    async def _mark_paid(self, paid: dict[str, tuple[int, date]]) -> None:
        """Sales imported (or won) before whose row now has a paid date: marked paid, each
        audited, if still unpaid and of the company the row names."""
        for chunk in _chunks(sorted(paid)):
            rows = await self.uow.session.execute(
                select(Sale.id, Sale.external_ref, Sale.company_id).where(
                    Sale.external_ref.in_(chunk), Sale.paid_on.is_(None)
                )
            )
            for sale_id, ref, company_id in rows.all():
                expected, paid_on = paid[str(ref)]
                if company_id != expected:
                    continue
                await self.uow.session.execute(
                    update(Sale).where(Sale.id == sale_id).values(paid_on=paid_on)
                )
                self.uow.audit(
                    self.actor.id,
                    ("sales", sale_id),
                    "update",
                    {"paid_on": [None, paid_on.isoformat()]},
                )
                self.paid += 1

    async def finish(self) -> None:
        await self.deltas.apply(self.uow.session)
        if self.created:
            self.last_id = await self.uow.session.scalar(select(func.max(Sale.id)))
            self.uow.audit(
                self.actor.id,
                ("sales", self.first_id or 0),
                "import",
                {
                    "file": [None, self.filename],
                    "sales": [None, self.created],
                    "ids": [None, [self.first_id, self.last_id]],
                },
            )


WRITERS: dict[str, type[Writer]] = {
    "companies": CompaniesWriter,
    "contacts": ContactsWriter,
    "sales": SalesWriter,
}
