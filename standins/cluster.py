"""Several real `chatcrm run` processes in webhook mode behind a round-robin front, for the
tests (tests/fixtures/cluster.py adds `deliver` through the test stand-in) and bench_load.

    async with BotAPIStub() as stub, Balancer() as front:
        env = instance_env(stub, postgres_url, redis_url, front.url + "/tg/hook")
        a = await Instance(env, log_dir, "a").start()          # waits for /readyz
        b = await Instance(env, log_dir, "b").start()
        front.backends = [a.base, b.base]

`Balancer` is what nginx's `upstream` does in deploy/nginx/chatcrm.conf: each request to
the next backend in turn, and to the following one when a backend refuses the connection
(`proxy_next_upstream error`). `Instance` is one `chatcrm run` subprocess: started, waited
for on /readyz, scraped on /metrics, killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
import time
from pathlib import Path
from typing import Protocol

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from standins.server import LocalServer, free_port

RUN = ("-c", "from bot.cli import main; main()", "run")  # `chatcrm run`, this interpreter
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class BotAPI(Protocol):
    """A Bot API stand-in the bot is pointed at: its token and its base URL."""

    token: str

    @property
    def url(self) -> str: ...


def instance_env(
    stub: BotAPI, database_url: str, redis_url: str | None, webhook_url: str, **more: str
) -> dict[str, str]:
    """The environment of `chatcrm run` against the stand-in (no `.env` of the developer's)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        BOT_TOKEN=stub.token,
        TELEGRAM_API_URL=stub.url,
        DATABASE_URL=database_url,
        WEBHOOK_URL=webhook_url,
        HTTP_HOST="127.0.0.1",
        ADMIN_IDS="9001",
        PUBLIC_BASE_URL="http://127.0.0.1:1",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(more)
    return env


class Instance:
    """One `chatcrm run` process on a free port of 127.0.0.1."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        name: str,
        argv: tuple[str, ...] = RUN,
    ) -> None:
        self.argv = argv
        self.port = free_port()
        self.env = {**env, "HTTP_PORT": str(self.port)}
        self.log = log_dir / f"{name}.log"
        self.name = name
        self.process: asyncio.subprocess.Process | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, seconds: float = 120) -> Instance:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.argv,
                env=self.env,
                stdout=log,
                stderr=log,
                cwd=str(self.log.parent),  # no .env of the repository is read
            )
        await self.wait_ready(seconds)
        return self

    async def wait_ready(self, seconds: float) -> None:
        """Until /readyz answers 200 (database, Redis and the Bot API reachable)."""
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited: {self.tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(self.base + "/readyz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready in {seconds} s: {self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """GET /metrics parsed: {(sample name, sorted labels): value}."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.get(self.base + "/metrics") as response,
        ):
            assert response.status == 200, await response.text()
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await response.text()
        return parse_metrics(text)

    async def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(sig)
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, as systemd stops it; SIGKILL if it does not go within 10 s."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            await self.kill()


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class Balancer(LocalServer):
    """A round-robin reverse proxy on 127.0.0.1 (what nginx's upstream block does)."""

    def __init__(self, backends: list[str] | None = None) -> None:
        super().__init__()
        self.backends = list(backends or [])
        self.served: list[str] = []  # the backend of each request, in order
        self._turn = itertools.count()

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{path:.*}", self._proxy)

    async def _proxy(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        first = next(self._turn)
        for attempt in range(len(self.backends)):
            backend = self.backends[(first + attempt) % len(self.backends)]
            try:
                async with self._http.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as answer:
                    payload = await answer.read()
                    self.served.append(backend)
                    return web.Response(
                        body=payload,
                        status=answer.status,
                        content_type=answer.content_type,
                    )
            except aiohttp.ClientConnectionError:
                continue  # that backend is down: the next one (proxy_next_upstream error)
        return web.Response(status=502, text="no backend answers")
