"""Queuing: an email becomes an outbox row and its body row, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite

from crm.models import OutboundEmail, OutboundEmailBody, utcnow
from crm.models.enums import EmailStatus
from crm.services.outbox.common import KINDS, announce, new_message_id
from crm.uow import UnitOfWork

_BODY = insert(OutboundEmailBody)


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
        .returning(OutboundEmail.id)
    )
    email_id = (await uow.session.execute(stmt)).scalar_one_or_none()
    if email_id is None:
        return False
    await uow.session.execute(
        _BODY, {"email_id": email_id, "body_text": body_text, "body_html": body_html, "ics": ics}
    )
    await announce(uow)
    return True
