"""A real SMTP server for the outbox tests (aiosmtpd in a thread on 127.0.0.1) that can
refuse recipients with any reply, drop a connection, go slowly, and tell which
connections were open at once."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Handler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.envelopes: list[Any] = []
        self.accepted_at: list[float] = []
        self.peers: set[Any] = set()
        self.refuse: dict[str, str] = {}  # address -> reply to RCPT TO
        self.drop_after: set[int] = set()  # drop the connection at the n-th DATA (1-based)
        self.delay = 0.0
        self.open = 0
        self.most_open = 0
        self.datas = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.lock:
            if session.peer not in self.peers:
                self.peers.add(session.peer)
                self.open += 1
                self.most_open = max(self.most_open, self.open)
        return responses

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.open -= 1
        return "221 Bye"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.datas += 1
            n = self.datas
        if n in self.drop_after:
            server.transport.close()
            return "421 dropped"
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.envelopes.append(envelope)
            self.accepted_at.append(time.monotonic())
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = Handler()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            contents = [e.content for e in self.handler.envelopes]
        return [message_from_bytes(c, policy=policy.default) for c in contents]  # type: ignore[misc]

    @property
    def recipients(self) -> list[str]:
        with self.handler.lock:
            return [r for e in self.handler.envelopes for r in e.rcpt_tos]

    def count(self) -> int:
        with self.handler.lock:
            return len(self.handler.envelopes)
