"""Duplicate control: asking for a client someone else serves (door.py)."""

from aiogram import Router

from handlers.duplicates import door


def setup() -> Router:
    router = Router(name="duplicates")
    router.include_routers(door.setup())
    return router
