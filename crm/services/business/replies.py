"""Answering from the CRM: "💬 Write in Telegram" on a contact's card.

Only the chat's own manager writes, through their own business connection, and only
while it allows the bot to reply (`can_reply`). The texts offered are the steps of the
playbooks of kind "reply" (directors keep them with /playbook), the default one first.
`target` decides and names the chat; the bot sends (paced by its governor like every
Bot API call); `sent` logs what Telegram accepted as the manager's message in the
conversation (and a business_message update of it that may follow is not logged twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from crm import validation
from crm.access import Actor
from crm.errors import AccessDenied, Conflict
from crm.models import BusinessChat, BusinessConnection, Playbook, utcnow
from crm.models.enums import ChatStatus, PlaybookKind
from crm.services import contacts
from crm.services.business import chats
from crm.services.business.chats import Incoming, Person
from crm.uow import UnitOfWork

TEMPLATES_MAX = 8
TEXT_MAX = 4096


@dataclass(frozen=True)
class Target:
    contact_id: int
    name: str
    connection_id: str
    chat_id: int
    templates: list[str]


async def _chat(uow: UnitOfWork, actor: Actor, contact_id: int) -> tuple[BusinessChat, str]:
    await contacts.get(uow, actor, contact_id)  # the contact's own access rule first
    row = (
        await uow.session.execute(
            select(BusinessChat, BusinessConnection.connection_id)
            .join(BusinessConnection, BusinessConnection.manager_id == BusinessChat.manager_id)
            .where(
                BusinessChat.manager_id == actor.id,
                BusinessChat.contact_id == contact_id,
                BusinessChat.status == ChatStatus.LINKED.value,
                BusinessConnection.enabled.is_(True),
                BusinessConnection.can_reply.is_(True),
            )
            .order_by(BusinessChat.last_message_at.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        raise Conflict("cannot_write")
    return row[0], row[1]


async def writable(uow: UnitOfWork, actor: Actor, contact_ids: list[int]) -> set[int]:
    """Which of these contacts the actor may write to in Telegram now (inside an open uow)."""
    if not contact_ids:
        return set()
    rows = await uow.session.scalars(
        select(BusinessChat.contact_id)
        .join(BusinessConnection, BusinessConnection.manager_id == BusinessChat.manager_id)
        .where(
            BusinessChat.manager_id == actor.id,
            BusinessChat.contact_id.in_(contact_ids),
            BusinessChat.status == ChatStatus.LINKED.value,
            BusinessConnection.enabled.is_(True),
            BusinessConnection.can_reply.is_(True),
        )
    )
    return {c for c in rows if c is not None}


async def templates(uow: UnitOfWork) -> list[str]:
    rows = await uow.session.scalars(
        select(Playbook)
        .where(Playbook.kind == PlaybookKind.REPLY.value)
        .order_by(Playbook.is_default.desc(), Playbook.id)
    )
    texts = [step.title for book in rows for step in book.steps]
    return texts[:TEMPLATES_MAX]


async def target(uow: UnitOfWork, actor: Actor, contact_id: int) -> Target:
    """Where a message to this contact goes; AccessDenied for a contact the actor may not
    see, Conflict("cannot_write") when they have no chat with it that the bot may write in."""
    async with uow.read_only():
        chat, connection_id = await _chat(uow, actor, contact_id)
        return Target(contact_id, chat.name, connection_id, chat.chat_id, await templates(uow))


def clean_text(text: str | None) -> str:
    return validation.text("text", text, max_len=TEXT_MAX)


async def sent(
    uow: UnitOfWork,
    actor: Actor,
    to: Target,
    message_id: int,
    text: str,
    at: datetime | None = None,
) -> None:
    """Log a message Telegram accepted as the manager's, in the chat's conversation;
    audited as sent by the actor (the entry names the conversation, not the text)."""
    outcome = await chats.receive(
        uow,
        Incoming(
            connection_id=to.connection_id,
            chat=Person(to.chat_id, to.name),
            sender_id=actor.tg_id,
            message_id=message_id,
            at=at or utcnow(),
            text=text,
            sent_by=actor.id,
        ),
    )
    if not outcome.logged:  # disconnected in between: sent, but nothing to log it in
        raise AccessDenied("chat")
