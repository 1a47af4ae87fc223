"""What a row of an import file says: the columns its header names, and each data row
checked and cleaned as the services check typed input. Pure functions (no database): the
worker process that reads the file runs them, and hands over clean rows or the reason a
row is rejected. Whether a company, product or document exists is the writer's question
(crm/services/imports/writers/).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from crm import search, validation
from crm.errors import InvalidInput
from crm.money import cents
from crm.services import companies, contacts
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput

KINDS = ("companies", "contacts", "sales")

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
    "parent": (
        "parent", "parent company", "holding", "головная компания", "головная организация",
        "холдинг", "материнская компания", "родительская компания", "parent inn",
        "инн головной компании",
    ),
    "industry": ("industry", "отрасль", "сфера", "вид деятельности"),
    "territory": ("territory", "территория", "регион", "region", "город", "city"),
    "tags": ("tags", "теги", "метки"),
    "notes": ("notes", "note", "примечание", "примечания", "комментарий", "comment", "заметки"),
    "phone": ("phone", "телефон", "тел", "mobile", "мобильный", "phone number", "номер телефона"),
    "email": ("email", "e mail", "почта", "эл почта", "электронная почта", "mail"),
    "position": ("position", "должность", "job title"),
    "telegram": ("telegram", "телеграм", "telegram username", "tg"),
    "date": ("date", "дата", "дата продажи", "sold on", "sale date", "дата документа"),
    "paid": (
        "paid", "paid on", "date paid", "paid date", "payment date", "дата оплаты", "оплачено",
        "оплата", "дата платежа",
    ),
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
    "companies": ("inn", "parent", "industry", "territory", "tags", "notes", "company_name"),
    "contacts": ("phone", "email", "position", "telegram", "notes", "company", "person"),
    "sales": (
        "inn", "paid", "date", "amount", "quantity", "cost", "product", "ref", "company_name",
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
    params: dict[str, Any] = _field(default_factory=dict)


def _header(value: Any) -> str:
    text = str(value or "").lower().replace("ё", "е").replace("_", " ")
    return " ".join(re.findall(r"\w+", text))


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


PLAIN_AMOUNT = re.compile(r"\d{1,11}(?:[.,]\d{1,2})?")
CENT = Decimal("0.01")


def _number(field_name: str, value: Any) -> Decimal | None:
    if isinstance(value, str) and PLAIN_AMOUNT.fullmatch(value):  # the usual case, quickly
        return cents(Decimal(value.replace(",", ".")))
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
    return _date_of_text((_text(value) or "").split(" ")[0].split("T")[0])


@lru_cache(maxsize=16384)
def _date_of_text(text: str) -> date:
    """A file has few distinct dates: each is parsed once."""
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


# --- rows --------------------------------------------------------------------------------------


def _cell(cells: Sequence[Any], columns: dict[str, int], name: str) -> Any:
    index = columns.get(name)
    return cells[index] if index is not None and index < len(cells) else None


def _params(exc: InvalidInput) -> dict[str, Any]:
    return {k: v for k, v in exc.params.items() if k not in ("field", "reason")}


def parent_ref(value: Any) -> tuple[str, str] | None:
    """The parent a companies file names: ("inn", digits) for 10 or 12 digits, else
    ("name", its name key); None when the cell is empty."""
    text = _text(value)
    if text is None:
        return None
    if text.isdigit() and len(text) in (10, 12):
        return "inn", text
    try:
        return "name", search.normalise(validation.text("parent", text))
    except InvalidInput as exc:
        raise InvalidInput("parent", exc.reason, **_params(exc)) from exc


def company_row(cells: Sequence[Any], columns: dict[str, int]) -> dict[str, Any]:
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
    parent = parent_ref(_cell(cells, columns, "parent"))
    if parent is not None and parent in (("name", values["name_key"]), ("inn", values["inn"])):
        raise InvalidInput("parent", "cycle")
    return {**values, "parent_ref": parent}


@lru_cache(maxsize=65536)
def _company_key(name: str) -> str:
    """What a contact's company is looked up by: the duplicate check's key (crm/matching.py)."""
    return str(companies.clean(CompanyInput(name=name))["match_key"])


SIMPLE_EMAIL = re.compile(
    r"([A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))"
)


def email(value: str | None) -> str | None:
    """`validation.email` with a shortcut for the plain ASCII addresses most files hold
    (email_validator's IDNA checks cost a millisecond a row): the same normalised form,
    the local part as written and the domain in lower case."""
    if value is not None:
        found = SIMPLE_EMAIL.fullmatch(value.strip())
        if found and len(found[1]) <= 64 and len(value.strip()) <= 254:
            from email_validator import SPECIAL_USE_DOMAIN_NAMES

            domain = found[2].lower()
            if not any(
                domain == special or domain.endswith("." + special)
                for special in SPECIAL_USE_DOMAIN_NAMES
            ):
                return f"{found[1]}@{domain}"
    return validation.email(value)


def contact_row(cells: Sequence[Any], columns: dict[str, int]) -> dict[str, Any]:
    try:
        address = email(_text(_cell(cells, columns, "email")))
        values = contacts.clean(
            ContactInput(
                name=_text(_cell(cells, columns, "person")) or "",
                phone=_text(_cell(cells, columns, "phone")),
                company_name=_text(_cell(cells, columns, "company")),
                position=_text(_cell(cells, columns, "position")),
                tg_username=_text(_cell(cells, columns, "telegram")),
                notes=_text(_cell(cells, columns, "notes")),
            )
        )
        company_key = None
        if values["company_name"] is not None:
            company_key = _company_key(str(values["company_name"]))
    except InvalidInput as exc:
        if exc.field == "company_name":
            raise InvalidInput("company", exc.reason, **_params(exc)) from exc
        raise
    values["email"] = address
    values["company_key"] = company_key
    return values


@lru_cache(maxsize=65536)
def _buyer(name: str | None, inn: str | None) -> tuple[str | None, str | None]:
    """(name key, INN) of the company a sale names: a file names few companies many times."""
    if inn is not None:
        inn = companies._inn(inn)
    key = search.normalise(validation.text("company", name)) if name else None
    if key is None and inn is None:
        raise InvalidInput("company", "empty")
    return key, inn


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def _ref(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if len(text) > 100 or CONTROL.search(text) or "  " in text or "\n" in text:
        return validation.optional_text("ref", text, 100)
    return text


def _paid_on(value: Any) -> date | None:
    """The paid-date column: empty (not paid) or a date read as the sale's date is."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse_date(value)
    except InvalidInput as exc:
        raise InvalidInput("paid_on", exc.reason) from exc


def sale_row(cells: Sequence[Any], columns: dict[str, int]) -> dict[str, Any]:
    key, inn = _buyer(
        _text(_cell(cells, columns, "company_name")), _text(_cell(cells, columns, "inn"))
    )
    ref = _ref(_cell(cells, columns, "ref"))
    quantity = _positive("quantity", _cell(cells, columns, "quantity"), default=Decimal(1))
    if quantity >= Decimal("1e11"):
        raise InvalidInput("quantity", "too_large")
    values: dict[str, Any] = {
        "key": key,
        "inn": inn,
        "sold_on": parse_date(_cell(cells, columns, "date")),
        "amount": _positive("amount", _cell(cells, columns, "amount")),
        "quantity": quantity,
        "cost": _number("cost", _cell(cells, columns, "cost")),
        "product": _text(_cell(cells, columns, "product")),
        "external_ref": ref,
        "paid_on": _paid_on(_cell(cells, columns, "paid")) if "paid" in columns else None,
    }
    return values


CLEANERS = {"companies": company_row, "contacts": contact_row, "sales": sale_row}
# a clean sale as the worker hands it over: a plain tuple of text (dates ISO, amounts as
# their Decimal prints) is a fifth of the cost of a dict of Decimals to pickle and unpickle
SALE_WIRE = (
    "key", "inn", "sold_on", "amount", "quantity", "cost", "product", "external_ref", "paid_on",
)  # fmt: skip


def sale_wire(values: dict[str, Any]) -> tuple[str | None, ...]:
    """A clean sale (sale_row) in the order of SALE_WIRE, every value text or None."""
    return (
        values["key"],
        values["inn"],
        values["sold_on"].isoformat(),
        str(values["amount"]),
        str(values["quantity"]),
        None if values["cost"] is None else str(values["cost"]),
        values["product"],
        values["external_ref"],
        None if values["paid_on"] is None else values["paid_on"].isoformat(),
    )


def clean_row(
    kind: str, number: int, cells: Sequence[Any], columns: dict[str, int]
) -> tuple[int, dict[str, Any]] | Rejected:
    try:
        return number, CLEANERS[kind](cells, columns)
    except InvalidInput as exc:
        return Rejected(number, exc.field, exc.reason, _params(exc))
