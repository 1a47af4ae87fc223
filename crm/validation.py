"""Input checks shared by the services. Each failure names the field."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm.errors import InvalidInput
from crm.money import cents

E = TypeVar("E", bound=StrEnum)

NAME_MAX = 200
SHORT_MAX = 100
TEXT_MAX = 4000
DEFAULT_REGION = "RU"


def text(field: str, value: str | None, *, required: bool = True, max_len: int = NAME_MAX) -> str:
    cleaned = " ".join((value or "").split()) if max_len <= NAME_MAX else (value or "").strip()
    if not cleaned:
        if required:
            raise InvalidInput(field, "empty")
        return ""
    if len(cleaned) > max_len:
        raise InvalidInput(field, "too_long", max=max_len)
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in cleaned):
        raise InvalidInput(field, "bad_characters")
    return cleaned


def optional_text(field: str, value: str | None, max_len: int = NAME_MAX) -> str | None:
    return text(field, value, required=False, max_len=max_len) or None


def phone(value: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of a phone number in any usual spelling ("8 (912) 345-67-89", "+7912...")."""
    if value is None or not value.strip():
        return None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone", "invalid") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput("phone", "invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    candidate = value.strip()
    if len(candidate) > 254:
        raise InvalidInput("email", "invalid")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput("email", "invalid") from exc
    return result.normalized


_GROUPED = re.compile(r"\d{1,3}(?:(?P<sep>[,.])\d{3})(?:(?P=sep)\d{3})*(?:[,.]\d+)?")


def _decimal_text(text: str) -> str:
    """A written amount as Decimal reads it: "1 234,5" and "1234.5" as before; a number
    grouped in thousands with one mark and a decimal part with the other ("12,500.00",
    "12.500,00"), or grouped more than once ("1,234,567"), loses its grouping."""
    s = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    m = _GROUPED.fullmatch(s)
    if m is not None:
        group = m["sep"]
        decimal = "." if group == "," else ","
        head, _, tail = s.rpartition(decimal) if decimal in s else (s, "", "")
        if s.count(group) > 1 or decimal in s:
            whole = (head if decimal in s else s).replace(group, "")
            return f"{whole}.{tail}" if decimal in s else whole
    return s.replace(",", ".")


def money(field: str, value: Decimal | int | str | None, *, allow_none: bool = False) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        if allow_none:
            return None  # type: ignore[return-value]
        raise InvalidInput(field, "empty")
    try:
        if isinstance(value, str):
            value = _decimal_text(value)
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(field, "not_a_number") from exc
    if not amount.is_finite():
        raise InvalidInput(field, "not_a_number")
    if amount < 0:
        raise InvalidInput(field, "negative")
    if amount >= Decimal("1e12"):
        raise InvalidInput(field, "too_large")
    return cents(amount)


def percent(field: str, value: Decimal | int | str | None) -> Decimal:
    amount = money(field, value if value is not None else 0)
    if amount > 100:
        raise InvalidInput(field, "out_of_range", min=0, max=100)
    return amount


def choice(field: str, value: str | StrEnum | None, enum: type[E]) -> E:
    try:
        return enum(str(value).strip().lower()) if value is not None else enum("")
    except ValueError as exc:
        raise InvalidInput(field, "unknown_value", allowed=[e.value for e in enum]) from exc


def birthday(value: date | None) -> date | None:
    if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
        raise InvalidInput("birthday", "out_of_range")
    return value


def tags(values: list[str] | None) -> list[str]:
    seen: list[str] = []
    for raw in values or []:
        tag = text("tags", raw, max_len=50).lower()
        if tag not in seen:
            seen.append(tag)
    if len(seen) > 30:
        raise InvalidInput("tags", "too_many", max=30)
    return seen


_INN_WEIGHTS = {
    10: ((2, 4, 10, 3, 5, 9, 4, 6, 8),),
    12: ((7, 2, 4, 10, 3, 5, 9, 4, 6, 8), (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)),
}


def inn(field: str, value: str | None) -> str | None:
    """A Russian tax id (ИНН): 10 digits (an organisation) or 12 (a person), whose check
    digits (the last one, or the last two) match the weighted sums of the digits before
    them. None for an empty value; InvalidInput `invalid` (the shape) or `checksum`."""
    if value is None or not value.strip():
        return None
    digits = value.strip()
    if not digits.isdigit() or len(digits) not in _INN_WEIGHTS:
        raise InvalidInput(field, "invalid")
    numbers = [int(d) for d in digits]
    for weights in _INN_WEIGHTS[len(digits)]:
        check = sum(w * d for w, d in zip(weights, numbers, strict=False)) % 11 % 10
        if numbers[len(weights)] != check:
            raise InvalidInput(field, "checksum")
    return digits
