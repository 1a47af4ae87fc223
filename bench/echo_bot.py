"""The floor of bench_load: a bare aiogram bot in webhook mode that echoes every message and
answers every button press, no database, no middlewares. Run the way `chatcrm run` is,
from the same environment (BOT_TOKEN, TELEGRAM_API_URL, WEBHOOK_URL, HTTP_HOST, HTTP_PORT):

    python -m bench.echo_bot            # echo: the floor of the HTTP path
    python -m bench.echo_bot --read1    # read1: + one read-only transaction per update

With `--read1` every update first reads the sender's name (one row, by Telegram id) in one
read-only transaction through crm's own Database on DATABASE_URL (SQLite or PostgreSQL),
as bench_dispatcher's read1 does: the floor of any command that touches the database.
Whatever bench_load measures for `chatcrm run` above these, over the same HTTP path, is
the CRM's own cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from sqlalchemy import select

from crm.models import Manager
from crm.storage import Database


def dispatcher(db: Database | None = None) -> Dispatcher:
    router = Router()

    async def read1(user_id: int, text: str) -> str:
        """`text`, or with a database the sender's name read in one read-only transaction."""
        if db is None:
            return text
        async with db.uow().read_only() as uow:
            name = await uow.session.scalar(select(Manager.name).where(Manager.tg_id == user_id))
        return name or text

    @router.message()
    async def echo(message: Message) -> None:
        assert message.from_user is not None
        await message.answer(await read1(message.from_user.id, message.text or "?"))

    @router.callback_query()
    async def pressed(callback: CallbackQuery) -> None:
        text = await read1(callback.from_user.id, callback.data or "?")
        await callback.answer()
        if callback.message is not None:
            await callback.bot.send_message(callback.message.chat.id, text)  # type: ignore[union-attr]

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def main() -> None:
    token = os.environ["BOT_TOKEN"]
    api = os.environ["TELEGRAM_API_URL"].rstrip("/")
    hook = os.environ["WEBHOOK_URL"]
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    db = Database.from_url(os.environ["DATABASE_URL"]) if "--read1" in sys.argv[1:] else None
    dp = dispatcher(db)
    secret = hashlib.sha256(f"echo:{token}".encode()).hexdigest()
    app = web.Application()
    app.router.add_get("/readyz", lambda _request: web.json_response({"status": "ok"}))
    SimpleRequestHandler(dp, bot, secret_token=secret).register(
        app, path=urlparse(hook).path or "/webhook"
    )
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host = os.environ.get("HTTP_HOST", "127.0.0.1")
    await web.TCPSite(runner, host, int(os.environ.get("HTTP_PORT", "8080"))).start()
    await bot.set_webhook(hook, secret_token=secret)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    if db is not None:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
