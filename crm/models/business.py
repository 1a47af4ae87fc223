"""Telegram Business: a manager's connected account, the client chats it logs, and their
messages (the conversations themselves are interactions of kind "message")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base, UTCDateTime, utcnow


class BusinessConnection(Base):
    """One per manager: the bot connected to their Telegram Business account.

    `connection_id` is Telegram's; a new connection of the same manager replaces it.
    `ignored` holds keyed digests (`salt`) of the chats the manager said are not clients:
    nothing else of those chats is kept anywhere.
    """

    __tablename__ = "business_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    manager_id: Mapped[int] = mapped_column(
        ForeignKey("managers.id", ondelete="CASCADE"), unique=True
    )
    connection_id: Mapped[str] = mapped_column(String(128), unique=True)
    user_chat_id: Mapped[int] = mapped_column(BigInteger)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    can_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    salt: Mapped[str] = mapped_column(String(32))
    ignored: Mapped[list[str]] = mapped_column(JSON, default=list)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BusinessChat(Base):
    """A private chat of a manager's business account with one Telegram user.

    status: pending (asked the manager who this is), linked (logged with `contact_id`),
    stopped (the manager stopped logging it). `conversation_id` is the conversation the
    next message joins if it comes within the gap; `waiting_since` is the first client
    message the manager has not answered yet.
    """

    __tablename__ = "business_chats"
    __table_args__ = (
        UniqueConstraint("manager_id", "chat_id", name="uq_business_chats_manager_chat"),
        Index("ix_business_chats_status_waiting", "status", "waiting_since"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL")
    )
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiting_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BusinessMessage(Base):
    """One message of a logged (or pending) chat; its text is gone once deleted."""

    __tablename__ = "business_messages"
    __table_args__ = (
        UniqueConstraint("chat_ref", "message_id", name="uq_business_messages_chat_message"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_ref: Mapped[int] = mapped_column(ForeignKey("business_chats.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    outgoing: Mapped[bool] = mapped_column(Boolean)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text, default="")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
