"""Interactions: /log (one line or a dialog) and the paged history of every card."""

from aiogram import Router

from handlers.interactions import history, line, log_dialog
from handlers.interactions.logbook import DIRECTION_WORDS, KIND_WORDS

__all__ = ["DIRECTION_WORDS", "KIND_WORDS", "setup"]


def setup() -> Router:
    router = Router(name="interactions")
    router.include_routers(line.setup(), log_dialog.setup(), history.setup())
    return router
