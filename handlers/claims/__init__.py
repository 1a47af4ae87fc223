"""Claims: /claim (one line or a dialog), /claims, the claim card, its plan, its notices.

The card offers the status changes the service allows this user; resolving and
rejecting ask for the resolution text; ✏ Edit changes an open claim's cause or priority.
`render_notice` words the notices that notifications/claims_notify sends; bot/app.py
hands it over.
"""

from aiogram import Router

from handlers.cards.view import CardRows
from handlers.claims import card, closing, edit, filing, listing, plan
from handlers.claims.notice import render_notice

CARD_ROWS = CardRows(company=(card.company_claim_rows, filing.company_rows))

__all__ = ["CARD_ROWS", "render_notice", "setup"]


def setup() -> Router:
    router = Router(name="claims")
    router.include_routers(
        card.setup(), closing.setup(), edit.setup(), listing.setup(), filing.setup(), plan.setup()
    )
    return router
