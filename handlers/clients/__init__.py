"""Clients: /company and /contact (one line or a dialog), shared contact cards, forwarded
messages.
"""

from aiogram import Router

from handlers.clients import company, contact, forward


def setup() -> Router:
    router = Router(name="clients")
    router.include_routers(company.setup(), contact.setup(), forward.setup())
    return router
