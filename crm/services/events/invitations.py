"""Invitations: queued in the email outbox once per invitee, only while the event
is still ahead; the plan's "send invitations" step follows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from crm.access import Actor
from crm.models import Contact, Event, EventInvitee, OutboundEmail, Task, utcnow
from crm.models.enums import TaskStatus
from crm.services import company_settings, outbox
from crm.services.company_settings import MailIdentity
from crm.services.events.inputs import ATTENDANCE, DEFAULT_PLAN, PLAN_KIND
from crm.services.events.reading import EMAIL_STATE, _load, _still_open
from crm.services.mail import Change, InvitationData, render_invitation
from crm.services.tasks import mark_done
from crm.uow import UnitOfWork


@dataclass(frozen=True)
class SendResult:
    queued: int
    already: int  # invitees whose invitation of this version is already in the outbox
    skipped: int  # opted out or without an email since they were added
    # `already` by the state of that email: "queued" (waiting in the outbox), "sent", "failed"
    earlier: dict[str, int] = field(default_factory=dict)


def dedupe_key(event: Event, invitee_id: int, kind: str = "invitation") -> str:
    tag = {"invitation": "inv", "update": "upd", "cancel": "cxl"}[kind]
    return f"event:{event.id}:{tag}:{invitee_id}:seq:{event.sequence}"


@dataclass(frozen=True)
class _Mailer:
    """What every email of one service call shares."""

    actor: Actor
    identity: MailIdentity
    base_url: str
    sender: str
    now: datetime


async def _queue_event_email(
    uow: UnitOfWork,
    mailer: _Mailer,
    event: Event,
    invitee: EventInvitee,
    contact: Contact,
    kind: str,
    changes: tuple[Change, ...] = (),
) -> bool:
    assert contact.email
    message = render_invitation(
        InvitationData(
            event=event,
            token=invitee.token,
            contact_name=contact.name,
            contact_email=contact.email,
            organizer_name=mailer.actor.name,
            sender=mailer.sender,
            language=mailer.actor.language,
            timezone=mailer.actor.timezone,
            base_url=mailer.base_url,
            now=mailer.now,
            company_name=mailer.identity.company_name,
            signature=mailer.identity.signature,
            kind=kind,
            changes=changes,
        )
    )
    return await outbox.queue(
        uow,
        dedupe_key=dedupe_key(event, invitee.id, kind),
        to_addr=contact.email,
        subject=message.subject,
        body_text=message.text,
        body_html=message.html,
        ics=message.ics,
        kind=kind,
        event_id=event.id,
        invitee_id=invitee.id,
        contact_id=contact.id,
        sender_name=mailer.identity.sender_name,
        domain=outbox.message_domain(mailer.sender),
        now=mailer.now,
    )


async def send_invitations(
    uow: UnitOfWork,
    actor: Actor,
    event_id: int,
    *,
    base_url: str,
    sender: str,
    now: datetime | None = None,
) -> SendResult:
    """Queue one invitation email per invitee not yet sent this version of the event.

    The texts are in the inviting manager's (the actor's) language and timezone.
    """
    moment = now or utcnow()
    async with uow:
        event = await _load(uow, actor, event_id, lock=True)
        _still_open(event, moment)
        mailer = _Mailer(
            actor, await company_settings.read_mail_identity(uow), base_url, sender, moment
        )
        prefix = f"event:{event.id}:inv:"
        sent_keys = {
            key: EMAIL_STATE.get(status, "queued")
            for key, status in await uow.session.execute(
                select(OutboundEmail.dedupe_key, OutboundEmail.status).where(
                    OutboundEmail.dedupe_key.like(f"{prefix}%")
                )
            )
        }
        rows = await uow.session.execute(
            select(EventInvitee, Contact)
            .join(Contact, Contact.id == EventInvitee.contact_id)
            .where(
                EventInvitee.event_id == event.id,
                EventInvitee.status.not_in(ATTENDANCE),
            )
            .order_by(EventInvitee.id)
        )
        queued = already = skipped = 0
        earlier = {"queued": 0, "sent": 0, "failed": 0}
        for invitee, contact in rows:
            state = sent_keys.get(dedupe_key(event, invitee.id))
            if state is not None:
                already += 1
                earlier[state] += 1
                continue
            if not contact.email or contact.email_opt_out:
                skipped += 1
                continue
            if await _queue_event_email(uow, mailer, event, invitee, contact, "invitation"):
                queued += 1
            else:  # queued meanwhile by another press
                already += 1
                earlier["queued"] += 1
        if queued:
            uow.audit(
                actor.id,
                event,
                "send",
                {"invitations": [None, queued], "sequence": [None, event.sequence]},
            )
            step = await _invitations_step(uow, event)
            if step is not None:
                mark_done(uow, actor, step, moment)
        await uow.commit()
    return SendResult(queued=queued, already=already, skipped=skipped, earlier=earlier)


async def _invitations_step(uow: UnitOfWork, event: Event) -> Task | None:
    """The event's open built-in plan step "Send the invitations" (in either language)."""
    en, ru, _days = DEFAULT_PLAN[1]  # ("Send the invitations", "Разослать приглашения")
    return (
        await uow.session.scalars(
            select(Task)
            .where(
                Task.event_id == event.id,
                Task.kind == PLAN_KIND,
                Task.status == TaskStatus.OPEN.value,
                Task.title.in_((en, ru)),
            )
            .order_by(Task.id)
            .limit(1)
            .with_for_update(of=Task)
        )
    ).first()
