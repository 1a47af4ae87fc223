"""A manager's Telegram Business connection: connected, changed, disconnected; its chats.

Only members of staff connect: a stranger's connection is never passed here (the bot
refuses it before). One row per manager; `enabled` false (disconnected in Telegram, or
is_enabled=false) stops logging at once, since every message looks its connection up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from crm.access import Actor
from crm.errors import AccessDenied
from crm.models import BusinessChat, BusinessConnection, utcnow
from crm.models.enums import ChatStatus
from crm.uow import UnitOfWork

ENTITY = "business_connections"
CHATS_PAGE = 10


@dataclass(frozen=True)
class ConnectionInfo:
    """What Telegram says of a connection (aiogram's BusinessConnection, in plain values)."""

    connection_id: str
    user_chat_id: int
    enabled: bool
    can_reply: bool
    at: datetime


@dataclass(frozen=True)
class Change:
    """What a business_connection update changed: connected (new or re-enabled),
    disconnected, or only its rights (`can_reply`)."""

    connected: bool
    disconnected: bool
    can_reply: bool


async def record(uow: UnitOfWork, actor: Actor, info: ConnectionInfo) -> Change:
    """Store the actor's connection as Telegram now describes it; audited."""
    async with uow:
        row = await uow.session.scalar(
            select(BusinessConnection).where(BusinessConnection.manager_id == actor.id)
        )
        was_enabled = row is not None and row.enabled
        now = utcnow()
        if row is None:
            if not info.enabled:
                return Change(False, False, info.can_reply)  # never connected: nothing to keep
            row = BusinessConnection(
                manager_id=actor.id,
                connection_id=info.connection_id,
                user_chat_id=info.user_chat_id,
                enabled=True,
                can_reply=info.can_reply,
                salt=secrets.token_hex(16),
                ignored=[],
                connected_at=now,
                updated_at=now,
            )
            uow.session.add(row)
            await uow.flush()
            uow.audit(
                actor.id,
                row,
                "connect",
                {"connection_id": [None, info.connection_id], "can_reply": [None, info.can_reply]},
            )
        else:
            changes = uow.apply(
                actor.id,
                row,
                connection_id=info.connection_id,
                user_chat_id=info.user_chat_id,
                enabled=info.enabled,
                can_reply=info.can_reply,
            )
            if changes:
                row.updated_at = now
                if info.enabled and not was_enabled:
                    row.connected_at = now
                    uow.audit(actor.id, row, "connect", {})
                elif was_enabled and not info.enabled:
                    uow.audit(actor.id, row, "disconnect", {})
                    await _forget_waits(uow, actor.id)
        await uow.commit()
    return Change(
        connected=info.enabled and not was_enabled,
        disconnected=was_enabled and not info.enabled,
        can_reply=info.can_reply,
    )


async def _forget_waits(uow: UnitOfWork, manager_id: int) -> None:
    """Disconnected: the bot no longer sees the manager's answers, so no client of theirs
    waits any more (nor is reminded of after a reconnect), and the next message logged
    after a reconnect begins a new conversation."""
    await uow.session.execute(
        update(BusinessChat)
        .where(BusinessChat.manager_id == manager_id)
        .values(conversation_id=None, waiting_since=None, waiting_reminded_at=None)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class ChatLine:
    id: int
    name: str
    username: str | None
    status: str
    contact_id: int | None
    last_message_at: datetime | None


@dataclass(frozen=True)
class State:
    connected: bool
    can_reply: bool
    since: datetime | None
    chats: list[ChatLine]
    total: int


async def state(uow: UnitOfWork, actor: Actor, offset: int = 0) -> State:
    """/business: the actor's connection and the chats it logs, latest first."""
    async with uow.read_only():
        row = await uow.session.scalar(
            select(BusinessConnection).where(BusinessConnection.manager_id == actor.id)
        )
        scope = (
            BusinessChat.manager_id == actor.id,
            BusinessChat.status == ChatStatus.LINKED.value,
        )
        total = await uow.session.scalar(
            select(func.count()).select_from(BusinessChat).where(*scope)
        )
        rows = await uow.session.scalars(
            select(BusinessChat)
            .where(*scope)
            .order_by(BusinessChat.last_message_at.desc(), BusinessChat.id.desc())
            .offset(max(0, offset))
            .limit(CHATS_PAGE)
        )
        chats = [
            ChatLine(c.id, c.name, c.username, c.status, c.contact_id, c.last_message_at)
            for c in rows
        ]
    enabled = row is not None and row.enabled
    return State(
        connected=enabled,
        can_reply=enabled and row is not None and row.can_reply,
        since=row.connected_at if enabled and row is not None else None,
        chats=chats,
        total=int(total or 0),
    )


async def stop_chat(uow: UnitOfWork, actor: Actor, chat_ref: int) -> ChatLine:
    """Stop logging one of the actor's chats (what was logged stays); audited."""
    async with uow:
        chat = await own_chat(uow, actor, chat_ref)
        if uow.apply(
            actor.id,
            chat,
            status=ChatStatus.STOPPED.value,
            conversation_id=None,
            waiting_since=None,
        ):
            await uow.commit()
    return ChatLine(
        chat.id, chat.name, chat.username, chat.status, chat.contact_id, chat.last_message_at
    )


async def own_chat(uow: UnitOfWork, actor: Actor, chat_ref: int) -> BusinessChat:
    """One of the actor's own business chats (only its owner acts on it); else AccessDenied."""
    chat = await uow.session.scalar(
        select(BusinessChat).where(BusinessChat.id == chat_ref, BusinessChat.manager_id == actor.id)
    )
    if chat is None:
        raise AccessDenied("chat")
    return chat
