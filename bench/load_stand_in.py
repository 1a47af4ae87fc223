"""The Bot API stand-in of bench_load: lean (nothing recorded but counts), and it tells the
load generator the moment an answer reaches a chat.

Every send or edit to a chat resolves the future the generator put in `waiting[chat]`
(the time it arrived, `time.perf_counter()`); answerCallbackQuery, which names no chat,
does not count as the answer. `deliver(update)` posts an update to the webhook the bot
set, with its secret, as Telegram does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter, defaultdict
from typing import Any

import aiohttp
from aiohttp import web

from standins.server import TOKEN, LocalServer, post_update

BOT_USER = {
    "id": int(TOKEN.split(":")[0]),
    "is_bot": True,
    "first_name": "ChatCRM",
    "username": "chatcrm_bench_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class StandIn(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.token = TOKEN
        self.calls: Counter[str] = Counter()
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.last_text: dict[int, str] = {}  # the text that answered, by chat
        self.webhooks: list[tuple[str, str]] = []  # (url, secret) of each setWebhook
        self.webhook_set = asyncio.Event()
        self._ids: defaultdict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    def client(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=30)
        )

    async def deliver(self, update: dict[str, Any]) -> int:
        assert self._http is not None and self.webhooks
        url, secret = self.webhooks[-1]
        return await post_update(self._http, url, secret, update)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        if not request.can_read_body:
            return dict(request.query)
        form = await request.post()
        return {key: value for key, value in form.items() if isinstance(value, str)}

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls[method] += 1
        result: Any = True
        chat = params.get("chat_id")
        if method == "getMe":
            result = BOT_USER
        elif method == "setWebhook":
            self.webhooks.append((str(params["url"]), str(params.get("secret_token", ""))))
            self.webhook_set.set()
        elif method == "getWebhookInfo":
            result = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        elif chat is not None and (method.startswith("send") or method.startswith("edit")):
            chat_id = int(chat)
            if method != "sendChatAction":
                waiter = self.waiting.pop(chat_id, None)
                if waiter is not None and not waiter.done():
                    self.last_text[chat_id] = str(params.get("text") or "")
                    waiter.set_result(time.perf_counter())
                message_id = params.get("message_id")
                result = {
                    "message_id": int(message_id) if message_id else next(self._ids[chat_id]),
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
                    "from": BOT_USER,
                    "text": str(params.get("text") or params.get("caption") or "…"),
                }
        return web.Response(
            text=json.dumps({"ok": True, "result": result}), content_type="application/json"
        )
