"""The floor of bench_load: a bare aiogram bot in webhook mode that echoes every message and
answers every button press, no database, no middlewares. Run the way `chatcrm run` is,
from the same environment (BOT_TOKEN, TELEGRAM_API_URL, WEBHOOK_URL, HTTP_HOST, HTTP_PORT):

    python -m bench.echo_bot

Whatever bench_load measures for `chatcrm run` above this, over the same HTTP path, is
the CRM's own cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web


def dispatcher() -> Dispatcher:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    @router.callback_query()
    async def pressed(callback: CallbackQuery) -> None:
        await callback.answer()
        if callback.message is not None:
            await callback.bot.send_message(callback.message.chat.id, callback.data or "?")  # type: ignore[union-attr]

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def main() -> None:
    token = os.environ["BOT_TOKEN"]
    api = os.environ["TELEGRAM_API_URL"].rstrip("/")
    hook = os.environ["WEBHOOK_URL"]
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    dp = dispatcher()
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


if __name__ == "__main__":
    asyncio.run(main())
