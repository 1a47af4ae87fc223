"""Import of companies, contacts or sales from a CSV or XLSX file, with a report of rejected rows.

The file is read and checked before anything is written: its header row names the
columns (Russian or English, any case) and, unless the caller says which, the kind of
data. Every data row is validated as the services validate typed input; a bad row is
reported with its number as the user sees it in the file (the header is row 1) and
the field and reason, and the others are written together in ONE transaction, each
created record audited and made searchable. Records already present are not created
again: a company of the same name among those the importer sees or with the same INN,
a contact with the same phone, email or name at the same company, a sale with the same
document number. Sales without a number get one made of their content, so importing
the same file twice never doubles the revenue.

Anyone imports companies and contacts (and becomes their curator); sales are revenue
facts of the whole company, so only heads and directors import them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from crm import search, validation
from crm.access import Actor, require_role, visible_owner
from crm.analytics import rollups
from crm.errors import Conflict, InvalidInput
from crm.models import AuditEntry, Company, Contact, Product, Sale, SearchEntry, utcnow
from crm.models.enums import Role, SearchKind
from crm.services import companies, contacts
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.uow import UnitOfWork, jsonable

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
KINDS = ("companies", "contacts", "sales")
CSV_EXTENSIONS = (".csv", ".txt")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1251")
CHUNK = 500  # values per IN (...) when looking up what exists

# header aliases per field, compared after `_header()` (lower case, ё→е, no punctuation)
ALIASES: dict[str, tuple[str, ...]] = {
    "company_name": (
        "название", "наименование", "name", "company", "company name", "компания",
        "организация", "контрагент", "клиент", "client", "customer", "покупатель",
        "название компании", "наименование организации", "организация клиент",
    ),
    "person": (
        "имя", "фио", "ф и о", "контакт", "contact", "contact name", "full name", "person",
        "контактное лицо", "сотрудник", "name",
    ),
    "company": (
        "company", "компания", "организация", "контрагент", "клиент", "client", "customer",
        "покупатель", "company name", "название компании",
    ),
    "inn": ("inn", "инн", "tax id", "taxid", "vat"),
    "industry": ("industry", "отрасль", "сфера", "вид деятельности"),
    "territory": ("territory", "территория", "регион", "region", "город", "city"),
    "tags": ("tags", "теги", "метки"),
    "notes": ("notes", "note", "примечание", "примечания", "комментарий", "comment", "заметки"),
    "phone": ("phone", "телефон", "тел", "mobile", "мобильный", "phone number", "номер телефона"),
    "email": ("email", "e mail", "почта", "эл почта", "электронная почта", "mail"),
    "position": ("position", "должность", "job title"),
    "telegram": ("telegram", "телеграм", "telegram username", "tg"),
    "date": ("date", "дата", "дата продажи", "sold on", "sale date", "дата документа"),
    "amount": ("amount", "сумма", "выручка", "revenue", "sum", "total", "итого"),
    "quantity": ("quantity", "количество", "кол во", "qty"),
    "cost": ("cost", "себестоимость"),
    "product": ("product", "товар", "продукт", "номенклатура", "item"),
    "ref": (
        "ref", "номер", "документ", "номер документа", "external ref", "external_ref", "doc",
        "document", "invoice", "накладная", "счет", "reference", "doc no",
    ),
}  # fmt: skip
# the fields each kind reads, in the order a header cell is tried against them
FIELDS: dict[str, tuple[str, ...]] = {
    "companies": ("inn", "industry", "territory", "tags", "notes", "company_name"),
    "contacts": ("phone", "email", "position", "telegram", "notes", "company", "person"),
    "sales": (
        "inn", "date", "amount", "quantity", "cost", "product", "ref", "company_name",
    ),
}  # fmt: skip
NAME_FIELD = {"companies": "company_name", "contacts": "person", "sales": "company_name"}
CONTACT_MARKERS = {"phone", "email", "position", "telegram"}


@dataclass(frozen=True)
class Rejected:
    """A row not imported: its number in the file, the field and the reason (as InvalidInput)."""

    row: int
    field: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    kind: str
    rows: int = 0  # data rows read (empty rows not counted)
    created: int = 0
    skipped_duplicates: int = 0
    companies_created: int = 0  # companies a contacts file named that did not exist yet
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


# --- reading the file -----------------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number in the file, cells)


def _header(value: Any) -> str:
    text = str(value or "").lower().replace("ё", "е").replace("_", " ")
    return " ".join(re.findall(r"\w+", text))


def _blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _collect(lines: Iterable[tuple[int, Sequence[Any]]]) -> Table:
    header: list[str] | None = None
    rows: list[tuple[int, list[Any]]] = []
    for number, cells in lines:
        if _blank(cells):
            continue
        if header is None:
            header = [str(c).strip() if c is not None else "" for c in cells]
            continue
        if len(rows) >= MAX_ROWS:
            raise InvalidInput("file", "too_many_rows", max=MAX_ROWS)
        rows.append((number, list(cells)))
    if header is None:
        raise InvalidInput("file", "empty")
    return Table(header, rows)


def _decode(content: bytes) -> str:
    for encoding in ENCODINGS:
        try:
            return content.decode(encoding).lstrip("\ufeff")
        except UnicodeDecodeError:
            continue
    raise InvalidInput("file", "unreadable")


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The sniffed dialect; the header's own delimiter wins when the sniffer guesses another
    (a comma inside values of a `;` file), and plain counting when it cannot tell."""
    sample = text[: 64 * 1024]
    first = sample.split("\n", 1)[0]
    by_header = max(";,\t", key=first.count)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=";,\t")
        if first.count(dialect.delimiter) or not first.count(by_header):
            return dialect
    except csv.Error:
        pass

    class Fallback(csv.excel):
        delimiter = by_header

    return Fallback


def _read_csv(content: bytes) -> Table:
    text = _decode(content)
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))

    def lines() -> Iterator[tuple[int, list[str]]]:
        start = 1
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1

    try:
        return _collect(lines())
    except csv.Error as exc:
        raise InvalidInput("file", "unreadable") from exc


def _read_xlsx(content: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput("file", "unreadable") from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise InvalidInput("file", "empty")
        rows = sheet.iter_rows(values_only=True)
        return _collect((number, cells) for number, cells in enumerate(rows, 1))
    finally:
        workbook.close()


def read_table(filename: str, content: bytes) -> Table:
    if len(content) > MAX_BYTES:
        raise InvalidInput("file", "too_large", max_mb=MAX_BYTES // (1024 * 1024))
    name = filename.lower()
    if name.endswith(CSV_EXTENSIONS):
        return _read_csv(content)
    if name.endswith(XLSX_EXTENSIONS):
        return _read_xlsx(content)
    raise InvalidInput("file", "unsupported_format")


# --- the header ------------------------------------------------------------------------------


def _match(cell: str, fields: Sequence[str]) -> str | None:
    key = _header(cell)
    for name in fields:
        if key in {_header(a) for a in ALIASES[name]}:
            return name
    return None


def detect_kind(header: Sequence[str]) -> str:
    """Sales if there is an amount; contacts if people are named (ФИО, contact) or a name
    comes with phones or emails; else companies."""
    found = {f for cell in header for f in ALIASES if _match(cell, [f])}
    if "amount" in found:
        return "sales"
    person_only = any(_match(c, ["person"]) and not _match(c, ["company_name"]) for c in header)
    if person_only or (found & CONTACT_MARKERS and "person" in found):
        return "contacts"
    return "companies"


def map_columns(kind: str, header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """field -> column index (the first column of each field wins) and the ignored headers."""
    columns: dict[str, int] = {}
    ignored: list[str] = []
    order = list(FIELDS[kind])
    for index, cell in enumerate(header):
        name = _match(cell, [f for f in order if f not in columns])
        if name is None:
            if cell.strip():
                ignored.append(cell.strip())
            continue
        columns[name] = index
    required = {NAME_FIELD[kind]}
    if kind == "sales":
        required = {"date", "amount"}
        if "company_name" not in columns and "inn" not in columns:
            raise InvalidInput("file", "bad_header")
    if not required <= set(columns):
        raise InvalidInput("file", "bad_header")
    return columns, ignored


# --- cell values -------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.strftime("%d.%m.%Y")
    return str(value).strip() or None


def _number(field_name: str, value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidInput(field_name, "not_a_number")
    if isinstance(value, int | float | Decimal):
        try:
            value = Decimal(str(value))
        except InvalidOperation as exc:
            raise InvalidInput(field_name, "not_a_number") from exc
    return validation.money(field_name, value)


def _positive(field_name: str, value: Any, default: Decimal | None = None) -> Decimal:
    amount = _number(field_name, value)
    if amount is None:
        if default is not None:
            return default
        raise InvalidInput(field_name, "empty")
    if amount <= 0:
        raise InvalidInput(field_name, "not_positive")
    return amount


EXCEL_EPOCH = date(1899, 12, 30)
DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y", "%Y.%m.%d")


def parse_date(value: Any) -> date:
    """dd.mm.yyyy, yyyy-mm-dd, a date or datetime cell, or an Excel day number."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2_958_466:
            return EXCEL_EPOCH + timedelta(days=int(value))
        raise InvalidInput("date", "invalid")
    text = (_text(value) or "").split(" ")[0].split("T")[0]
    if not text:
        raise InvalidInput("date", "empty")
    if text.isdigit() and 20_000 <= int(text) < 100_000:
        return EXCEL_EPOCH + timedelta(days=int(text))
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidInput("date", "invalid")


def _tags(value: Any) -> list[str]:
    text = _text(value)
    return [t for t in re.split(r"[,;]", text) if t.strip()] if text else []


# --- writing ---------------------------------------------------------------------------------


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
    """Insert rows in one statement per batch; their ids in the order of the rows."""
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    result = await uow.session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return [r[0] for r in result]


async def _write_plain(uow: UnitOfWork, model: type, rows: list[dict[str, Any]]) -> None:
    if rows:
        await uow.session.execute(insert(model.__table__), rows)  # type: ignore[attr-defined]


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


async def _index(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    await _write_plain(uow, SearchEntry, rows)
    await search.add_terms(uow.session, (r["text"] for r in rows))


def _company_search_row(company_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return _search_row(
        SearchKind.COMPANY,
        company_id,
        values["curator_id"],
        values["name"],
        [values["name"], values["inn"], values["industry"], values["territory"], *values["tags"]],
    )


async def _visible_companies_by_key(
    uow: UnitOfWork, actor: Actor, keys: Iterable[str]
) -> dict[str, tuple[int, int, str]]:
    """name_key -> (id, curator_id, name) of the oldest visible company of that name."""
    found: dict[str, tuple[int, int, str]] = {}
    for chunk in _chunks(sorted(set(keys))):
        rows = await uow.session.execute(
            select(Company.name_key, Company.id, Company.curator_id, Company.name)
            .where(Company.name_key.in_(chunk), visible_owner(actor, Company.curator_id))
            .order_by(Company.id.desc())
        )
        for key, cid, curator, name in rows:
            found[key] = (cid, curator, name)
    return found


async def _companies_by_inn(
    uow: UnitOfWork, actor: Actor | None, inns: Iterable[str]
) -> dict[str, tuple[int, int, str]]:
    """INN -> (id, curator_id, name); any company when `actor` is None, else visible ones."""
    found: dict[str, tuple[int, int, str]] = {}
    for chunk in _chunks(sorted(set(inns))):
        stmt = select(Company.inn, Company.id, Company.curator_id, Company.name).where(
            Company.inn.in_(chunk)
        )
        if actor is not None:
            stmt = stmt.where(visible_owner(actor, Company.curator_id))
        for inn, cid, curator, name in await uow.session.execute(stmt.order_by(Company.id.desc())):
            found[inn] = (cid, curator, name)
    return found


def _cell(cells: list[Any], columns: dict[str, int], name: str) -> Any:
    index = columns.get(name)
    return cells[index] if index is not None and index < len(cells) else None


async def _import_companies(
    uow: UnitOfWork, actor: Actor, table: Table, columns: dict[str, int], report: ImportReport
) -> None:
    accepted: list[tuple[int, dict[str, Any]]] = []
    for number, cells in table.rows:
        try:
            values = companies.clean(
                CompanyInput(
                    name=_text(_cell(cells, columns, "company_name")) or "",
                    industry=_text(_cell(cells, columns, "industry")),
                    territory=_text(_cell(cells, columns, "territory")),
                    inn=_text(_cell(cells, columns, "inn")),
                    tags=_tags(_cell(cells, columns, "tags")),
                    notes=_text(_cell(cells, columns, "notes")),
                )
            )
        except InvalidInput as exc:
            report.rejected.append(Rejected(number, exc.field, exc.reason, _params(exc)))
            continue
        accepted.append((number, values))
    async with uow:
        by_key = await _visible_companies_by_key(uow, actor, (v["name_key"] for _, v in accepted))
        by_inn = await _companies_by_inn(uow, None, (v["inn"] for _, v in accepted if v["inn"]))
        seen_keys: set[str] = set(by_key)
        seen_inns: set[str] = set(by_inn)
        rows: list[dict[str, Any]] = []
        now = utcnow()
        for _, values in accepted:
            if values["name_key"] in seen_keys or (values["inn"] and values["inn"] in seen_inns):
                report.skipped_duplicates += 1
                continue
            seen_keys.add(str(values["name_key"]))
            if values["inn"]:
                seen_inns.add(str(values["inn"]))
            rows.append({**values, "curator_id": actor.id, "created_at": now, "updated_at": now})
        await _create_companies(uow, actor, rows)
        report.created = len(rows)
        await uow.commit()


async def _create_companies(uow: UnitOfWork, actor: Actor, rows: list[dict[str, Any]]) -> list[int]:
    for row in rows:
        row.setdefault("last_interaction_at", None)
    ids = await _insert(uow, Company, rows)
    await _write_plain(
        uow, AuditEntry, _audit_rows(actor.id, "companies", zip(ids, rows, strict=True))
    )
    await _index(uow, [_company_search_row(cid, row) for cid, row in zip(ids, rows, strict=True)])
    return ids


def _params(exc: InvalidInput) -> dict[str, Any]:
    return {k: v for k, v in exc.params.items() if k not in ("field", "reason")}


async def _import_contacts(
    uow: UnitOfWork, actor: Actor, table: Table, columns: dict[str, int], report: ImportReport
) -> None:
    accepted: list[tuple[int, dict[str, Any]]] = []
    for number, cells in table.rows:
        try:
            values = contacts.clean(
                ContactInput(
                    name=_text(_cell(cells, columns, "person")) or "",
                    phone=_text(_cell(cells, columns, "phone")),
                    email=_text(_cell(cells, columns, "email")),
                    company_name=_text(_cell(cells, columns, "company")),
                    position=_text(_cell(cells, columns, "position")),
                    tg_username=_text(_cell(cells, columns, "telegram")),
                    notes=_text(_cell(cells, columns, "notes")),
                )
            )
            company_key = None
            if values["company_name"] is not None:
                company_key = companies.clean(CompanyInput(name=str(values["company_name"])))[
                    "name_key"
                ]
        except InvalidInput as exc:
            field_name = "company" if exc.field == "company_name" else exc.field
            report.rejected.append(Rejected(number, field_name, exc.reason, _params(exc)))
            continue
        values["company_key"] = company_key
        accepted.append((number, values))
    async with uow:
        keys = {str(v["company_key"]) for _, v in accepted if v["company_key"]}
        known = await _visible_companies_by_key(uow, actor, keys)
        # companies named for the first time: created once, curated by the importer
        new_companies: dict[str, dict[str, Any]] = {}
        now = utcnow()
        for _, values in accepted:
            key = values["company_key"]
            if key and key not in known and key not in new_companies:
                new_companies[key] = {
                    **companies.clean(CompanyInput(name=str(values["company_name"]))),
                    "curator_id": actor.id,
                    "created_at": now,
                    "updated_at": now,
                }
        rows = list(new_companies.values())
        for key, cid in zip(new_companies, await _create_companies(uow, actor, rows), strict=True):
            known[key] = (cid, actor.id, new_companies[key]["name"])
        report.companies_created = len(rows)

        existing = await _existing_contacts(uow, actor, [v for _, v in accepted])
        contact_rows: list[dict[str, Any]] = []
        company_names: list[str | None] = []
        for _, values in accepted:
            company = known.get(values["company_key"]) if values["company_key"] else None
            company_id = company[0] if company else None
            keys_of = _contact_keys(values, company_id)
            if keys_of & existing:
                report.skipped_duplicates += 1
                continue
            existing |= keys_of
            row = {k: v for k, v in values.items() if k not in ("company_name", "company_key")}
            row.update(
                company_id=company_id,
                curator_id=company[1] if company else actor.id,
                created_at=now,
                updated_at=now,
            )
            contact_rows.append(row)
            company_names.append(company[2] if company else None)
        ids = await _insert(uow, Contact, contact_rows)
        await _write_plain(
            uow, AuditEntry, _audit_rows(actor.id, "contacts", zip(ids, contact_rows, strict=True))
        )
        await _index(
            uow,
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
            ],
        )
        report.created = len(contact_rows)
        await uow.commit()


def _contact_keys(values: dict[str, Any], company_id: int | None) -> set[tuple[str, Any]]:
    keys: set[tuple[str, Any]] = {("name", search.normalise(values["name"]), company_id)}  # type: ignore[arg-type]
    if values.get("phone"):
        keys.add(("phone", values["phone"]))
    if values.get("email"):
        keys.add(("email", str(values["email"]).lower()))
    return keys


async def _existing_contacts(
    uow: UnitOfWork, actor: Actor, values: list[dict[str, Any]]
) -> set[tuple[Any, ...]]:
    """Duplicate keys of the visible contacts sharing a phone, an email or a name with the file."""
    found: set[tuple[Any, ...]] = set()
    phones = sorted({v["phone"] for v in values if v.get("phone")})
    emails = sorted({str(v["email"]).lower() for v in values if v.get("email")})
    names = sorted({v["name"] for v in values})
    scope = visible_owner(actor, Contact.curator_id)
    for column, wanted in (
        (Contact.phone, phones),
        (func.lower(Contact.email), emails),
        (Contact.name, names),
    ):
        for chunk in _chunks(wanted):
            rows = await uow.session.execute(
                select(Contact.name, Contact.phone, Contact.email, Contact.company_id).where(
                    column.in_(chunk), scope
                )
            )
            for name, phone, email, company_id in rows:
                found |= _contact_keys({"name": name, "phone": phone, "email": email}, company_id)
    return found


async def _import_sales(
    uow: UnitOfWork, actor: Actor, table: Table, columns: dict[str, int], report: ImportReport
) -> None:
    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, cells in table.rows:
        try:
            name = _text(_cell(cells, columns, "company_name"))
            inn = _text(_cell(cells, columns, "inn"))
            if inn is not None:
                inn = companies._inn(inn)
            key = search.normalise(validation.text("company", name)) if name else None
            if key is None and inn is None:
                raise InvalidInput("company", "empty")
            ref = validation.optional_text("ref", _text(_cell(cells, columns, "ref")), 100)
            values = {
                "key": key,
                "inn": inn,
                "sold_on": parse_date(_cell(cells, columns, "date")),
                "amount": _positive("amount", _cell(cells, columns, "amount")),
                "quantity": _positive(
                    "quantity", _cell(cells, columns, "quantity"), default=Decimal(1)
                ),
                "cost": _number("cost", _cell(cells, columns, "cost")),
                "product": _text(_cell(cells, columns, "product")),
                "external_ref": ref,
            }
            if values["quantity"] >= Decimal("1e11"):
                raise InvalidInput("quantity", "too_large")
        except InvalidInput as exc:
            report.rejected.append(Rejected(number, exc.field, exc.reason, _params(exc)))
            continue
        parsed.append((number, values))
    async with uow:
        by_key = await _visible_companies_by_key(
            uow, actor, (v["key"] for _, v in parsed if v["key"])
        )
        by_inn = await _companies_by_inn(uow, actor, (v["inn"] for _, v in parsed if v["inn"]))
        names = sorted({str(v["product"]).lower() for _, v in parsed if v["product"]})
        products: dict[str, int] = {}
        for chunk in _chunks(names):
            rows = await uow.session.execute(
                select(func.lower(Product.name), Product.id).where(
                    func.lower(Product.name).in_(chunk)
                )
            )
            products.update({n: pid for n, pid in rows})
        accepted: list[tuple[int, dict[str, Any]]] = []
        occurrences: dict[str, int] = {}
        for number, values in parsed:
            company = (by_inn.get(values["inn"]) if values["inn"] else None) or (
                by_key.get(values["key"]) if values["key"] else None
            )
            if company is None:
                report.rejected.append(Rejected(number, "company", "not_found"))
                continue
            product_id = products.get(str(values["product"]).lower()) if values["product"] else None
            ref = values["external_ref"]
            if ref is None:
                ref = _content_ref(company[0], values, occurrences)
            accepted.append(
                (
                    number,
                    {
                        "company_id": company[0],
                        "deal_id": None,
                        "product_id": product_id,
                        "manager_id": company[1],
                        "sold_on": values["sold_on"],
                        "quantity": values["quantity"],
                        "amount": values["amount"],
                        "cost": values["cost"],
                        "source": "import",
                        "external_ref": ref,
                    },
                )
            )
        refs = [row["external_ref"] for _, row in accepted]
        taken: set[str] = set()
        for chunk in _chunks(sorted(set(refs))):
            taken |= set(
                await uow.session.scalars(
                    select(Sale.external_ref).where(Sale.external_ref.in_(chunk))
                )
            )
        rows: list[dict[str, Any]] = []
        now = utcnow()
        for _, row in accepted:
            if row["external_ref"] in taken:
                report.skipped_duplicates += 1
                continue
            taken.add(row["external_ref"])
            rows.append({**row, "created_at": now})
        try:
            ids = await _insert(uow, Sale, rows)
        except IntegrityError as exc:  # another import of the same documents at the same time
            raise Conflict("duplicate") from exc
        await rollups.add_rows(uow.session, rows)
        await _write_plain(
            uow, AuditEntry, _audit_rows(actor.id, "sales", zip(ids, rows, strict=True))
        )
        report.created = len(rows)
        await uow.commit()


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


IMPORTERS: dict[str, Callable[..., Any]] = {
    "companies": _import_companies,
    "contacts": _import_contacts,
    "sales": _import_sales,
}


def allowed_kinds(actor: Actor) -> tuple[str, ...]:
    if actor.role in (Role.HEAD, Role.DIRECTOR):
        return KINDS
    return ("companies", "contacts")


async def import_file(
    uow: UnitOfWork, actor: Actor, filename: str, content: bytes, kind: str | None = None
) -> ImportReport:
    """Read, check and import one file; InvalidInput for a file that cannot be used at all."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput("kind", "unknown_value", allowed=list(KINDS))
    if kind == "sales":
        require_role(actor, Role.HEAD, Role.DIRECTOR, entity="import")
    table = read_table(filename, content)
    kind = kind or detect_kind(table.header)
    if kind == "sales":
        require_role(actor, Role.HEAD, Role.DIRECTOR, entity="import")
    columns, ignored = map_columns(kind, table.header)
    report = ImportReport(kind=kind, rows=len(table.rows), ignored_columns=ignored)
    await IMPORTERS[kind](uow, actor, table, columns, report)
    report.rejected.sort(key=lambda r: r.row)
    return report
