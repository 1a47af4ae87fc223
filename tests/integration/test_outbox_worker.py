"""The outbox worker against a real SMTP server (aiosmtpd): wake-up, the connection
pool and the rate cap, 4xx and 5xx replies, a dropped connection, a sender killed with
SIGKILL mid-batch."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from crm.models import OutboundEmail
from crm.services import event_failures, events, outbox
from crm.services.event_failures import FailureNotice
from crm.services.events import EventInput, Segment
from crm.settings import Settings
from crm.storage import Database
from notifications.outbox_worker import OutboxWorker
from tests.fixtures import factories
from tests.fixtures.events import BASE, NOW, company, contact
from tests.fixtures.smtp_server import SmtpServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer().start()
    yield smtp
    smtp.stop()


def settings_for(port: int, **kwargs: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": False,
        "smtp_from": "Events <events@example.com>",
        **kwargs,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def queue_emails(db: Database, n: int, prefix: str = "m") -> None:
    async with db.uow() as uow:
        for i in range(n):
            await outbox.queue(
                uow,
                dedupe_key=f"{prefix}:{i}",
                to_addr=f"{prefix}{i}@example.com",
                subject=f"Hello {i}",
                body_text="Hello",
                kind="test",
                domain="example.com",
            )
        await uow.commit()


async def rows(db: Database) -> dict[str, OutboundEmail]:
    async with db.uow() as uow:
        return {r.to_addr: r for r in await uow.session.scalars(select(OutboundEmail))}


async def wait_for(predicate: Any, seconds: float = 10.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > seconds:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def test_queuing_wakes_the_worker(db, server):
    """The poll is 30 s: only the wake-up explains an email within 2 s."""
    worker = OutboxWorker(db, settings_for(server.port), poll_seconds=30)
    await worker.start()
    try:
        await asyncio.sleep(0.2)  # the worker is idle, waiting
        queued_at = time.monotonic()
        await queue_emails(db, 1)
        await wait_for(lambda: server.count() == 1, 5)
        assert server.handler.accepted_at[0] - queued_at <= 2.0
    finally:
        await worker.stop()


@pytest.mark.postgres
async def test_another_instance_wakes_the_worker_through_notify(postgres_url, server):
    db = Database.from_url(postgres_url)
    other = Database.from_url(postgres_url)
    worker = OutboxWorker(db, settings_for(server.port), poll_seconds=30)
    await worker.start()
    outbox.unsubscribe(worker.wake)  # as if the email were queued in another process
    try:
        await asyncio.sleep(0.2)
        queued_at = time.monotonic()
        await queue_emails(other, 1, prefix="notify")
        await wait_for(lambda: "notify0@example.com" in server.recipients, 5)
        assert server.handler.accepted_at[-1] - queued_at <= 2.0
    finally:
        await worker.stop()
        await other.dispose()
        await db.dispose()


async def test_a_pool_of_connections_sends_every_row_once(db, server):
    server.handler.delay = 0.01  # each connection is busy a while: the pool fills
    await queue_emails(db, 60)
    worker = OutboxWorker(db, settings_for(server.port, smtp_connections=4), batch=25)
    report = await worker.drain()
    assert (report.claimed, report.sent, report.failed, report.retried) == (60, 60, 0, 0)
    assert sorted(server.recipients) == sorted(f"m{i}@example.com" for i in range(60))
    assert len(server.handler.peers) == 4 and server.handler.most_open == 4
    ids = [m["Message-ID"] for m in server.messages]
    assert len(set(ids)) == 60
    stored = await rows(db)
    assert {r.status for r in stored.values()} == {"sent"}
    by_address = {m["To"]: m["Message-ID"] for m in server.messages}
    assert all(by_address[a] == r.message_id for a, r in stored.items())


async def test_the_rate_cap_spaces_the_sends(db, server):
    await queue_emails(db, 21)
    settings = settings_for(server.port, smtp_connections=4, smtp_rate=20)
    report = await OutboxWorker(db, settings).drain()
    assert report.sent == 21
    times = sorted(server.handler.accepted_at)
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 18 <= rate <= 21


async def test_4xx_is_retried_later_and_5xx_fails_at_once_with_the_reason(db, server):
    await queue_emails(db, 4)
    server.handler.refuse = {
        "m1@example.com": "451 4.3.0 Mailbox busy, try later",
        "m2@example.com": "550 5.1.1 No such mailbox",
    }
    worker = OutboxWorker(db, settings_for(server.port), pause_min=0)
    report = await worker.drain()
    assert (report.sent, report.retried, report.failed, report.paused) == (2, 1, 1, False)
    stored = await rows(db)
    busy, gone = stored["m1@example.com"], stored["m2@example.com"]
    assert (busy.status, busy.attempts, busy.error_code) == ("pending", 1, 451)
    assert busy.next_attempt_at is not None and "Mailbox busy" in (busy.last_error or "")
    assert (gone.status, gone.attempts, gone.error_code) == ("failed", 1, 550)
    assert gone.last_error == "550 5.1.1 No such mailbox"
    assert sorted(server.recipients) == ["m0@example.com", "m3@example.com"]
    # the busy mailbox takes it a minute later, with the same Message-ID
    server.handler.refuse = {}
    later = busy.next_attempt_at + timedelta(seconds=1)
    assert (await worker.drain(now=later)).sent == 1
    resent = [m for m in server.messages if m["To"] == "m1@example.com"]
    assert [m["Message-ID"] for m in resent] == [busy.message_id]
    assert (await rows(db))["m2@example.com"].status == "failed"


async def test_a_dropped_connection_is_reopened_and_nothing_is_lost(db, server):
    server.handler.drop_once = {"m2@example.com", "m6@example.com"}
    await queue_emails(db, 10)
    report = await OutboxWorker(db, settings_for(server.port, smtp_connections=2)).drain()
    assert (report.sent, report.failed, report.retried, report.paused) == (10, 0, 0, False)
    assert sorted(server.recipients) == sorted(f"m{i}@example.com" for i in range(10))
    assert {(r.status, r.attempts) for r in (await rows(db)).values()} == {("sent", 1)}


async def test_a_server_that_goes_away_pauses_the_outbox(db, server):
    await queue_emails(db, 6)
    worker = OutboxWorker(db, settings_for(server.port), pause_min=5)
    server.stop()
    report = await worker.drain()
    assert report.paused and worker.paused and report.sent == 0
    # one attempt was spent (the row that met the failure), the rest handed back untouched
    assert (report.retried, report.released) == (1, 5)
    assert worker.last_connection_error and "SMTPConnectError" in worker.last_connection_error
    health = await outbox.health(db.uow())
    assert health.counts == {"pending": 6} and health.stuck == 0


SENDER = """
import asyncio, sys
from datetime import timedelta
from crm.settings import Settings
from crm.storage import Database
from notifications.outbox_worker import OutboxWorker

async def main(url, port, lease):
    db = Database.from_url(url)
    settings = Settings(_env_file=None, smtp_host="127.0.0.1", smtp_port=port,
                        smtp_tls=False, smtp_from="x@example.com", smtp_connections=4)
    worker = OutboxWorker(db, settings, batch=50, lease=timedelta(seconds=lease))
    while (await worker.drain()).claimed:
        pass
    await db.dispose()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
"""


def sender(url: str, port: int, lease: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", SENDER, url, str(port), str(lease)], cwd=ROOT, env=env
    )


async def test_a_killed_sender_repeats_at_most_the_emails_in_flight(db, server):
    server.handler.delay = 0.01
    total = 200
    await queue_emails(db, total)
    url = db.engine.url.render_as_string(hide_password=False)
    first = sender(url, server.port, lease=1.0)
    try:
        await wait_for(lambda: server.count() >= 40, 30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert server.count() < total  # killed mid-batch
    await asyncio.sleep(1.2)  # the dead sender's lease runs out
    second = sender(url, server.port, lease=1.0)
    try:
        assert await asyncio.to_thread(second.wait, 60) == 0
    finally:
        if second.poll() is None:
            second.kill()
    received = Counter(server.recipients)
    assert set(received) == {f"m{i}@example.com" for i in range(total)}
    repeats = sum(n - 1 for n in received.values())
    assert repeats <= 4  # the connections of the killed sender
    ids: dict[str, set[str]] = {}
    for message in server.messages:
        ids.setdefault(str(message["To"]), set()).add(str(message["Message-ID"]))
    assert all(len(v) == 1 for v in ids.values())
    assert {r.status for r in (await rows(db)).values()} == {"sent"}


async def test_a_killed_workers_last_attempt_fails_and_the_manager_is_told(db, server):
    """A row left in "sending" with no attempt left fails when its lease runs out, and the
    worker calls its failures hook for it (the notice to the event's responsible manager)."""
    anna = await factories.staff(db, name="Anna", language="en")
    firm = await company(db, anna, "Steel")
    await contact(db, anna, "Ivan", "ivan@steel.example", firm.id)
    view = await events.create(
        db.uow(), anna, EventInput(title="Seminar", when="05.03 15:00"), now=NOW
    )
    await events.add_invitees(db.uow(), anna, view.event.id, Segment(), now=NOW)
    await events.send_invitations(
        db.uow(), anna, view.event.id, base_url=BASE, sender="events@example.com", now=NOW
    )
    async with db.uow() as uow:
        await uow.session.execute(
            update(OutboundEmail).values(
                status="sending", attempts=outbox.MAX_ATTEMPTS, claimed_at=NOW
            )
        )
        await uow.commit()
    told: list[FailureNotice] = []

    async def failures() -> None:
        told.extend(await event_failures.claim_notices(db.uow()))

    worker = OutboxWorker(db, settings_for(server.port), poll_seconds=30, on_failures=failures)
    await worker.start()
    try:
        await wait_for(lambda: bool(told), 5)
    finally:
        await worker.stop()
    [row] = (await rows(db)).values()
    assert (row.status, row.last_error) == ("failed", outbox.INTERRUPTED)
    assert [(n.event_id, n.failed, n.title) for n in told] == [(view.event.id, 1, "Seminar")]
    assert server.count() == 0  # nothing was sent again
