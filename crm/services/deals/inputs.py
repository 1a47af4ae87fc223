"""What a deal and its lines are made of, and the checks of what a caller
gives (nothing is written before they pass)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Protocol

from crm import validation
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import Deal
from crm.models.enums import ApprovalStatus
from crm.uow import UnitOfWork

SOURCE_MAX = 50
QUANTITY_MAX = Decimal("1e11")
UPDATABLE = (
    "title",
    "amount",
    "expected_close",
    "contact_id",
    "source",
    "next_step",
    "probability",
)
NEXT_STEP_MAX = 200
BLOCKING_APPROVALS = (ApprovalStatus.PENDING.value, ApprovalStatus.REJECTED.value)


@dataclass
class LineInput:
    product_id: int
    quantity: Decimal | int | str = 1
    discount_pct: Decimal | int | str = 0
    unit_price: Decimal | int | str | None = None  # None: the product's catalogue price


@dataclass
class DealInput:
    company_id: int
    title: str
    amount: Decimal | int | str | None = None  # None: the sum of the lines (0 without lines)
    contact_id: int | None = None
    expected_close: date | None = None
    source: str | None = None
    probability: int | None = None
    lines: list[LineInput] = field(default_factory=list)


class DealOpenedHook(Protocol):
    """Called inside the transaction that opens a deal, after the deal has its id.

    The composition root passes the playbook service's "create the default
    playbook's tasks" here; whatever it writes commits or rolls back with the deal.
    """

    async def __call__(self, uow: UnitOfWork, actor: Actor, deal: Deal) -> None: ...


def _quantity(value: Decimal | int | str | None) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput("quantity", "empty")
    try:
        if isinstance(value, str):
            value = value.replace("\u00a0", "").replace(" ", "").replace(",", ".")
        qty = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput("quantity", "not_a_number") from exc
    if not qty.is_finite():
        raise InvalidInput("quantity", "not_a_number")
    if qty <= 0:
        raise InvalidInput("quantity", "not_positive")
    if qty >= QUANTITY_MAX:
        raise InvalidInput("quantity", "too_large")
    return qty.quantize(Decimal("0.001"))


def _probability(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("probability", "not_a_number")
    if not 0 <= value <= 100:
        raise InvalidInput("probability", "out_of_range", min=0, max=100)
    return value


def _expected_close(value: date | None) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise InvalidInput("expected_close", "not_a_date")
    return value if type(value) is date else date(value.year, value.month, value.day)


def clean_line(data: LineInput) -> dict[str, object]:
    if not isinstance(data.product_id, int) or isinstance(data.product_id, bool):
        raise InvalidInput("product_id", "unknown")
    return {
        "product_id": data.product_id,
        "quantity": _quantity(data.quantity),
        "discount_pct": validation.percent("discount_pct", data.discount_pct),
        "unit_price": validation.money("unit_price", data.unit_price, allow_none=True),
    }


def clean(data: DealInput) -> dict[str, object]:
    """Validated values; raises InvalidInput before anything is written."""
    return {
        "title": validation.text("title", data.title),
        "amount": validation.money("amount", data.amount, allow_none=True),
        "contact_id": data.contact_id,
        "expected_close": _expected_close(data.expected_close),
        "source": validation.optional_text("source", data.source, SOURCE_MAX),
        "probability": _probability(data.probability),
        "lines": [clean_line(line) for line in data.lines],
    }


def _required_probability(value: int | None) -> int:
    checked = _probability(value)
    if checked is None:
        raise InvalidInput("probability", "empty")
    return checked


def _clean_changes(changes: dict[str, object]) -> dict[str, object]:
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "unknown_field")
    cleaners = {
        "title": lambda v: validation.text("title", v),
        "amount": lambda v: validation.money("amount", v),
        "expected_close": _expected_close,
        "contact_id": lambda v: v,
        "source": lambda v: validation.optional_text("source", v, SOURCE_MAX),
        "next_step": lambda v: validation.optional_text("next_step", v, NEXT_STEP_MAX),
        "probability": _required_probability,
    }
    return {k: cleaners[k](v) for k, v in changes.items()}  # type: ignore[no-untyped-call]
