"""crm/money.py: the one rounding of money (to the cent, halves up) the figures are made with."""

from __future__ import annotations

from decimal import Decimal

from crm.analytics.abc_xyz import money as from_cents
from crm.models import DealLine
from crm.money import cents


def test_halves_round_up_whatever_the_digit_before() -> None:
    # Decimal's default (halves to even) made 115 220.745 -> …74 but 140 710.875 -> …88
    assert cents(Decimal("115220.745")) == Decimal("115220.75")
    assert cents(Decimal("140710.875")) == Decimal("140710.88")
    assert cents("0.125") == Decimal("0.13")
    assert cents(2) == Decimal("2.00")


def test_figures_computed_in_the_domain_use_it() -> None:
    # 10.05 with 50 % off is 5.025: 5.03, as the reader would round it by hand
    line = DealLine(quantity=Decimal(1), unit_price=Decimal("10.05"), discount_pct=Decimal(50))
    assert line.total == Decimal("5.03")
    assert from_cents(50) == Decimal("0.50")
