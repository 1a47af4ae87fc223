"""Claiming: due rows pass to a worker (pending → sending) with what it needs to send them.

One transaction per batch: killed workers' rows put back (when asked), the batch claimed
by a conditional UPDATE … RETURNING (PostgreSQL: FOR UPDATE SKIP LOCKED, so two workers
never take the same row), then ONE SELECT for the whole batch reads the bodies, the
invitees' RSVP tokens and whether each recipient opted out meanwhile (those rows are
failed instead of sent). The statements are built once: a worker claims a batch every
few hundred emails, and the rows come back as plain tuples, never ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    update,
)

from crm.db import rowcount
from crm.models import Contact, EventInvitee, OutboundEmail, OutboundEmailBody, utcnow
from crm.models.enums import EmailStatus
from crm.services.outbox.common import INTERRUPTED, LEASE, MAX_ATTEMPTS, OPTED_OUT, Outgoing
from crm.uow import UnitOfWork

EMAILS = cast(Table, OutboundEmail.__table__)
E = EMAILS.c
PENDING, SENDING, FAILED = (
    EmailStatus.PENDING.value,
    EmailStatus.SENDING.value,
    EmailStatus.FAILED.value,
)


def due(now: Any) -> Any:
    """Pending rows whose backoff has passed (never tried: due at once); the index
    ix_outbound_emails_status_next_attempt serves it."""
    return and_(
        OutboundEmail.status == PENDING,
        or_(OutboundEmail.next_attempt_at.is_(None), OutboundEmail.next_attempt_at <= now),
    )


def expired(now: datetime, lease: timedelta) -> Any:
    return and_(
        OutboundEmail.status == SENDING,
        or_(OutboundEmail.claimed_at.is_(None), OutboundEmail.claimed_at < now - lease),
    )


@dataclass(frozen=True)
class Reclaimed:
    pending: int = 0  # back in the queue
    failed: int = 0  # no attempt left: failed for good (its manager is to be told)


class Claimed(list[Outgoing]):
    """The rows one `claim` took, and what it reclaimed from killed workers on the way."""

    reclaimed: Reclaimed = Reclaimed()


async def reclaim_stuck(uow: UnitOfWork, now: datetime, lease: timedelta = LEASE) -> Reclaimed:
    """Rows whose lease ran out (their worker was killed) go back to pending, or fail when
    their attempts are used up; inside an open unit of work."""
    failed = await uow.session.execute(
        update(OutboundEmail)
        .where(expired(now, lease), OutboundEmail.attempts >= MAX_ATTEMPTS)
        .values(status=FAILED, last_error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    pending = await uow.session.execute(
        update(OutboundEmail)
        .where(expired(now, lease))
        .values(status=PENDING, last_error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    return Reclaimed(pending=rowcount(pending), failed=rowcount(failed))


_NOW = bindparam("now", type_=E.claimed_at.type)
_CLAIM = (
    update(EMAILS)
    .where(
        E.id.in_(
            select(E.id)
            .where(due(_NOW))
            .order_by(E.created_at, E.id)
            .limit(bindparam("limit", type_=Integer))
            .with_for_update(skip_locked=True)  # PostgreSQL: concurrent workers take others
            .scalar_subquery()
        ),
        E.status == PENDING,
    )
    .values(status=SENDING, attempts=E.attempts + 1, claimed_at=_NOW)
    .returning(
        E.id,
        E.dedupe_key,
        E.to_addr,
        E.subject,
        E.attempts,
        E.message_id,
        E.kind,
        E.invitee_id,
        E.unsubscribe_token,
        E.sender_name,
    )
)

_OPTED_OUT_CONTACT = exists().where(Contact.id == E.contact_id, Contact.email_opt_out.is_(True))
# rows queued without a contact: any contact of that address (ix_contacts_email_lower)
_OPTED_OUT_ADDRESS = exists().where(
    func.lower(Contact.email) == func.lower(E.to_addr), Contact.email_opt_out.is_(True)
)
B = OutboundEmailBody.__table__.c
# what the UPDATE cannot return (SQLite's RETURNING sees the updated table only)
_DETAILS = (
    select(
        E.id,
        B.body_text,
        B.body_html,
        B.ics,
        EventInvitee.token,
        case((E.contact_id.is_not(None), _OPTED_OUT_CONTACT), else_=_OPTED_OUT_ADDRESS).label(
            "opted_out"
        ),
    )
    .select_from(EMAILS)
    .outerjoin(OutboundEmailBody.__table__, B.email_id == E.id)
    .outerjoin(EventInvitee, EventInvitee.id == E.invitee_id)
    .where(E.id.in_(bindparam("ids", expanding=True)))
)
_REFUSE = (
    update(EMAILS)
    .where(E.id.in_(bindparam("ids", expanding=True)))
    .values(status=FAILED, last_error=OPTED_OUT, error_code=None)
)


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
    skips looking for them: a worker claiming batch after batch looks once in a while."""
    moment = now or utcnow()
    async with uow:
        reclaimed = await reclaim_stuck(uow, moment, lease) if reclaim else Reclaimed()
        conn = await uow.session.connection()
        rows = (await conn.execute(_CLAIM, {"now": moment, "limit": max(limit, 1)})).all()
        details: dict[int, Any] = {}
        refused: list[int] = []
        if rows:
            found = await conn.execute(_DETAILS, {"ids": [r[0] for r in rows]})
            for found_row in found:
                details[found_row[0]] = found_row
                if found_row[5]:
                    refused.append(found_row[0])
            if refused:
                await conn.execute(_REFUSE, {"ids": refused})
        await uow.commit()
    claimed = Claimed()
    claimed.reclaimed = reclaimed
    skip = set(refused)
    for r in sorted(rows):  # by id
        email_id = r[0]
        if email_id in skip:
            continue
        d = details.get(email_id)
        invitee_id = r[7]
        claimed.append(
            Outgoing(
                id=email_id,
                dedupe_key=r[1],
                to_addr=r[2],
                subject=r[3],
                body_text=(d[1] if d is not None else None) or "",
                body_html=d[2] if d is not None else None,
                ics=d[3] if d is not None else None,
                attempts=r[4],
                # an invitation's links carry its invitee's token; a mailing its own
                unsubscribe_token=(d[4] if d is not None else None)
                if invitee_id is not None
                else r[8],
                message_id=r[5],
                kind=r[6],
                sender_name=r[9],
            )
        )
    return claimed


async def renew(uow: UnitOfWork, ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Extend the lease of rows this worker still holds (claimed, not settled)."""
    wanted = list(ids)
    if not wanted:
        return 0
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(wanted), OutboundEmail.status == SENDING)
            .values(claimed_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return rowcount(result)
