"""A small aiohttp server on a free port of 127.0.0.1, with a client session of its own:
the base of the benchmark's Bot API stand-in and of the round-robin front. `post_update`
posts an update to the webhook a bot set, with its secret, as Telegram does; `TOKEN` is
the bot token both stand-ins take."""

from __future__ import annotations

import socket
from typing import Any, Self

import aiohttp
from aiohttp import web

BOT_ID = 424242  # the bot the stand-ins answer for (tests/fixtures/botapi_stub.py, bench/)
TOKEN = f"{BOT_ID}:AAHtestTOKENforTheStandIn_0123456789ab"  # the shape @BotFather gives


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """`async with` it: it listens on a free port of 127.0.0.1 (`url`) and has an HTTP
    client (`_http`) until it is left. A subclass adds its routes in `routes`."""

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def client(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def __aenter__(self) -> Self:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._http = self.client()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()


async def post_update(
    http: aiohttp.ClientSession, url: str, secret: str, update: dict[str, Any]
) -> int:
    """POST `update` to a bot's webhook `url` with its `secret`; the HTTP status."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with http.post(url, json=update, headers=headers) as answer:
        await answer.read()
        return answer.status
