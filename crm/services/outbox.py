"""The outbox: every email is a row first, then sent.

`queue` writes a row inside the caller's transaction (its `dedupe_key` is unique, so
queuing the same email twice writes nothing the second time). A worker (see
notifications/email.py) then:

1. `claim_due`: in one transaction, puts back rows stuck in "sending" for longer than
   STUCK_AFTER (the worker crashed mid-send), fails rows whose recipient opted out, and
   claims a batch of due rows with a conditional UPDATE (pending → sending,
   attempts + 1), so two workers never claim the same row;
2. sends each claimed row, then `mark_sent` or `mark_failed` (back to pending with the
   error and `next_attempt_at` = now + the backoff for its attempts; failed for good
   after MAX_ATTEMPTS).

A row is due when it is pending and its `next_attempt_at` is NULL (never tried) or past;
`claimed_at` is when a worker last claimed it (the stuck check reads it); `sent_at` is
only ever when it was sent.

Delivery is at least once only across a crash between the SMTP server's acceptance and
`mark_sent` (the row goes back to pending after STUCK_AFTER); every other path sends a
row once. The Message-ID is derived from the dedupe key, so a receiver can tell a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crm.models import Contact, EventInvitee, OutboundEmail, utcnow
from crm.models.enums import EmailStatus
from crm.uow import UnitOfWork

MAX_ATTEMPTS = 5
STUCK_AFTER = timedelta(minutes=10)
# wait after the n-th failed attempt before the next one
BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
ERROR_MAX = 500
OPTED_OUT = "recipient opted out"

__all__ = ["MAX_ATTEMPTS", "STUCK_AFTER", "OutboundEmail", "Outgoing"]


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
    unsubscribe_token: str | None  # for the List-Unsubscribe header of an invitation


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


async def queue(
    uow: UnitOfWork,
    *,
    dedupe_key: str,
    to_addr: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    ics: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Add an email to the outbox inside the caller's open unit of work.

    Returns False (and writes nothing) when a row with this dedupe key exists already.
    """
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
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    result = await uow.session.execute(stmt)
    return bool(result.rowcount)


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


def _opted_out() -> Any:
    return (
        select(Contact.id)
        .where(
            func.lower(Contact.email) == func.lower(OutboundEmail.to_addr),
            Contact.email_opt_out.is_(True),
        )
        .exists()
    )


async def reclaim_stuck(uow: UnitOfWork, now: datetime) -> int:
    """Rows left in "sending" by a crashed worker go back to pending (or fail when their
    attempts are used up); inside an open unit of work."""
    result = await uow.session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.status == EmailStatus.SENDING.value,
            or_(OutboundEmail.claimed_at.is_(None), OutboundEmail.claimed_at < now - STUCK_AFTER),
        )
        .values(
            status=case(
                (OutboundEmail.attempts >= MAX_ATTEMPTS, EmailStatus.FAILED.value),
                else_=EmailStatus.PENDING.value,
            ),
            last_error="interrupted while sending",
        )
    )
    return int(result.rowcount or 0)


def _token_of(dedupe_key: str) -> int | None:
    parts = dedupe_key.split(":")
    if len(parts) >= 4 and parts[0] == "event" and parts[2] == "inv" and parts[3].isdigit():
        return int(parts[3])
    return None


async def claim_due(
    uow: UnitOfWork, *, now: datetime | None = None, limit: int = 20
) -> list[Outgoing]:
    """Claim up to `limit` due rows for this worker (one transaction, committed)."""
    moment = now or utcnow()
    async with uow:
        await reclaim_stuck(uow, moment)
        await uow.session.execute(  # an opted-out recipient never gets a queued email
            update(OutboundEmail)
            .where(OutboundEmail.status == EmailStatus.PENDING.value, _opted_out())
            .values(status=EmailStatus.FAILED.value, last_error=OPTED_OUT)
            .execution_options(synchronize_session=False)
        )
        ids = (
            select(OutboundEmail.id)
            .where(_due(moment))
            .order_by(OutboundEmail.created_at, OutboundEmail.id)
            .limit(max(limit, 1))
            .with_for_update(skip_locked=True)  # PostgreSQL: concurrent workers take others
            .scalar_subquery()
        )
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(ids), OutboundEmail.status == EmailStatus.PENDING.value)
            .values(
                status=EmailStatus.SENDING.value,
                attempts=OutboundEmail.attempts + 1,
                claimed_at=moment,
            )
            .returning(
                OutboundEmail.id,
                OutboundEmail.dedupe_key,
                OutboundEmail.to_addr,
                OutboundEmail.subject,
                OutboundEmail.body_text,
                OutboundEmail.body_html,
                OutboundEmail.ics,
                OutboundEmail.attempts,
            )
            .execution_options(synchronize_session=False)
        )
        rows = list(result)
        invitee_ids = {i for i in (_token_of(r.dedupe_key) for r in rows) if i is not None}
        tokens: dict[int, str] = {}
        if invitee_ids:
            found = await uow.session.execute(
                select(EventInvitee.id, EventInvitee.token).where(EventInvitee.id.in_(invitee_ids))
            )
            tokens = {i: t for i, t in found}
        await uow.commit()
    claimed = []
    for r in sorted(rows, key=lambda r: r.id):
        invitee_id = _token_of(r.dedupe_key)
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
                unsubscribe_token=tokens.get(invitee_id) if invitee_id is not None else None,
            )
        )
    return claimed


async def mark_sent(uow: UnitOfWork, email_id: int, *, now: datetime | None = None) -> bool:
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id, OutboundEmail.status == EmailStatus.SENDING.value)
            .values(
                status=EmailStatus.SENT.value,
                sent_at=now or utcnow(),
                next_attempt_at=None,
                last_error=None,
            )
        )
        await uow.commit()
    return bool(result.rowcount)


async def mark_failed(
    uow: UnitOfWork, email_id: int, error: str, *, now: datetime | None = None
) -> str | None:
    """Back to pending with the error, due again at `now` + the backoff for its attempts,
    or failed for good after MAX_ATTEMPTS; returns the new status (None if the row was
    not ours)."""
    moment = now or utcnow()
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id, OutboundEmail.status == EmailStatus.SENDING.value)
            .values(
                status=case(
                    (OutboundEmail.attempts >= MAX_ATTEMPTS, EmailStatus.FAILED.value),
                    else_=EmailStatus.PENDING.value,
                ),
                last_error=error[:ERROR_MAX],
                next_attempt_at=_next_attempt(moment),
            )
            .returning(OutboundEmail.status)
        )
        status = result.scalar_one_or_none()
        await uow.commit()
    return status


async def counts(uow: UnitOfWork) -> dict[str, int]:
    """How many rows per status (for health and the operator)."""
    async with uow.read_only():
        rows = await uow.session.execute(
            select(OutboundEmail.status, func.count(OutboundEmail.id)).group_by(
                OutboundEmail.status
            )
        )
        return {status: int(n) for status, n in rows}
