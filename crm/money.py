"""One rounding for money everywhere: to the cent, halves up, in `Decimal`.

Python's `Decimal.quantize` rounds halves to even by default, so 115 220.745 became
115 220.74 while 140 710.875 became 140 710.88; every amount the CRM computes or shows
goes through `cents` instead.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(value: Decimal | int | str | float) -> Decimal:
    """`value` rounded to the cent, halves away from zero: 0.125 -> 0.13, 0.135 -> 0.14."""
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)
