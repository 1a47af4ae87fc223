"""Synchronous filters (magic filters, dialog states) are checked on the event loop's
thread, in place, and filter exactly as before (bot/inline_filters.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import Message, Update

from bot.app import create_dispatcher
from bot.fsm_storage import DatabaseStorage
from bot.inline_filters import _filters, inline_sync_filters
from crm.settings import Settings
from crm.storage import Database


def update(text: str) -> Update:
    return Update.model_validate(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "A"},
                "text": text,
            },
        }
    )


async def test_sync_filters_run_on_the_loop_and_still_filter() -> None:
    threads: list[int] = []
    handled: list[str] = []

    def on_loop_thread(message: Message) -> bool:
        threads.append(threading.get_ident())
        return True

    router = Router()

    @router.message(on_loop_thread, F.text.startswith("yes"))
    async def taken(message: Message) -> None:
        handled.append(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    assert inline_sync_filters(dp) == 2
    assert all(f.awaitable for f in _filters(dp))
    bot = Bot("42:TEST")
    for text in ("yes please", "no thanks"):
        await dp.feed_update(bot, update(text))
    assert handled == ["yes please"]
    assert threads == [threading.get_ident()] * 2  # never handed to another thread
    await bot.session.close()


async def test_the_bots_dispatcher_has_no_filter_left_for_a_thread(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    settings: Any = Settings(_env_file=None)  # type: ignore[call-arg]
    dp = create_dispatcher(settings, database, storage=DatabaseStorage(database))
    filters = list(_filters(dp))
    assert len(filters) > 100  # the bot's routers, not an empty walk
    assert all(f.awaitable for f in filters)
    await database.dispose()
