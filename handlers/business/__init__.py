"""Telegram Business: the connection (and strangers refused), the chats' messages, edits
and deletions, the question a new chat brings, /business, 💬 Write in Telegram.
"""

from aiogram import Router

from handlers.business import command, connection, deciding, messages, rules, writing
from handlers.cards.view import CardRows

CARD_ROWS = CardRows(contact=(writing.contact_write,))

__all__ = ["CARD_ROWS", "setup"]


def setup() -> Router:
    router = Router(name="business")
    router.include_routers(
        connection.setup(),
        messages.setup(),
        deciding.setup(),
        command.setup(),
        writing.setup(),
        rules.setup(),
    )
    return router
