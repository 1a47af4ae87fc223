"""/playbook (directors): the typical plans of work that new deals, claims and events get."""

from aiogram import Router

from handlers.playbooks import card, editor
from handlers.playbooks.card import KIND_WORDS

__all__ = ["KIND_WORDS", "setup"]


def setup() -> Router:
    router = Router(name="playbooks")
    router.include_routers(card.setup(), editor.setup())
    return router
