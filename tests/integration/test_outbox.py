"""The outbox worker against a REAL SMTP server (aiosmtpd on 127.0.0.1): delivery with
both RSVP links and the .ics, SMTP down and back, two workers at once, opted-out
recipients, a crashed worker's rows, mail disabled."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from crm.models import Contact, EventInvitee, OutboundEmail
from crm.services import events, outbox
from crm.services.events import EventInput, Segment
from crm.settings import Settings
from crm.storage import Database
from notifications import email as mailer
from tests.fixtures import factories
from tests.fixtures.events import company, contact

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
BASE = "https://crm.example.com"


class Collector:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Smtp:
    def __init__(self) -> None:
        self.port = free_port()
        self.handler = Collector()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[Any]:
        return [
            message_from_bytes(e.content, policy=policy.default) for e in self.handler.envelopes
        ]

    @property
    def recipients(self) -> list[str]:
        return [r for e in self.handler.envelopes for r in e.rcpt_tos]


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    yield server
    server.stop()


def settings_for(port: int, **kwargs: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": False,
        "smtp_from": "Events <events@example.com>",
        "public_base_url": BASE,
        **kwargs,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def queued_invitations(db: Database, people: int = 3) -> tuple[int, list[EventInvitee]]:
    anna = await factories.staff(db, name="Anna", language="en")
    firm = await company(db, anna, "Steel", stage="regular")
    for n in range(people):
        await contact(db, anna, f"Client {n}", f"client{n}@steel.example", firm.id)
    view = await events.create(
        db.uow(), anna, EventInput(title="Seminar", when="05.03 15:00", place="Hall A"), now=NOW
    )
    await events.add_invitees(db.uow(), anna, view.event.id, Segment(), now=NOW)
    result = await events.send_invitations(
        db.uow(), anna, view.event.id, base_url=BASE, sender="events@example.com", now=NOW
    )
    assert result.queued == people
    async with db.uow() as uow:
        invitees = list(await uow.session.scalars(select(EventInvitee).order_by(EventInvitee.id)))
    return view.event.id, invitees


async def rows(db: Database) -> list[OutboundEmail]:
    async with db.uow() as uow:
        return list(await uow.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))


async def test_an_invitation_arrives_with_both_links_and_the_ics(db, smtp):
    _event_id, invitees = await queued_invitations(db, people=1)
    report = await mailer.deliver_due(db, settings_for(smtp.port), now=NOW)
    assert (report.claimed, report.sent, report.failed) == (1, 1, 0)
    assert smtp.recipients == ["client0@steel.example"]
    msg = smtp.messages[0]
    token = invitees[0].token
    assert msg["Subject"] == "Invitation: Seminar"
    assert str(msg["List-Unsubscribe"]).strip() == f"<{BASE}/unsubscribe/{token}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/mixed"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert f"{BASE}/rsvp/{token}/yes" in body and f"{BASE}/rsvp/{token}/no" in body
    calendar_parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(calendar_parts) == 1
    assert calendar_parts[0].get_param("method") == "REQUEST"
    assert "BEGIN:VEVENT" in calendar_parts[0].get_content()
    attachments = [p.get_filename() for p in msg.iter_attachments()]
    assert attachments == ["invitation.ics"]
    (row,) = await rows(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None and row.claimed_at == NOW and row.next_attempt_at is None
    # nothing is sent twice
    assert (await mailer.deliver_due(db, settings_for(smtp.port), now=NOW)).claimed == 0
    assert len(smtp.handler.envelopes) == 1


async def test_smtp_down_then_back_delivers_each_email_once(db):
    server = Smtp()  # its port is free: nothing listens yet
    await queued_invitations(db, people=2)
    settings = settings_for(server.port, smtp_user="crm", smtp_password="s3cret-pw")
    report = await mailer.deliver_due(db, settings, now=NOW, smtp_timeout=5)
    assert (report.sent, report.failed) == (0, 2)
    for row in await rows(db):
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error and "s3cret-pw" not in row.last_error
        # the backoff after the first failure is a minute; a row not sent has no sent_at
        assert row.next_attempt_at == NOW + outbox.BACKOFF[0]
        assert (row.claimed_at, row.sent_at) == (NOW, None)
    # the backoff: not retried at once
    assert (await mailer.deliver_due(db, settings, now=NOW + timedelta(seconds=30))).claimed == 0
    server.start()
    try:
        later = NOW + timedelta(minutes=2)
        report = await mailer.deliver_due(db, settings_for(server.port), now=later)
        assert report.sent == 2
        assert await mailer.deliver_due(db, settings_for(server.port), now=later) == (
            mailer.DeliveryReport()
        )
    finally:
        server.stop()
    assert sorted(server.recipients) == ["client0@steel.example", "client1@steel.example"]
    assert {(r.status, r.attempts) for r in await rows(db)} == {("sent", 2)}


async def test_an_email_fails_for_good_after_five_attempts(db):
    server = Smtp()
    await queued_invitations(db, people=1)
    settings = settings_for(server.port)
    moment = NOW
    for attempt in range(1, 6):
        report = await mailer.deliver_due(db, settings, now=moment, smtp_timeout=5)
        assert report.failed == 1, attempt
        if attempt < 5:
            (row,) = await rows(db)
            assert row.next_attempt_at == moment + outbox.backoff(attempt)
            # just before the backoff is over the row waits
            early = row.next_attempt_at - timedelta(seconds=1)
            assert (await mailer.deliver_due(db, settings, now=early)).claimed == 0
            moment = row.next_attempt_at
    (row,) = await rows(db)
    assert (row.status, row.attempts) == ("failed", 5)
    assert (row.claimed_at, row.next_attempt_at, row.sent_at) == (moment, None, None)
    assert (await mailer.deliver_due(db, settings, now=moment + timedelta(days=1))).claimed == 0


async def test_two_workers_at_once_send_each_email_once(db, smtp):
    await queued_invitations(db, people=6)
    other = Database.from_url(db.engine.url.render_as_string(hide_password=False))
    try:
        settings = settings_for(smtp.port)
        sent = 0
        for _round in range(4):  # a worker that lost every race claims nothing this round
            reports = await asyncio.gather(
                mailer.deliver_due(db, settings, now=NOW, batch=2),
                mailer.deliver_due(other, settings, now=NOW, batch=2),
                mailer.deliver_due(db, settings, now=NOW, batch=2),
                mailer.deliver_due(other, settings, now=NOW, batch=2),
            )
            sent += sum(r.sent for r in reports)
            assert sum(r.failed for r in reports) == 0
    finally:
        await other.dispose()
    assert sent == 6
    assert sorted(smtp.recipients) == sorted(f"client{n}@steel.example" for n in range(6))
    assert {r.status for r in await rows(db)} == {"sent"}


async def test_an_opted_out_recipient_never_receives(db, smtp):
    _event_id, invitees = await queued_invitations(db, people=2)
    await events.unsubscribe(db.uow(), invitees[0].token)  # after the email was queued
    report = await mailer.deliver_due(db, settings_for(smtp.port), now=NOW)
    assert report.sent == 1
    assert smtp.recipients == ["client1@steel.example"]
    statuses = {r.to_addr: (r.status, r.last_error) for r in await rows(db)}
    assert statuses["client0@steel.example"] == ("failed", outbox.OPTED_OUT)


async def test_a_row_stuck_in_sending_goes_back_to_pending(db, smtp):
    await queued_invitations(db, people=1)
    async with db.uow() as uow:
        await uow.session.execute(
            update(OutboundEmail).values(status="sending", attempts=1, claimed_at=NOW)
        )
        await uow.commit()
    settings = settings_for(smtp.port)
    assert (await mailer.deliver_due(db, settings, now=NOW + timedelta(minutes=5))).claimed == 0
    report = await mailer.deliver_due(db, settings, now=NOW + timedelta(minutes=11))
    assert report.sent == 1
    (row,) = await rows(db)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_mail_disabled_rows_wait(db):
    await queued_invitations(db, people=1)
    settings = Settings(_env_file=None, smtp_host=None)  # type: ignore[call-arg]
    assert await mailer.deliver_due(db, settings, now=NOW) == mailer.DeliveryReport()
    (row,) = await rows(db)
    assert (row.status, row.attempts) == ("pending", 0)


async def test_queue_is_deduplicated(db):
    async with db.uow() as uow:
        first = await outbox.queue(
            uow, dedupe_key="k1", to_addr="a@b.c", subject="s", body_text="t"
        )
        second = await outbox.queue(
            uow, dedupe_key="k1", to_addr="a@b.c", subject="s", body_text="t"
        )
        await uow.commit()
    assert (first, second) == (True, False)
    assert len(await rows(db)) == 1


async def test_contacts_still_opted_in_stay_so(db, smtp):
    _event_id, invitees = await queued_invitations(db, people=1)
    async with db.uow() as uow:
        person = await uow.session.get(Contact, invitees[0].contact_id)
        assert person is not None and not person.email_opt_out


class FakeScheduler:
    def __init__(self) -> None:
        self.jobs: dict[str, tuple[Any, float]] = {}

    def add_periodic(self, job_id: str, job: Any, seconds: float) -> None:
        self.jobs[job_id] = (job, seconds)


async def test_the_worker_joins_the_leaders_scheduler_every_30_seconds(db, smtp):
    from types import SimpleNamespace

    from aiogram import Dispatcher

    from bot.app import create_dispatcher

    dp = create_dispatcher(Settings(_env_file=None), db)  # type: ignore[call-arg]
    assert any(h.callback is mailer.on_startup for h in dp.startup.handlers)
    scheduler = FakeScheduler()
    own = Dispatcher()
    own["reminders"] = SimpleNamespace(scheduler=scheduler)
    await queued_invitations(db, people=1)
    await mailer.on_startup(own, db, settings_for(smtp.port))
    job, seconds = scheduler.jobs[mailer.OUTBOX_JOB]
    assert seconds == 30
    await job()  # the job sends what is due now
    assert smtp.recipients == ["client0@steel.example"]


async def test_migration_0003_carries_the_attempt_times_over_and_back(db):
    """Rows written under 0002 (last attempt in sent_at) keep their meaning under 0003."""
    import sqlalchemy as sa

    from crm.migrate import downgrade, upgrade
    from crm.models.base import UTCDateTime

    table = sa.table(
        "outbound_emails",
        *(sa.column(c) for c in ("id", "dedupe_key", "to_addr", "subject", "body_text")),
        *(sa.column(c) for c in ("status", "attempts")),
        *(sa.column(c, UTCDateTime()) for c in ("created_at", "sent_at")),
    )
    old = {  # id: (status, attempts, sent_at under 0002)
        1: ("pending", 0, None),
        2: ("pending", 2, NOW),  # failed twice, last attempt at NOW
        3: ("sending", 1, NOW),
        4: ("sent", 1, NOW + timedelta(minutes=1)),
    }
    await downgrade(db.engine, "0002")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.insert(table),
                [
                    {
                        "id": i,
                        "dedupe_key": f"k{i}",
                        "to_addr": "a@b.c",
                        "subject": "s",
                        "body_text": "t",
                        "status": status,
                        "attempts": attempts,
                        "created_at": NOW,
                        "sent_at": sent_at,
                    }
                    for i, (status, attempts, sent_at) in old.items()
                ],
            )
    finally:
        await upgrade(db.engine, "head")
    now = {r.id: (r.next_attempt_at, r.claimed_at, r.sent_at) for r in await rows(db)}
    assert now == {
        1: (None, None, None),
        2: (NOW + outbox.backoff(2), NOW, None),
        3: (None, NOW, None),
        4: (None, None, NOW + timedelta(minutes=1)),
    }
    # and back: the last claim is the last attempt again
    await downgrade(db.engine, "0002")
    try:
        async with db.engine.connect() as conn:
            back = dict((await conn.execute(sa.select(table.c.id, table.c.sent_at))).all())
    finally:
        await upgrade(db.engine, "head")
    assert back == {i: sent_at for i, (_s, _a, sent_at) in old.items()}
