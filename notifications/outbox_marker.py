"""Marking accepted emails sent, as soon as possible and several at a time.

A lane of the outbox worker hands each row the server accepted to the Marker and must
see it marked before its next DATA: at most one accepted and unmarked row per SMTP
connection, so a SIGKILL repeats at most `connections` emails. The Marker writes at once
when it is idle, and while an UPDATE runs the marks asked for meanwhile wait for the
next one, which takes them all (the way a database groups commits). So the mark of a
row is under way while its lane builds the next message and sends MAIL and RCPT, and
it is rarely still running when the lane reaches DATA.

Before, a mark waited until its lane needed it (or every connection had one waiting,
or 5 ms): each lane then sat through a whole round trip to the database for every
email, most of (c)'s time in bench/bench_outbox.py on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from crm.models import utcnow
from crm.services.outbox import SentMarks
from crm.storage import Database


class Marker:
    def __init__(self, database: Database, now: datetime | None) -> None:
        self.database = database
        self.now = now
        self.waiting: list[tuple[int, asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None
        self.marks: SentMarks | None = None
        self.statements = 0  # how many UPDATEs (for the bench)

    def mark(self, email_id: int) -> asyncio.Future[None]:
        """The row was accepted; the future is done once it is marked sent."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self.waiting.append((email_id, future))
        if self.task is None:
            self.task = loop.create_task(self._flush())
        return future

    async def _flush(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    if self.marks is None:
                        self.marks = await SentMarks.open(self.database.engine)
                    await self.marks.mark([i for i, _f in batch], self.now or utcnow())
                    self.statements += 1
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
        """Wait for the marks under way (a lane that stopped without waiting for its
        last one), then close the connection."""
        while self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
        if self.marks is not None:
            with contextlib.suppress(Exception):
                await self.marks.close()
            self.marks = None
