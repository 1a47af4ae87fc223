"""Deals: /deal (one line or a dialog), /deals, the deal card's buttons, its lines, and the
approval of discounts above a manager's limit and of risky payment terms (/approvals for
heads and directors), the deal's payment terms and Paid.
"""

from aiogram import Router

from handlers.cards.view import CardRows
from handlers.deals import (
    adding,
    approvals,
    card,
    discount,
    edit,
    lines,
    listing,
    opening,
    pending,
    terms,
    terms_approvals,
)

CARD_ROWS = CardRows(deal=(card.deal_rows, lines.lines_row, terms.payment_rows, edit.edit_row))

__all__ = ["CARD_ROWS", "setup"]


def setup() -> Router:
    router = Router(name="deals")
    router.include_routers(
        listing.setup(),
        card.setup(),
        edit.setup(),
        opening.setup(),
        approvals.setup(),
        lines.setup(),
        adding.setup(),
        discount.setup(),
        pending.setup(),
        terms.setup(),
        terms_approvals.setup(),
    )
    return router
