"""The messages of a manager's business chats: matched to a contact, or the manager asked.

A message comes with its connection's id; a connection unknown or disabled logs nothing.
The chat's other party is looked up among the contacts the manager may see: by Telegram
user id, else by username (one match only). Found, the chat is linked and the message
logged; not found, the chat waits (its messages kept) and the manager is asked once
who this is: link to a contact, a new contact, or not a client. "Not a client" deletes
the chat and its messages and keeps only a keyed digest of its id on the connection, so
that nothing of it is stored then or later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError

from crm import validation
from crm.access import Actor, visible_owner
from crm.errors import Conflict, InvalidInput
from crm.models import BusinessChat, BusinessConnection, BusinessMessage, Contact, Manager
from crm.models.enums import ChatStatus
from crm.services import contacts
from crm.services.business import conversations
from crm.services.business.connections import ENTITY, own_chat
from crm.services.contacts import ContactInput
from crm.uow import UnitOfWork

CHAT_ENTITY = "business_chats"


@dataclass(frozen=True)
class Person:
    """The other party of a private chat, as Telegram names them."""

    id: int
    name: str
    username: str | None = None


@dataclass(frozen=True)
class Incoming:
    """One business message (or its edit) in plain values."""

    connection_id: str
    chat: Person
    sender_id: int | None
    message_id: int
    at: datetime
    text: str
    sent_by: int | None = None  # sent from the CRM by this member of staff (audited)


@dataclass(frozen=True)
class Question:
    """Ask the manager (in their bot chat, in their language) who a new chat is."""

    chat_ref: int
    name: str
    username: str | None
    owner_chat_id: int
    language: str


@dataclass(frozen=True)
class Outcome:
    logged: bool  # kept (in a conversation, or while the manager decides)
    question: Question | None = None


NOTHING = Outcome(False)


def digest(salt: str, chat_id: int) -> str:
    return hashlib.blake2b(str(chat_id).encode(), key=salt.encode(), digest_size=16).hexdigest()


async def _owner(uow: UnitOfWork, connection_id: str) -> tuple[BusinessConnection, Manager] | None:
    row = (
        await uow.session.execute(
            select(BusinessConnection, Manager)
            .join(Manager, Manager.id == BusinessConnection.manager_id)
            .where(
                BusinessConnection.connection_id == connection_id,
                BusinessConnection.enabled.is_(True),
                Manager.active.is_(True),
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def _match(uow: UnitOfWork, owner: Actor, person: Person) -> Contact | None:
    """The one contact the owner may see with this Telegram id, else this username."""
    try:
        username = contacts.tg_username(person.username)
    except InvalidInput:  # an odd username is no criterion
        username = None
    wanted = [Contact.tg_user_id == person.id]
    if username is not None:
        wanted.append(Contact.tg_username == username)
    rows = list(
        await uow.session.scalars(
            select(Contact)
            .where(or_(*wanted), visible_owner(owner, Contact.curator_id))
            .order_by(Contact.id)
            .limit(3)
        )
    )
    by_id = [c for c in rows if c.tg_user_id == person.id]
    if len(by_id) == 1:
        return by_id[0]
    if not by_id and len(rows) == 1:
        return rows[0]
    return None


def _remember_user_id(uow: UnitOfWork, actor_id: int, contact: Contact, person: Person) -> None:
    """A contact found by username keeps the Telegram id from now on; audited."""
    if contact.tg_user_id is None:
        uow.apply(actor_id, contact, tg_user_id=person.id)


async def receive(uow: UnitOfWork, message: Incoming) -> Outcome:
    """Log one business message; a new person's first message also returns the question."""
    try:
        return await _receive(uow, message)
    except IntegrityError:  # the same new chat's first messages at once: the other won
        return await _receive(uow, message)


async def _receive(uow: UnitOfWork, message: Incoming) -> Outcome:
    person = message.chat
    async with uow:
        # one round trip for the usual message: the connection and its owner, the chat,
        # its contact, and whether this message is already stored (Telegram sent it again)
        again = (
            select(BusinessMessage.id)
            .where(
                BusinessMessage.chat_ref == BusinessChat.id,
                BusinessMessage.message_id == message.message_id,
            )
            .exists()
        )
        found = (
            await uow.session.execute(
                select(BusinessConnection, Manager, BusinessChat, Contact, again)
                .join(Manager, Manager.id == BusinessConnection.manager_id)
                .outerjoin(
                    BusinessChat,
                    and_(BusinessChat.manager_id == Manager.id, BusinessChat.chat_id == person.id),
                )
                .outerjoin(Contact, Contact.id == BusinessChat.contact_id)
                .where(
                    BusinessConnection.connection_id == message.connection_id,
                    BusinessConnection.enabled.is_(True),
                    Manager.active.is_(True),
                )
            )
        ).first()
        if found is None:
            return NOTHING
        connection, manager, chat, contact, duplicate = found
        if duplicate:
            return Outcome(True)
        if chat is None and (
            person.id == manager.tg_id or digest(connection.salt, person.id) in connection.ignored
        ):
            return NOTHING
        outgoing = message.sender_id is not None and message.sender_id != person.id
        question = None
        if chat is None:
            contact = await _match(uow, Actor.of(manager), person)
            chat = BusinessChat(
                manager_id=manager.id,
                chat_id=person.id,
                name=validation.text("name", person.name or str(person.id))[:200],
                username=person.username,
                status=(ChatStatus.LINKED if contact else ChatStatus.PENDING).value,
                contact_id=contact.id if contact else None,
            )
            uow.session.add(chat)
            await uow.flush()
            if contact is not None:
                _remember_user_id(uow, manager.id, contact, person)
                uow.audit(manager.id, chat, "link", {"contact_id": [None, contact.id]})
            else:
                question = Question(
                    chat.id, chat.name, chat.username, connection.user_chat_id, manager.language
                )
        elif chat.status == ChatStatus.STOPPED.value:
            return NOTHING
        row = BusinessMessage(
            chat_ref=chat.id,
            message_id=message.message_id,
            outgoing=outgoing,
            sent_at=message.at,
            text=message.text,
            deleted=False,
        )
        if outgoing:
            chat.waiting_since, chat.waiting_reminded_at = None, None
        elif chat.waiting_since is None:
            chat.waiting_since, chat.waiting_reminded_at = message.at, None
        if chat.status == ChatStatus.LINKED.value and contact is not None:
            await conversations.add(uow, chat, contact, row, manager.name)  # adds the row
        else:
            uow.session.add(row)
            await uow.flush()
        if message.sent_by is not None and row.interaction_id is not None:
            # who wrote to the client from the CRM, and in which conversation (not the text)
            uow.audit(
                message.sent_by,
                ("interactions", row.interaction_id),
                "send",
                {"message_id": [None, message.message_id], "channel": [None, "telegram"]},
            )
        await uow.commit()
    return Outcome(True, question)


async def _chat_of(
    uow: UnitOfWork, connection_id: str, chat_id: int
) -> tuple[BusinessChat, Manager] | None:
    found = await _owner(uow, connection_id)
    if found is None:
        return None
    manager = found[1]
    chat = await uow.session.scalar(
        select(BusinessChat).where(
            BusinessChat.manager_id == manager.id,
            BusinessChat.chat_id == chat_id,
            BusinessChat.status != ChatStatus.STOPPED.value,
        )
    )
    return None if chat is None else (chat, manager)


async def edit(uow: UnitOfWork, message: Incoming) -> bool:
    """An edited message rewrites its line of the conversation. False: not a logged one."""
    async with uow:
        found = await _chat_of(uow, message.connection_id, message.chat.id)
        if found is None:
            return False
        chat, manager = found
        row = await uow.session.scalar(
            select(BusinessMessage).where(
                BusinessMessage.chat_ref == chat.id,
                BusinessMessage.message_id == message.message_id,
            )
        )
        if row is None or row.deleted or row.text == message.text:
            return False
        row.text = message.text
        if row.interaction_id is not None:
            await conversations.rewrite(uow, chat, [row.interaction_id], manager.name)
        await uow.commit()
    return True


async def remove(uow: UnitOfWork, connection_id: str, chat_id: int, ids: Sequence[int]) -> int:
    """Deleted messages lose their text (their line shows 🗑). How many were logged."""
    async with uow:
        found = await _chat_of(uow, connection_id, chat_id)
        if found is None:
            return 0
        chat, manager = found
        rows = list(
            await uow.session.scalars(
                select(BusinessMessage).where(
                    BusinessMessage.chat_ref == chat.id,
                    BusinessMessage.message_id.in_(list(ids)),
                    BusinessMessage.deleted.is_(False),
                )
            )
        )
        for row in rows:
            row.text, row.deleted = "", True
        touched = [r.interaction_id for r in rows if r.interaction_id is not None]
        if touched:
            await conversations.rewrite(uow, chat, touched, manager.name)
        await uow.commit()
    return len(rows)


async def _pending(uow: UnitOfWork, actor: Actor, chat_ref: int) -> BusinessChat:
    chat = await own_chat(uow, actor, chat_ref)
    if chat.status != ChatStatus.PENDING.value:
        raise Conflict("chat_decided")
    return chat


async def _link(uow: UnitOfWork, actor: Actor, chat: BusinessChat, contact: Contact) -> None:
    person = Person(chat.chat_id, chat.name, chat.username)
    _remember_user_id(uow, actor.id, contact, person)
    uow.apply(actor.id, chat, status=ChatStatus.LINKED.value, contact_id=contact.id)
    kept = list(
        await uow.session.scalars(
            select(BusinessMessage).where(BusinessMessage.chat_ref == chat.id)
        )
    )
    await conversations.replay(uow, chat, contact, kept, actor.name)


async def link(uow: UnitOfWork, actor: Actor, chat_ref: int, contact_id: int) -> Contact:
    """The pending chat is this contact's (one the actor may see): its messages so far
    become conversations, and the contact keeps the Telegram id."""
    async with uow:
        chat = await _pending(uow, actor, chat_ref)
        contact = await contacts.get(uow, actor, contact_id)
        await _link(uow, actor, chat, contact)
        await uow.commit()
    return contact


async def new_contact(uow: UnitOfWork, actor: Actor, chat_ref: int) -> Contact:
    """A new contact of the actor's named as in Telegram, and the pending chat linked to it."""
    async with uow:
        chat = await _pending(uow, actor, chat_ref)
        values = contacts.clean(
            ContactInput(name=chat.name, tg_user_id=chat.chat_id, tg_username=_username(chat))
        )
        values.pop("company_id"), values.pop("company_name")
        contact = Contact(**values, curator_id=actor.id)
        uow.session.add(contact)
        await uow.flush()
        uow.audit_created(actor.id, contact)
        await contacts.reindex(uow, contact, None)
        await uow.session.refresh(contact, ["company"])
        await _link(uow, actor, chat, contact)
        await uow.commit()
    return contact


def _username(chat: BusinessChat) -> str | None:
    try:
        return contacts.tg_username(chat.username)
    except InvalidInput:
        return None


async def ignore(uow: UnitOfWork, actor: Actor, chat_ref: int) -> None:
    """Not a client: the chat and its messages are deleted, and only a keyed digest of its
    id stays on the connection, so that it is never stored again. The audit entry counts
    the ignored chats and names none."""
    async with uow:
        chat = await _pending(uow, actor, chat_ref)
        connection = await uow.session.scalar(
            select(BusinessConnection).where(BusinessConnection.manager_id == actor.id)
        )
        if connection is not None:
            mark = digest(connection.salt, chat.chat_id)
            if mark not in connection.ignored:
                before = len(connection.ignored)
                connection.ignored = [*connection.ignored, mark]
                uow.audit(
                    actor.id, (ENTITY, connection.id), "ignore", {"ignored": [before, before + 1]}
                )
        await uow.session.execute(
            delete(BusinessMessage).where(BusinessMessage.chat_ref == chat.id)
        )
        await uow.session.delete(chat)
        await uow.commit()


async def pending_name(uow: UnitOfWork, actor: Actor, chat_ref: int) -> str:
    """The name of one of the actor's chats waiting for a decision (for the dialog)."""
    async with uow.read_only():
        return (await _pending(uow, actor, chat_ref)).name
