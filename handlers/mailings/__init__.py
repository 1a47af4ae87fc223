"""Mailings: /mailing, a personalised email to a segment of clients, through the outbox."""

from aiogram import Router

from handlers.mailings import dialog


def setup() -> Router:
    router = Router(name="mailings")
    router.include_routers(dialog.setup())
    return router
