"""Duplicate control: asking for a client someone else serves (door.py), /duplicates
(screen.py)."""

from aiogram import Router

from handlers.duplicates import door, screen


def setup() -> Router:
    router = Router(name="duplicates")
    router.include_routers(door.setup(), screen.setup())
    return router
