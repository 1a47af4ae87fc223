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
from crm.services.outbox.common import (
    INTERRUPTED,
    LEASE,
    MAX_ATTEMPTS,
    OPTED_OUT,
    Outgoing,
    named,
    still,
)
from crm.uow import UnitOfWork

EMAILS = cast(Table, OutboundEmail.__table__)
E = EMAILS.c
PENDING, SENDING, FAILED = (
    EmailStatus.PENDING.value,
    EmailStatus.SENDING.value,
    EmailStatus.FAILED.value,
)


def due(now: Any) -> Any:
    """Pending rows whose backoff has passed (never tried: due at once); in the order
    queued, ix_outbound_emails_pending_queue serves it."""
    return and_(
        OutboundEmail.status == named(PENDING),
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


_RETURNED = (
    OutboundEmail.id,
    OutboundEmail.dedupe_key,
    OutboundEmail.to_addr,
    OutboundEmail.subject,
    OutboundEmail.attempts,
    OutboundEmail.message_id,
    OutboundEmail.kind,
    OutboundEmail.invitee_id,
    OutboundEmail.unsubscribe_token,
    OutboundEmail.sender_name,
    OutboundEmail.contact_id,
)


def _claim_statement(limit: int, now: datetime) -> Any:
    """The claim's UPDATE (built per batch: a few hundred emails each)."""
    ids = (
        select(OutboundEmail.id)
        .where(due(now))
        .order_by(OutboundEmail.created_at, OutboundEmail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL: concurrent workers take others
        .cte("claimed")
    )
    return (
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(select(ids.c.id)), still(PENDING))
        .values(status=SENDING, attempts=OutboundEmail.attempts + 1, claimed_at=now)
        .returning(*_RETURNED)
        .execution_options(synchronize_session=False)
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


def _claim_with_details(limit: int, now: datetime) -> Any:
    """PostgreSQL: the claim and its details in one statement (the UPDATE in a CTE, its
    rows joined to their bodies by key: an IN list of the claimed ids read the whole
    outbox, a table the planner had not analyzed yet, at every claim)."""
    c = _claim_statement(limit, now).cte("claimed_rows")
    contact = exists().where(Contact.id == c.c.contact_id, Contact.email_opt_out.is_(True))
    address = exists().where(
        func.lower(Contact.email) == func.lower(c.c.to_addr), Contact.email_opt_out.is_(True)
    )
    return select(
        *(c.c[column.key] for column in _RETURNED),
        B.body_text,
        B.body_html,
        B.ics,
        EventInvitee.token,
        case((c.c.contact_id.is_not(None), contact), else_=address).label("opted_out"),
    ).select_from(
        c.outerjoin(OutboundEmailBody.__table__, B.email_id == c.c.id).outerjoin(
            EventInvitee, EventInvitee.id == c.c.invitee_id
        )
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
        details: dict[int, Any] = {}
        refused: list[int] = []
        if conn.dialect.name == "postgresql":
            rows = (await conn.execute(_claim_with_details(max(limit, 1), moment))).all()
            for r in rows:  # (id, bodies, token, opted out) as _DETAILS has them
                details[r[0]] = (r[0], *r[11:])
                if r[15]:
                    refused.append(r[0])
        else:
            rows = (await conn.execute(_claim_statement(max(limit, 1), moment))).all()
            if rows:
                found = await conn.execute(_DETAILS, {"ids": [r[0] for r in rows]})
                for found_row in found:
                    details[found_row[0]] = found_row
                    if found_row[5]:
                        refused.append(found_row[0])
        if rows:
            if refused:
                await conn.execute(_REFUSE, {"ids": refused})
        await uow.commit()
    claimed = Claimed()
    claimed.reclaimed = reclaimed
    skip = set(refused)
    for r in sorted(rows, key=lambda row: row[0]):
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
            .where(OutboundEmail.id.in_(wanted), still(SENDING))
            .values(claimed_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return rowcount(result)
