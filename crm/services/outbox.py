"""The outbox: every email is a row first, then sent.

`queue` writes a row inside the caller's transaction (its `dedupe_key` is unique, so
queuing the same email twice writes nothing the second time) with a Message-ID of its own
that every attempt carries. Once that transaction commits, the worker is woken: in this
process through `subscribe` callbacks, in the others through PostgreSQL's NOTIFY on
NOTIFY_CHANNEL (SQLite has no such thing: the worker there polls every second).

The worker (notifications/outbox_worker.py):

1. `claim`: in one transaction, puts back rows whose lease ran out (a worker was killed
   mid-send: `claimed_at` older than the lease), and claims a batch of due rows with a
   conditional UPDATE (pending → sending, attempts + 1; PostgreSQL: FOR UPDATE SKIP
   LOCKED), so two workers never claim the same row. Rows of a recipient who opted out
   meanwhile are failed instead of claimed. A live worker `renew`s the lease of the rows
   it still holds.
2. sends each row and records the outcome at once: `mark_sent_on` (many rows in one
   statement, its SQL written once: the worker runs hundreds a second), `mark_failed` (a
   4xx: back to pending with the backoff for its attempts, failed after MAX_ATTEMPTS; a 5xx:
   `permanent`, failed now, with the server's code and reason), or `release` (the
   connection failed: the row goes back to pending without spending its attempt).

A crash between the server's acceptance and `mark_sent` repeats at most the messages in
flight, with the same Message-ID; every other path sends a row once.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    event,
    func,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.db import rowcount
from crm.models import Contact, EventInvitee, OutboundEmail, utcnow
from crm.models.enums import EmailStatus
from crm.uow import UnitOfWork

MAX_ATTEMPTS = 5
LEASE = timedelta(seconds=60)
STUCK_AFTER = LEASE  # kept for callers of the old name
# wait after the n-th failed attempt before the next one
BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
ERROR_MAX = 500
OPTED_OUT = "recipient opted out"
INTERRUPTED = "interrupted while sending"
NOTIFY_CHANNEL = "chatcrm_outbox"
TOKEN_BYTES = 24

KINDS = ("invitation", "update", "cancel", "mailing", "test")

__all__ = ["LEASE", "MAX_ATTEMPTS", "OutboundEmail", "Outgoing"]


@dataclass(frozen=True)
class Outgoing:
    """A claimed row, ready to send."""

    id: int
    dedupe_key: str
    to_addr: str
    subject: str
    body_text: str
    body_html: str | None
    ics: str | None
    attempts: int
    unsubscribe_token: str | None  # for the List-Unsubscribe header
    message_id: str | None = None
    kind: str = "invitation"
    sender_name: str | None = None


@dataclass(frozen=True)
class Health:
    """What the operator needs to see of the outbox: counts by state, what is due and
    waiting, and rows stuck in "sending" past their lease (a killed worker)."""

    counts: dict[str, int]
    due: int
    stuck: int
    oldest_due_at: datetime | None

    @property
    def backlog(self) -> int:
        return self.counts.get(EmailStatus.PENDING.value, 0) + self.counts.get(
            EmailStatus.SENDING.value, 0
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "backlog": self.backlog,
            "due": self.due,
            "stuck": self.stuck,
            "oldest_due_at": self.oldest_due_at.isoformat() if self.oldest_due_at else None,
        }


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def message_domain(sender: str) -> str:
    """The domain of the sender's address, for Message-IDs."""
    address = parseaddr(sender)[1] or sender
    return address.rpartition("@")[2] or "chatcrm.local"


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{domain or 'chatcrm.local'}>"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


# ------------------------------------------------------------------ waking the worker

_subscribers: list[Callable[[], None]] = []


def subscribe(callback: Callable[[], None]) -> None:
    """Call `callback` (no arguments, not a coroutine) after every transaction of this
    process that queued an email has committed."""
    if callback not in _subscribers:
        _subscribers.append(callback)


def unsubscribe(callback: Callable[[], None]) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


def _fire(_session: Any) -> None:
    for callback in list(_subscribers):
        callback()


async def _announce(uow: UnitOfWork) -> None:
    """Once per transaction: wake this process's worker after the commit, and the other
    instances' (PostgreSQL delivers a NOTIFY when the transaction commits)."""
    session = uow.session
    if session.info.get("outbox_announced"):
        return
    session.info["outbox_announced"] = True
    event.listen(session.sync_session, "after_commit", _fire, once=True)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


# ------------------------------------------------------------------ queuing


async def queue(
    uow: UnitOfWork,
    *,
    dedupe_key: str,
    to_addr: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    ics: str | None = None,
    kind: str = "invitation",
    event_id: int | None = None,
    invitee_id: int | None = None,
    contact_id: int | None = None,
    mailing_id: int | None = None,
    unsubscribe_token: str | None = None,
    sender_name: str | None = None,
    domain: str = "chatcrm.local",
    now: datetime | None = None,
) -> bool:
    """Add an email to the outbox inside the caller's open unit of work.

    Returns False (and writes nothing) when a row with this dedupe key exists already.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    dialect = uow.session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = (
        module.insert(OutboundEmail)
        .values(
            dedupe_key=dedupe_key,
            to_addr=to_addr,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            ics=ics,
            status=EmailStatus.PENDING.value,
            attempts=0,
            created_at=now or utcnow(),
            kind=kind,
            event_id=event_id,
            invitee_id=invitee_id,
            contact_id=contact_id,
            mailing_id=mailing_id,
            message_id=new_message_id(domain),
            unsubscribe_token=unsubscribe_token,
            sender_name=sender_name or None,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    result = await uow.session.execute(stmt)
    inserted = bool(rowcount(result))
    if inserted:
        await _announce(uow)
    return inserted


# ------------------------------------------------------------------ claiming


def _due(now: datetime) -> Any:
    """Pending rows whose backoff has passed (never tried: due at once); the index
    ix_outbound_emails_status_next_attempt serves it."""
    return and_(
        OutboundEmail.status == EmailStatus.PENDING.value,
        or_(OutboundEmail.next_attempt_at.is_(None), OutboundEmail.next_attempt_at <= now),
    )


def _next_attempt(now: datetime) -> Any:
    """After a failed attempt: now + the backoff for the row's attempts (none once its
    attempts are used up)."""
    moment = OutboundEmail.next_attempt_at.type
    return case(
        (OutboundEmail.attempts >= MAX_ATTEMPTS, null()),
        *(
            (OutboundEmail.attempts <= n, literal(now + wait, moment))
            for n, wait in enumerate(BACKOFF, start=1)
        ),
        else_=literal(now + BACKOFF[-1], moment),
    )


def _expired(now: datetime, lease: timedelta) -> Any:
    return and_(
        OutboundEmail.status == EmailStatus.SENDING.value,
        or_(OutboundEmail.claimed_at.is_(None), OutboundEmail.claimed_at < now - lease),
    )


async def reclaim_stuck(uow: UnitOfWork, now: datetime, lease: timedelta = LEASE) -> Reclaimed:
    """Rows whose lease ran out (their worker was killed) go back to pending, or fail when
    their attempts are used up; inside an open unit of work."""
    failed = await uow.session.execute(
        update(OutboundEmail)
        .where(_expired(now, lease), OutboundEmail.attempts >= MAX_ATTEMPTS)
        .values(status=EmailStatus.FAILED.value, last_error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    pending = await uow.session.execute(
        update(OutboundEmail)
        .where(_expired(now, lease))
        .values(status=EmailStatus.PENDING.value, last_error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    return Reclaimed(pending=rowcount(pending), failed=rowcount(failed))


@dataclass(frozen=True)
class Reclaimed:
    pending: int = 0  # back in the queue
    failed: int = 0  # no attempt left: failed for good (its manager is to be told)


class Claimed(list[Outgoing]):
    """The rows one `claim` took, and what it reclaimed from killed workers on the way."""

    reclaimed: Reclaimed = Reclaimed()


_RETURNED = (
    OutboundEmail.id,
    OutboundEmail.dedupe_key,
    OutboundEmail.to_addr,
    OutboundEmail.subject,
    OutboundEmail.body_text,
    OutboundEmail.body_html,
    OutboundEmail.ics,
    OutboundEmail.attempts,
    OutboundEmail.message_id,
    OutboundEmail.kind,
    OutboundEmail.invitee_id,
    OutboundEmail.contact_id,
    OutboundEmail.unsubscribe_token,
    OutboundEmail.sender_name,
)


# one statement built once: a claim asks it for a few hundred rows, and `in_()` of a list
# coerced every value into a parameter of its own on each call
_OPTED_OUT = select(Contact.id, func.lower(Contact.email)).where(
    Contact.email_opt_out.is_(True),
    or_(
        Contact.id.in_(bindparam("contact_ids", expanding=True)),
        func.lower(Contact.email).in_(bindparam("addresses", expanding=True)),
    ),
)


async def _opted_out(conn: AsyncConnection, rows: list[Any]) -> set[int]:
    """The claimed rows whose recipient has opted out (by the row's contact, or by the
    address for rows queued without one)."""
    contact_ids = list({r.contact_id for r in rows if r.contact_id is not None})
    addresses = list({r.to_addr.lower() for r in rows if r.contact_id is None})
    if not contact_ids and not addresses:
        return set()
    found = await conn.execute(_OPTED_OUT, {"contact_ids": contact_ids, "addresses": addresses})
    ids, emails = set(), set()
    for contact_id, address in found:
        ids.add(contact_id)
        emails.add(address)
    return {
        r.id
        for r in rows
        if (r.contact_id in ids) or (r.contact_id is None and r.to_addr.lower() in emails)
    }


async def claim(
    uow: UnitOfWork,
    *,
    limit: int,
    now: datetime | None = None,
    lease: timedelta = LEASE,
    reclaim: bool = True,
) -> Claimed:
    """Claim up to `limit` due rows for this worker (one transaction, committed), oldest
    first; `reclaimed` tells what came back from killed workers meanwhile. `reclaim=False`
    skips looking for them: a worker claiming batch after batch looks once in a while (on
    SQLite every row in "sending" is read whole to check its lease)."""
    moment = now or utcnow()
    async with uow:
        reclaimed = await reclaim_stuck(uow, moment, lease) if reclaim else Reclaimed()
        ids = (
            select(OutboundEmail.id)
            .where(_due(moment))
            .order_by(OutboundEmail.created_at, OutboundEmail.id)
            .limit(max(limit, 1))
            .with_for_update(skip_locked=True)  # PostgreSQL: concurrent workers take others
            .scalar_subquery()
        )
        # Core, not the ORM session: the rows come back as they are (a few hundred a claim)
        conn = await uow.session.connection()
        result = await conn.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(ids), OutboundEmail.status == EmailStatus.PENDING.value)
            .values(
                status=EmailStatus.SENDING.value,
                attempts=OutboundEmail.attempts + 1,
                claimed_at=moment,
            )
            .returning(*_RETURNED)
            .execution_options(synchronize_session=False)
        )
        rows = list(result)
        refused = await _opted_out(conn, rows) if rows else set()
        if refused:
            await uow.session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.id.in_(refused))
                .values(status=EmailStatus.FAILED.value, last_error=OPTED_OUT, error_code=None)
                .execution_options(synchronize_session=False)
            )
        invitee_ids = {r.invitee_id for r in rows if r.invitee_id is not None}
        tokens: dict[int, str] = {}
        if invitee_ids:
            found = await uow.session.execute(
                select(EventInvitee.id, EventInvitee.token).where(EventInvitee.id.in_(invitee_ids))
            )
            tokens = {i: t for i, t in found}
        await uow.commit()
    claimed = Claimed()
    claimed.reclaimed = reclaimed
    for r in sorted(rows, key=lambda r: r.id):
        if r.id in refused:
            continue
        token = tokens.get(r.invitee_id) if r.invitee_id is not None else r.unsubscribe_token
        claimed.append(
            Outgoing(
                id=r.id,
                dedupe_key=r.dedupe_key,
                to_addr=r.to_addr,
                subject=r.subject,
                body_text=r.body_text,
                body_html=r.body_html,
                ics=r.ics,
                attempts=r.attempts,
                unsubscribe_token=token,
                message_id=r.message_id,
                kind=r.kind,
                sender_name=r.sender_name,
            )
        )
    return claimed


async def claim_due(
    uow: UnitOfWork, *, now: datetime | None = None, limit: int = 20
) -> list[Outgoing]:
    return await claim(uow, limit=limit, now=now)


async def renew(uow: UnitOfWork, ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Extend the lease of rows this worker still holds (claimed, not settled)."""
    wanted = list(ids)
    if not wanted:
        return 0
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(wanted), OutboundEmail.status == EmailStatus.SENDING.value)
            .values(claimed_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return rowcount(result)


# ------------------------------------------------------------------ outcomes


async def mark_sent(uow: UnitOfWork, email_id: int, *, now: datetime | None = None) -> bool:
    return await mark_sent_many(uow, [email_id], now=now) == 1


def mark_sent_statement(ids: list[int], now: datetime) -> Any:
    """The UPDATE that marks rows sent (the worker runs it on a connection of its own)."""
    return (
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(ids), OutboundEmail.status == EmailStatus.SENDING.value)
        .values(
            status=EmailStatus.SENT.value,
            sent_at=now,
            next_attempt_at=None,
            last_error=None,
            error_code=None,
        )
        .execution_options(synchronize_session=False)
    )


# the worker marks a handful of rows per statement, hundreds of statements a second:
# building and compiling the UPDATE each time cost more CPU than sending the emails, so the
# SQL is written once per driver parameter style and batch size
_PLACEHOLDERS: dict[str, Callable[[int], str]] = {
    "qmark": lambda _n: "?",
    "format": lambda _n: "%s",
    "numeric_dollar": lambda n: f"${n}",
}
MARK_CHUNK = 500


@lru_cache(maxsize=128)
def _mark_sent_sql(paramstyle: str, count: int) -> str:
    mark = _PLACEHOLDERS[paramstyle]
    ids = ", ".join(mark(n) for n in range(2, count + 2))
    return (
        f"UPDATE {OutboundEmail.__tablename__} SET status = '{EmailStatus.SENT.value}', "
        f"sent_at = {mark(1)}, next_attempt_at = NULL, last_error = NULL, error_code = NULL "
        f"WHERE id IN ({ids}) AND status = '{EmailStatus.SENDING.value}'"
    )


async def mark_sent_on(conn: AsyncConnection, ids: list[int], now: datetime) -> int:
    """Mark rows sent on the caller's connection (the worker's own, where each statement
    commits by itself): the same UPDATE as `mark_sent_statement`, without building it."""
    dialect = conn.dialect
    if dialect.paramstyle not in _PLACEHOLDERS:
        result = await conn.execute(mark_sent_statement(ids, now))
        return int(result.rowcount or 0)
    process = OutboundEmail.__table__.c.sent_at.type.bind_processor(dialect)
    moment = process(now) if process is not None else now
    done = 0
    for start in range(0, len(ids), MARK_CHUNK):
        chunk = ids[start : start + MARK_CHUNK]
        result = await conn.exec_driver_sql(
            _mark_sent_sql(dialect.paramstyle, len(chunk)), (moment, *chunk)
        )
        done += int(result.rowcount or 0)
    return done


async def mark_sent_many(
    uow: UnitOfWork, ids: Iterable[int], *, now: datetime | None = None
) -> int:
    wanted = list(ids)
    if not wanted:
        return 0
    async with uow:
        result = await uow.session.execute(mark_sent_statement(wanted, now or utcnow()))
        await uow.commit()
    return rowcount(result)


async def mark_failed(
    uow: UnitOfWork,
    email_id: int,
    error: str,
    *,
    code: int | None = None,
    permanent: bool = False,
    now: datetime | None = None,
) -> str | None:
    """A failed attempt. Transient (a 4xx, a timeout): back to pending with the error,
    due again at `now` + the backoff for its attempts, failed for good after
    MAX_ATTEMPTS. `permanent` (a 5xx for this recipient): failed now. Returns the new
    status (None if the row was not ours)."""
    moment = now or utcnow()
    status: Any
    if permanent:
        status, next_attempt = EmailStatus.FAILED.value, null()
    else:
        status = case(
            (OutboundEmail.attempts >= MAX_ATTEMPTS, EmailStatus.FAILED.value),
            else_=EmailStatus.PENDING.value,
        )
        next_attempt = _next_attempt(moment)
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id, OutboundEmail.status == EmailStatus.SENDING.value)
            .values(
                status=status,
                last_error=error[:ERROR_MAX],
                error_code=code,
                next_attempt_at=next_attempt,
            )
            .returning(OutboundEmail.status)
            .execution_options(synchronize_session=False)
        )
        new_status = result.scalar_one_or_none()
        await uow.commit()
    return new_status


async def release(uow: UnitOfWork, ids: Iterable[int], error: str) -> int:
    """Rows claimed but not sent because the connection failed: back to pending, due at
    once, their attempt given back (the outbox pauses instead)."""
    wanted = list(ids)
    if not wanted:
        return 0
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(wanted), OutboundEmail.status == EmailStatus.SENDING.value)
            .values(
                status=EmailStatus.PENDING.value,
                attempts=case((OutboundEmail.attempts > 0, OutboundEmail.attempts - 1), else_=0),
                last_error=error[:ERROR_MAX],
                error_code=None,
            )
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return rowcount(result)


async def retry_failed(uow: UnitOfWork, *, event_id: int | None = None) -> int:
    """Failed rows (not those of recipients who opted out) go back to pending with fresh
    attempts: for the operator once the cause is fixed."""
    conditions = [
        OutboundEmail.status == EmailStatus.FAILED.value,
        or_(OutboundEmail.last_error.is_(None), OutboundEmail.last_error != OPTED_OUT),
    ]
    if event_id is not None:
        conditions.append(OutboundEmail.event_id == event_id)
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(*conditions)
            .values(
                status=EmailStatus.PENDING.value,
                attempts=0,
                next_attempt_at=None,
                claimed_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(result):
            await _announce(uow)
        await uow.commit()
    return rowcount(result)


# ------------------------------------------------------------------ reading


async def counts(uow: UnitOfWork) -> dict[str, int]:
    """How many rows per status (for health and the operator)."""
    async with uow.read_only():
        rows = await uow.session.execute(
            select(OutboundEmail.status, func.count(OutboundEmail.id)).group_by(
                OutboundEmail.status
            )
        )
        return {status: int(n) for status, n in rows}


async def health(
    uow: UnitOfWork, *, now: datetime | None = None, lease: timedelta = LEASE
) -> Health:
    moment = now or utcnow()
    async with uow.read_only():
        by_status = {
            status: int(n)
            for status, n in await uow.session.execute(
                select(OutboundEmail.status, func.count(OutboundEmail.id)).group_by(
                    OutboundEmail.status
                )
            )
        }
        due, oldest = (
            await uow.session.execute(
                select(func.count(OutboundEmail.id), func.min(OutboundEmail.created_at)).where(
                    _due(moment)
                )
            )
        ).one()
        stuck = await uow.session.scalar(
            select(func.count(OutboundEmail.id)).where(_expired(moment, lease))
        )
    return Health(by_status, int(due or 0), int(stuck or 0), oldest)


async def next_due_at(uow: UnitOfWork) -> datetime | None:
    """When the earliest pending row falls due (None: nothing pending)."""
    async with uow.read_only():
        waiting = await uow.session.scalar(
            select(
                func.min(func.coalesce(OutboundEmail.next_attempt_at, OutboundEmail.created_at))
            ).where(OutboundEmail.status == EmailStatus.PENDING.value)
        )
    return waiting
