"""A local stand-in for the Telegram Bot API, served over HTTP on 127.0.0.1.

    async with BotAPIStub() as stub:                 # listens on a free port
        settings = Settings(bot_token=stub.token, telegram_api_url=stub.url, ...)
        stub.push_update(message_update(ANNA, "/start"))   # the bot long-polls it
        sent = await stub.wait_sent(ANNA.id)               # what the user saw
        stub.fail_next(2, retry_after=1)                   # next 2 calls answer 429

    async with BotAPIStub(limits=TelegramLimits()) as stub:   # Telegram's limits enforced

It answers `POST /bot<token>/<method>` with realistic results (message ids increase per
chat), records every call (`stub.calls`), and serves pushed updates to getUpdates.
For `dp.feed_update(bot, update)` tests, `stub.bot()` gives a Bot pointed at the stub and
`as_update(payload, bot)` turns the dict builders below into aiogram Updates.

Telegram's limits are opt-in (`limits=TelegramLimits(...)`), so that the hundreds of
handler tests, which are not about them, do not wait: per chat a bucket of `chat_burst`
messages refilled at `chat_per_second`, `global_per_second` in any second overall, and
`group_per_minute` in any minute in a group. Over a limit the call answers 429 with
`retry_after`, as Telegram does, and nothing is delivered.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import Update
from aiohttp import web

BOT_ID = 424242
BOT_USERNAME = "chatcrm_test_bot"
TOKEN = f"{BOT_ID}:AAHtestTOKENforTheStandIn_0123456789ab"  # the shape @BotFather gives
TEXT_KEYS = {"text", "caption", "description", "short_description", "name", "title", "url"}


@dataclass(frozen=True)
class TgUser:
    id: int
    first_name: str = "Anna"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "ru"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200  # the HTTP status answered (429, 403 ... when refused)
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200


def counted(method: str) -> bool:
    """The calls Telegram's message limits count: those that put a message in a chat."""
    return method != "sendChatAction" and method.startswith(
        ("send", "edit", "copy", "forward", "stop")
    )


@dataclass
class TelegramLimits:
    """Telegram's limits (Bot FAQ), as the stand-in enforces them when asked to."""

    global_per_second: int = 30
    chat_per_second: float = 1.0
    chat_burst: int = 5  # "short bursts are tolerated"
    group_per_minute: int = 20
    _window: deque[float] = field(default_factory=deque)
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # chat: tokens, at
    _groups: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, chat_id: Any, now: float) -> int | None:
        """None if a message to `chat_id` may go now (and count it), else retry_after."""
        waits: list[float] = []
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self.global_per_second:
            waits.append(self._window[0] + 1.0 - now)
        key = str(chat_id)
        tokens, at = self._buckets.get(key, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - at) * self.chat_per_second)
        if tokens < 1:
            waits.append((1 - tokens) / self.chat_per_second)
        group = self._groups.setdefault(key, deque()) if key.startswith(("-", "@")) else None
        if group is not None:
            while group and group[0] <= now - 60.0:
                group.popleft()
            if len(group) >= self.group_per_minute:
                waits.append(group[0] + 60.0 - now)
        if waits:
            return max(1, math.ceil(max(waits)))
        self._window.append(now)
        self._buckets[key] = (tokens - 1, now)
        if group is not None:
            group.append(now)
        return None


@dataclass
class Sent:
    """Something the user saw in a chat: a new message or an edit of one."""

    method: str
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    params: dict[str, Any]

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        return (self.reply_markup or {}).get("inline_keyboard", [])

    def button(self, text_part: str) -> dict[str, Any]:
        """The first inline button whose text contains `text_part`."""
        for row in self.buttons:
            for button in row:
                if text_part in button["text"]:
                    return button
        raise LookupError(f"no button with {text_part!r} in {self.buttons}")


# --- builders of updates (plain dicts, as Telegram sends them) ------------------------------

_update_ids = itertools.count(1)
_message_ids = itertools.count(10_000)
_callback_ids = itertools.count(1)


def _chat(user: TgUser, chat_id: int | None) -> dict[str, Any]:
    chat = {"id": chat_id or user.id, "type": "private", "first_name": user.first_name}
    if chat_id and chat_id != user.id:
        chat = {"id": chat_id, "type": "group", "title": "Group"}
    return chat


def message_update(
    user: TgUser, text: str | None = None, chat_id: int | None = None, **extra: Any
) -> dict[str, Any]:
    """A message from `user`; `extra` adds fields: contact=..., document=..., forward_origin=..."""
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": _chat(user, chat_id),
        "from": user.as_dict(),
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": next(_update_ids), "message": message}


def callback_update(
    user: TgUser, data: str, message_id: int = 1, chat_id: int | None = None, text: str = "..."
) -> dict[str, Any]:
    """A press on an inline button with `data` under the bot's message `message_id`."""
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_callback_ids)),
            "from": user.as_dict(),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": _chat(user, chat_id),
                "from": _bot_user(),
                "text": text,
            },
        },
    }


def press(user: TgUser, sent: Sent, button_text: str) -> dict[str, Any]:
    """A press on the button of a message the bot sent."""
    button = sent.button(button_text)
    return callback_update(user, button["callback_data"], sent.message_id, sent.chat_id, sent.text)


def contact_update(user: TgUser, phone: str, first_name: str, **contact: Any) -> dict[str, Any]:
    card = {"phone_number": phone, "first_name": first_name, **contact}
    return message_update(user, contact=card)


def as_update(payload: dict[str, Any], bot: Bot) -> Update:
    return Update.model_validate(payload, context={"bot": bot})


def _bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "ChatCRM", "username": BOT_USERNAME}


# --- the server ------------------------------------------------------------------------------


def _decode(key: str, value: str) -> Any:
    if key in TEXT_KEYS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class BotAPIStub:
    def __init__(
        self, token: str = TOKEN, *, limits: TelegramLimits | None = None, port: int = 0
    ) -> None:
        self.token = token
        self.limits = limits
        self.rejected = 0  # 429 answers for going over `limits`
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Condition()
        self._recorded = asyncio.Condition()
        self._message_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._failures: list[dict[str, Any]] = []
        self._blocked: set[int] = set()
        self._shown: dict[tuple[str, str], tuple[Any, str]] = {}
        self._runner: web.AppRunner | None = None
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> BotAPIStub:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> BotAPIStub:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def bot(self) -> Bot:
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.url))
        return Bot(
            self.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )

    # -- what tests tell the stub

    def push_update(self, update: dict[str, Any]) -> None:
        self._updates.append(update)

        async def notify() -> None:
            async with self._new_update:
                self._new_update.notify_all()

        asyncio.get_running_loop().create_task(notify())

    def fail_next(
        self,
        count: int,
        *,
        retry_after: int | None = 1,
        error_code: int = 429,
        description: str | None = None,
        methods: set[str] | None = None,
    ) -> None:
        """The next `count` calls (of `methods`, or any but getUpdates) answer with an error."""
        desc = description or (
            f"Too Many Requests: retry after {retry_after}" if error_code == 429 else "Error"
        )
        for _ in range(count):
            self._failures.append(
                {"code": error_code, "retry_after": retry_after, "desc": desc, "methods": methods}
            )

    def add_file(self, file_id: str, content: bytes, file_path: str | None = None) -> None:
        """A file users sent: getFile answers for `file_id` and its bytes can be downloaded."""
        self.files[file_id] = (file_path or f"documents/{file_id}", content)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sending to them answers 403 Forbidden."""
        self._blocked.add(chat_id)

    # -- what tests read back

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[Sent]:
        result = []
        for call in self.calls:
            params = call.params
            if str(params.get("chat_id")) != str(chat_id) or not (
                call.method.startswith("send") or call.method.startswith("edit")
            ):
                continue
            if call.method == "sendChatAction":
                continue
            result.append(
                Sent(
                    method=call.method,
                    chat_id=int(params["chat_id"]),
                    message_id=int(params.get("message_id") or params.get("_message_id") or 0),
                    text=str(params.get("text") or params.get("caption") or ""),
                    reply_markup=params.get("reply_markup"),
                    params=params,
                )
            )
        return result

    def texts_to(self, chat_id: int) -> list[str]:
        return [s.text for s in self.sent_to(chat_id)]

    def delivered_to(self, chat_id: int) -> list[Sent]:
        """What the user really got: sends and edits the stand-in accepted (not 429/403)."""
        return [s for s in self.sent_to(chat_id) if "_message_id" in s.params]

    def alerts(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.calls_of("answerCallbackQuery")]

    async def wait_for(self, predicate: Any, seconds: float = 10) -> None:
        async def waiting() -> None:
            async with self._recorded:
                await self._recorded.wait_for(predicate)

        await asyncio.wait_for(waiting(), seconds)

    async def wait_sent(self, chat_id: int, count: int = 1, seconds: float = 10) -> list[Sent]:
        """Wait until `count` messages/edits went to the chat in all; returns them all."""
        await self.wait_for(lambda: len(self.sent_to(chat_id)) >= count, seconds)
        return self.sent_to(chat_id)

    async def wait_calls(self, method: str, count: int = 1, seconds: float = 10) -> list[Call]:
        await self.wait_for(lambda: len(self.calls_of(method)) >= count, seconds)
        return self.calls_of(method)

    async def ask(self, update: dict[str, Any], chat_id: int, seconds: float = 10) -> list[Sent]:
        """Push an update and wait for the next thing the bot shows in that chat."""
        before = len(self.sent_to(chat_id))
        self.push_update(update)
        sent = await self.wait_sent(chat_id, before + 1, seconds)
        return sent[before:]

    # -- the HTTP side

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    params[key] = _decode(key, str(value))
        params.update({k: _decode(k, v) for k, v in request.query.items()})
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params, files = await self._params(request)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        failure = self._take_failure(method)
        if failure is None and method.startswith("send") and params.get("chat_id") is not None:
            if int(params["chat_id"]) in self._blocked:
                failure = {"code": 403, "retry_after": None, "desc": "Forbidden: bot was blocked"}
        if failure is None and self.limits is not None and counted(method):
            chat = params.get("chat_id", params.get("inline_message_id"))
            wait = self.limits.admit(chat, time.monotonic())
            if wait is not None:
                self.rejected += 1
                desc = f"Too Many Requests: retry after {wait}"
                failure = {"code": 429, "retry_after": wait, "desc": desc}
        if failure is None and method == "editMessageText" and self._unchanged(params):
            failure = {
                "code": 400,
                "retry_after": None,
                "desc": "Bad Request: message is not modified: specified new message content "
                "and reply markup are exactly the same as a current content and reply markup "
                "of the message",
            }
        call = Call(method, params, files, status=failure["code"] if failure else 200)
        result: Any = None
        if failure is None:
            result = self._result(method, params)
            if isinstance(result, dict) and "message_id" in result:
                params.setdefault("_message_id", result["message_id"])
                if method == "sendMessage":
                    self._shown[(str(params.get("chat_id")), str(result["message_id"]))] = (
                        params.get("text"),
                        json.dumps(params.get("reply_markup"), sort_keys=True),
                    )
        async with self._recorded:
            self.calls.append(call)
            self._recorded.notify_all()
        if failure is not None:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure["code"],
                "description": failure["desc"],
            }
            if failure["retry_after"] is not None and failure["code"] == 429:
                body["parameters"] = {"retry_after": failure["retry_after"]}
            return web.json_response(body, status=failure["code"])
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        """GET /file/bot<token>/<file_path>: the bytes of a file registered with add_file."""
        path = request.match_info["path"]
        found = [c for p, c in self.files.values() if p == path]
        if request.match_info["token"] != self.token or not found:
            return web.Response(status=404, text="Not Found")
        async with self._recorded:
            self.calls.append(Call("download", {"file_path": path}))
            self._recorded.notify_all()
        return web.Response(body=found[0], content_type="application/octet-stream")

    def _unchanged(self, params: dict[str, Any]) -> bool:
        """Telegram refuses an edit that changes nothing; remember what each message shows."""
        key = (str(params.get("chat_id")), str(params.get("message_id")))
        shown = (params.get("text"), json.dumps(params.get("reply_markup"), sort_keys=True))
        if self._shown.get(key) == shown:
            return True
        self._shown[key] = shown
        return False

    def _take_failure(self, method: str) -> dict[str, Any] | None:
        for index, failure in enumerate(self._failures):
            if failure["methods"] is None or method in failure["methods"]:
                return self._failures.pop(index)
        return None

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 2.0)

        def pending() -> list[dict[str, Any]]:
            return [u for u in self._updates if u["update_id"] >= offset]

        async with self._recorded:
            self.calls.append(Call("getUpdates", params))
            self._recorded.notify_all()
        if offset:
            self._updates = pending()  # confirmed updates are gone, as in Telegram
        if not pending() and timeout:
            async with self._new_update:
                try:
                    await asyncio.wait_for(
                        self._new_update.wait_for(lambda: bool(pending())), timeout
                    )
                except TimeoutError:
                    pass
        return pending()[: int(params.get("limit") or 100)]

    def _message(
        self, chat_id: Any, params: dict[str, Any], message_id: int | None = None
    ) -> dict[str, Any]:
        chat = int(chat_id) if str(chat_id).lstrip("-").isdigit() else 0
        message: dict[str, Any] = {
            "message_id": message_id or next(self._message_ids[chat]),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private" if chat > 0 else "group", "title": "chat"},
            "from": _bot_user(),
        }
        if "text" in params:
            message["text"] = params["text"]
        if "caption" in params:
            message["caption"] = params["caption"]
        if (
            isinstance(params.get("reply_markup"), dict)
            and "inline_keyboard" in params["reply_markup"]
        ):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        if method == "getFile":
            path, content = self.files.get(str(params.get("file_id")), ("", b""))
            return {
                "file_id": params.get("file_id"),
                "file_unique_id": f"u-{params.get('file_id')}",
                "file_size": len(content),
                "file_path": path,
            }
        if method == "getMe":
            return {
                **_bot_user(),
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method == "sendPhoto":
            message = self._message(chat_id, params)
            message["photo"] = [
                {"file_id": "photo1", "file_unique_id": "p1", "width": 800, "height": 600}
            ]
            return message
        if method == "sendDocument":
            message = self._message(chat_id, params)
            message["document"] = {"file_id": "doc1", "file_unique_id": "d1", "file_name": "file"}
            return message
        if method.startswith("send") and method != "sendChatAction":
            return self._message(chat_id, params)
        if method.startswith("edit"):
            if params.get("inline_message_id"):
                return True
            return self._message(chat_id, params, int(params.get("message_id") or 1))
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return True  # answerCallbackQuery, setMyCommands, deleteWebhook, setWebhook, ...
