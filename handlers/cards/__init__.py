"""The cards of companies, contacts and deals: /find, their buttons, ✏ Edit.

Other areas add rows to the cards through `CardRows` (see handlers/cards/view.py).
"""

from aiogram import Router

from handlers.cards import browse, edit, parent, search


def setup() -> Router:
    router = Router(name="cards")
    router.include_routers(search.setup(), browse.setup(), edit.setup(), parent.setup())
    return router
