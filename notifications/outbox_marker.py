"""Marking accepted emails sent, several at a time, on a connection of its own.

A lane of the outbox worker hands each row the server accepted to the Marker and must
see it marked before its next DATA: at most one accepted and unmarked row per SMTP
connection, so a SIGKILL repeats at most `connections` emails. An UPDATE runs when a
lane `need`s a mark not yet written, when every connection has one waiting, or
MARK_WITHIN after a mark was asked for (lanes slowed by SMTP_RATE); it takes every mark
waiting, and the marks asked for while it runs go in the next one.

Writing each mark at once instead (while its lane builds the next message and sends
MAIL and RCPT) made about one statement per email: more CPU per email on both
databases and no faster on PostgreSQL (bench/bench_outbox.py, measured on a loaded
machine). The statement itself goes to the driver directly (SentMarks).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from crm.models import utcnow
from crm.services.outbox import SentMarks
from crm.storage import Database

MARK_WITHIN = 0.005  # seconds: the longest a mark waits for its statement to start


class Marker:
    def __init__(self, database: Database, now: datetime | None, connections: int) -> None:
        self.database = database
        self.now = now
        self.full = max(connections, 1)
        self.waiting: list[tuple[int, asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.marks: SentMarks | None = None

    def mark(self, email_id: int) -> asyncio.Future[None]:
        """The row was accepted; the future is done once it is marked sent."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self.waiting.append((email_id, future))
        if len(self.waiting) >= self.full:
            self._start()
        elif self.timer is None:
            self.timer = loop.call_later(MARK_WITHIN, self._start)
        return future

    def need(self, future: asyncio.Future[None]) -> None:
        """A lane waits for this mark before its DATA: write it now if not under way."""
        if not future.done():
            self._start()

    def _start(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.task is None and self.waiting:
            self.task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    if self.marks is None:
                        self.marks = await SentMarks.open(self.database.engine)
                    await self.marks.mark([i for i, _f in batch], self.now or utcnow())
                except Exception as exc:
                    for _i, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _i, future in batch:
                        if not future.done():
                            future.set_result(None)
        finally:
            self.task = None

    async def close(self) -> None:
        """Write the marks still waiting (a lane that stopped without waiting for its
        last one), then close the connection."""
        self._start()
        while self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
        if self.marks is not None:
            with contextlib.suppress(Exception):
                await self.marks.close()
            self.marks = None
