"""Telegram Business: the connection (and strangers refused), the chats' messages, edits
and deletions, the question a new chat brings, /business.
"""

from aiogram import Router

from handlers.business import command, connection, deciding, messages


def setup() -> Router:
    router = Router(name="business")
    router.include_routers(connection.setup(), messages.setup(), deciding.setup(), command.setup())
    return router
