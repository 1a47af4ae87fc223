"""The webhook endpoint: aiogram's handler, answering when the update is handled, and a
malformed body answered 400.

Order across instances: Telegram sends the next update of a chat only once the webhook
has answered the previous one. aiogram answers at once and handles in the background, so
with two instances a dialog's next message could reach the other instance before the
dialog had started. Here the answer waits for the handling (up to `answer_within`
seconds: a long import goes on in the background rather than make Telegram time out and
send the update again), so Telegram itself keeps a chat's updates in order; the Redis
event isolation (a lock per chat and user, bot/fsm_resilience.py) keeps two that do
meet from running at once.

A body that is not an Update became a 500 with a traceback in the log: here the secret
is checked first (401), then the body is read and validated (400 with one line).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

log = logging.getLogger("chatcrm.webhook")


class CheckedRequestHandler(SimpleRequestHandler):
    answer_within = 10.0

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            return web.Response(text="Unauthorized", status=401)
        try:
            payload = await request.json(loads=bot.session.json_loads)
            update = Update.model_validate(payload, context={"bot": bot})
        except (ValueError, ValidationError, TypeError) as exc:
            log.warning("webhook: a malformed update was refused (%s)", type(exc).__name__)
            return web.Response(text="Bad Request: the body is not a Telegram Update", status=400)
        task = asyncio.create_task(self._feed(bot, update))
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)
        await asyncio.wait({task}, timeout=self.answer_within)  # not cancelled if late
        return web.json_response({})

    __call__ = handle

    async def _feed(self, bot: Bot, update: Update) -> None:
        try:
            result: Any = await self.dispatcher.feed_update(bot, update, **self.data)
        except Exception:  # bot/errors.py answered the user; this is for the operator
            log.exception("update %s failed", update.update_id)
            return
        if isinstance(result, TelegramMethod):
            await self.dispatcher.silent_call_request(bot=bot, result=result)
