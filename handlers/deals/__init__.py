"""Deals: /deal (one line or a dialog), /deals, the deal card's buttons, its lines, and the
approval of discounts above a manager's limit (/approvals for heads and directors).
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
)

CARD_ROWS = CardRows(deal=(card.deal_rows, lines.lines_row, edit.edit_row))

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
    )
    return router
