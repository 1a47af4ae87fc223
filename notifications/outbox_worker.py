"""The outbox worker: drains the outbox at once and continuously.

Where it runs: in ONE process per database, elected like the scheduler (its own
advisory lock / lock file, `OUTBOX_LOCK_KEY`), so that `SMTP_CONNECTIONS` and `SMTP_RATE`
are what the mail provider really sees however many bot instances run. The claim with a
lease keeps any number of workers safe (tests run two at once), so a second worker would
only be a matter of quotas, and a killed leader's rows come back after the lease.
The other instances only queue: PostgreSQL's NOTIFY (sent in the queuing transaction)
reaches the leader at commit; on SQLite (one host) the leader polls every second.

`drain` claims batches and hands the rows to `connections` lanes, each with its own SMTP
connection, all spaced by one RateLimiter. A lane hands each row the server accepted to
the marker and must see it marked before its next DATA, so at most one accepted-but-
unmarked row per connection exists at any time: a SIGKILL repeats at most `connections`
emails, with their own Message-IDs. The Marker (notifications/outbox_marker.py) writes
the marks of all lanes in one UPDATE when a lane needs its mark, when every connection
has one waiting, or within MARK_WITHIN. Killed
workers' rows are looked for at the first claim of a drain and once per lease renewal
after it. A 4xx fails the row for later, a 5xx for
good; a connection that fails twice in a row (or a refused login) stops the drain: the
rows not sent go back untouched (their attempts given back) and the worker pauses with a
growing backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib

from crm.background import stop_task
from crm.models import utcnow
from crm.services import outbox
from crm.services.outbox import Outgoing
from crm.settings import Settings
from crm.storage import Database
from notifications import smtp
from notifications.email_message import build_message, sender_of
from notifications.outbox_marker import Marker
from notifications.smtp import Failure, RateLimiter, Verdict

log = logging.getLogger(__name__)

OUTBOX_LOCK_KEY = 0x0C4A7C43  # "chatcrm outbox"
POLL_SQLITE = 1.0
POLL_POSTGRES = 5.0
PAUSE_MIN = 2.0
PAUSE_MAX = 300.0

Hook = Callable[[], Awaitable[Any]]


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0  # failed for good in this drain (a 5xx, or the last attempt)
    retried: int = 0  # a transient failure: the row is tried again after its backoff
    released: int = 0  # handed back untouched because the connection failed
    paused: bool = False


def default_batch(connections: int, rate: float | None) -> int:
    """Rows per claim: enough to keep every connection busy between two claims, and no
    more than about five seconds of sending under a rate cap."""
    size = max(200, connections * 50)
    if rate:
        size = min(size, max(connections, int(rate * 5)))
    return size


class OutboxWorker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        connections: int | None = None,
        rate: float | None = None,
        batch: int | None = None,
        lease: timedelta = outbox.LEASE,
        poll_seconds: float | None = None,
        smtp_timeout: float = smtp.SMTP_TIMEOUT,
        pause_min: float = PAUSE_MIN,
        pause_max: float = PAUSE_MAX,
        on_failures: Hook | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.connections = max(1, connections or settings.smtp_connections)
        self.rate = rate if rate is not None else settings.smtp_rate
        self.batch = batch or default_batch(self.connections, self.rate)
        self.lease = lease
        self.poll_seconds = poll_seconds or (
            POLL_POSTGRES if database.dialect == "postgresql" else POLL_SQLITE
        )
        self.smtp_timeout = smtp_timeout
        self.pause_min = pause_min
        self.pause_max = pause_max
        self.on_failures = on_failures
        self.limiter = RateLimiter(self.rate)
        self.paused_until: float | None = None  # time.monotonic()
        self.pause_seconds = pause_min
        self.last_connection_error: str | None = None
        self.last_drain_at: datetime | None = None
        self.total = DeliveryReport()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: Any = None
        self._listen_conn: Any = None

    # ------------------------------------------------------------ one drain

    def _build(self, item: Outgoing) -> Any:
        return build_message(item, self.settings)

    async def drain(self, *, now: datetime | None = None) -> DeliveryReport:
        """Send everything due, batch after batch, until nothing is due or the connection
        fails (the worker is then paused). Does nothing while mail is disabled."""
        report = DeliveryReport()
        if not self.settings.mail_enabled:
            return report
        queue: deque[Outgoing] = deque()
        held: set[int] = set()
        low = max(self.connections, self.batch // 2)
        claim_lock = asyncio.Lock()
        state: dict[str, Any] = {"exhausted": False, "stop": None, "reclaim_at": 0.0}
        marker = Marker(self.database, now, self.connections)

        async def refill() -> None:
            async with claim_lock:
                if state["exhausted"] or state["stop"] is not None or len(queue) > low:
                    return
                # killed workers' rows: looked for at the first claim of a drain, then
                # once per renewal period (so a stuck row waits at most 4/3 of a lease)
                reclaim = time.monotonic() >= state["reclaim_at"]
                items = await outbox.claim(
                    self.database.uow(),
                    limit=self.batch,
                    now=now,
                    lease=self.lease,
                    reclaim=reclaim,
                )
                if reclaim:
                    state["reclaim_at"] = time.monotonic() + self._renew_every()
                report.claimed += len(items)
                report.failed += items.reclaimed.failed  # a killed worker's last attempt
                if not items:
                    state["exhausted"] = True
                held.update(i.id for i in items)
                queue.extend(items)

        prefetch: set[asyncio.Task[None]] = set()

        def claim_ahead() -> None:
            """The next batch is claimed while the lanes send what they have."""
            if prefetch or claim_lock.locked() or state["exhausted"]:
                return
            task = asyncio.create_task(refill())
            prefetch.add(task)
            task.add_done_callback(prefetch.discard)

        async def settle(item: Outgoing, failure: Failure) -> None:
            held.discard(item.id)
            status = await outbox.mark_failed(
                self.database.uow(),
                item.id,
                failure.reason,
                code=failure.code,
                permanent=failure.verdict is Verdict.FAIL,
                now=now or utcnow(),
            )
            if status == "failed":
                report.failed += 1
            else:
                report.retried += 1
            log.warning("email %s to %s: %s", item.id, item.to_addr, failure.reason)

        async def lane() -> None:
            client: aiosmtplib.SMTP | None = None
            # the mark of this lane's last accepted row: awaited before the next DATA, so
            # at most one row per connection is accepted and not yet marked
            previous: asyncio.Future[None] | None = None

            async def marked() -> None:
                nonlocal previous
                if previous is not None:
                    done, previous = previous, None
                    marker.need(done)
                    await done
                    report.sent += 1

            try:
                while state["stop"] is None:
                    if queue and len(queue) <= low:
                        claim_ahead()
                    if not queue and not state["exhausted"] and not claim_lock.locked():
                        await refill()
                    if not queue:
                        if state["exhausted"] or state["stop"] is not None:
                            break
                        async with claim_lock:  # another lane is claiming: wait for it
                            pass
                        if not queue and not state["exhausted"]:
                            await refill()
                        continue
                    item = queue.popleft()
                    await self.limiter.acquire()
                    if state["stop"] is not None:
                        queue.appendleft(item)
                        break
                    client, failure = await self._send(client, item, marked)
                    if failure is None:
                        held.discard(item.id)
                        previous = marker.mark(item.id)
                        continue
                    if failure.verdict is Verdict.CONNECTION:
                        if state["stop"] is not None:  # another lane met it first
                            queue.appendleft(item)
                            break
                        state["stop"] = failure
                        # the first row that met the failure spends its attempt (so a
                        # message that kills every connection still fails in the end);
                        # the others are handed back untouched
                        await settle(item, Failure(Verdict.RETRY, failure.code, failure.reason))
                        break
                    await settle(item, failure)
                await marked()
            except Exception as exc:  # the database: the row stays "sending" (its lease)
                log.exception("outbox: a sent email could not be marked")
                state["stop"] = Failure(Verdict.CONNECTION, None, repr(exc))
            finally:
                await smtp.close(client)

        renewer = asyncio.create_task(self._renew(held, now))
        try:
            await asyncio.gather(*(lane() for _ in range(self.connections)))
        finally:
            for task in list(prefetch):  # a batch claimed after the lanes stopped
                with contextlib.suppress(Exception):
                    await task
            await marker.close()
            await stop_task(renewer)
            stop: Failure | None = state["stop"]
            if stop is not None:
                leftover = [i.id for i in queue if i.id in held]
                try:
                    report.released = await outbox.release(
                        self.database.uow(), leftover, stop.reason
                    )
                except Exception:  # the lease brings them back
                    log.exception("outbox: could not hand back %s rows", len(leftover))
                self._pause(stop)
                report.paused = True
            elif report.sent:
                self.pause_seconds = self.pause_min
                self.last_connection_error = None
        self.last_drain_at = utcnow()
        for name in ("claimed", "sent", "failed", "retried", "released"):
            setattr(self.total, name, getattr(self.total, name) + getattr(report, name))
        return report

    async def _send(
        self,
        client: aiosmtplib.SMTP | None,
        item: Outgoing,
        before_data: Callable[[], Awaitable[None]],
    ) -> tuple[aiosmtplib.SMTP | None, Failure | None]:
        """Send one row; a connection that drops is reopened once. `before_data` runs
        between the envelope and the message. Returns the connection to go on with and
        the failure, if any."""
        try:
            message = self._build(item)
            envelope = sender_of(item, self.settings)[1]
        except Exception as exc:
            return client, Failure(Verdict.RETRY, None, smtp.describe_error(exc, self.settings))
        for attempt in (1, 2):
            if client is None:
                try:
                    client = await smtp.connect(self.settings, self.smtp_timeout)
                except Exception as exc:  # the server cannot be reached or refuses us
                    return None, smtp.classify(exc, self.settings)
            try:
                await smtp.transmit(client, envelope, item.to_addr, message, before_data)
                return client, None
            except Exception as exc:
                failure = smtp.classify(exc, self.settings)
                if failure.verdict is not Verdict.CONNECTION:
                    return client, failure
                client.close()
                client = None
                if attempt == 2:
                    return None, failure
        return client, None  # not reached

    def _renew_every(self) -> float:
        return max(self.lease.total_seconds() / 3, 0.05)

    async def _renew(self, held: set[int], now: datetime | None) -> None:
        every = self._renew_every()
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(Exception):
                await outbox.renew(self.database.uow(), list(held), now=now)

    def _pause(self, failure: Failure) -> None:
        self.paused_until = time.monotonic() + self.pause_seconds
        self.last_connection_error = failure.reason
        log.warning(
            "outbox paused for %.0f s: %s", self.pause_seconds, failure.reason or "no connection"
        )
        self.pause_seconds = min(self.pause_seconds * 2, self.pause_max)

    @property
    def paused(self) -> bool:
        return self.paused_until is not None and time.monotonic() < self.paused_until

    # ------------------------------------------------------------ running

    def wake(self) -> None:
        """Something was queued: drain now (unless paused)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            if self.paused and self.paused_until is not None:
                await asyncio.sleep(max(self.paused_until - time.monotonic(), 0))
            self._wake.clear()
            report: DeliveryReport | None = None
            try:
                report = await self.drain()
            except Exception:
                log.exception("the outbox worker failed")
            if report is not None and report.claimed:
                log.info(
                    "outbox: %s sent, %s failed, %s to retry, %s handed back",
                    report.sent,
                    report.failed,
                    report.retried,
                    report.released,
                )
            if report is not None and report.failed and self.on_failures is not None:
                try:
                    await self.on_failures()
                except Exception:
                    log.exception("telling about failed emails failed")
            if report is not None and report.claimed and not report.paused:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def start(self) -> None:
        outbox.subscribe(self.wake)
        await self._listen()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        outbox.unsubscribe(self.wake)
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
        await self._unlisten()

    async def _listen(self) -> None:
        """PostgreSQL: LISTEN on the outbox channel on a connection of its own."""
        if self.database.dialect != "postgresql" or self._listen_conn is not None:
            return
        try:
            conn = await self.database.engine.connect()
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None

            def heard(*_args: Any) -> None:
                self.wake()

            await driver.add_listener(outbox.NOTIFY_CHANNEL, heard)
        except Exception as exc:  # polling still finds every row
            log.warning("outbox: cannot LISTEN (%s); polling every %s s", exc, self.poll_seconds)
            return
        self._listen_conn, self._listener = conn, heard

    async def _unlisten(self) -> None:
        conn, self._listen_conn = self._listen_conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            raw = await conn.get_raw_connection()
            await raw.driver_connection.remove_listener(outbox.NOTIFY_CHANNEL, self._listener)
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    def health(self) -> dict[str, Any]:
        return {
            "running": self._task is not None and not self._task.done(),
            "paused": self.paused,
            "paused_for": round(max((self.paused_until or 0) - time.monotonic(), 0), 1),
            "last_connection_error": self.last_connection_error,
            "connections": self.connections,
            "rate": self.rate,
        }


async def outbox_health(
    database: Database, worker: OutboxWorker | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """For /healthz, `chatcrm status` and `chatcrm outbox`: counts by state, the backlog
    (queued and due now), rows stuck in "sending" past their lease (a killed worker: they
    go back at the next claim), and this process's worker if it runs one. Not ok while
    rows are stuck."""
    lease = worker.lease if worker is not None else outbox.LEASE
    report = (await outbox.health(database.uow(), now=now, lease=lease)).as_dict()
    if worker is not None:
        report["worker"] = worker.health()
    return {"ok": report["stuck"] == 0, **report}
