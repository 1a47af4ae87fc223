"""Row helpers: INN, phone, names, money, dates, bulk INSERTs and search rows."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm import search
from crm.demo.organisation import CENT
from crm.models.enums import SearchKind


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", search.transliterate(value.lower().replace("ё", "е")))


def _inn(rng: random.Random) -> str:
    digits = [rng.randint(1, 9), *(rng.randint(0, 9) for _ in range(8))]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def _phone(rng: random.Random) -> str:
    return f"+79{rng.randint(0, 99):02d}{rng.randint(0, 9_999_999):07d}"


def _female(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    return surname


def _line_total(quantity: Decimal, price: Decimal, discount: Decimal) -> Decimal:
    return (quantity * price * (100 - discount) / 100).quantize(CENT)


def _month_start(today: date, back: int) -> date:
    month = today.year * 12 + today.month - 1 - back
    return date(month // 12, month % 12 + 1, 1)


def _at(day: date, rng: random.Random) -> datetime:
    """A working-hours moment of that day (UTC, Moscow office hours)."""
    return datetime.combine(day, time(rng.randint(6, 15), rng.randint(0, 59)), UTC)


async def _insert(session: AsyncSession, model: type, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Bulk INSERT returning the new ids in the order of `rows`."""
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list((await session.scalars(stmt, list(rows))).all())


async def _insert_plain(session: AsyncSession, model: type, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(model.__table__), list(rows))  # type: ignore[attr-defined]


def _search_row(
    kind: SearchKind,
    entity_id: int,
    owner_id: int,
    title: str,
    parts: Sequence[str | None],
    phones: Sequence[str | None] = (),
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "entity_id": entity_id,
        "owner_id": owner_id,
        "title": title[:300],
        "text": search.document(parts, phones),
    }
