"""Duplicate control: requests for a client someone else serves, merges and their undo,
pairs marked "not a duplicate"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base, UTCDateTime, utcnow


class ClientRequest(Base):
    """A manager asks for a client (company or contact) that another manager curates.

    The curator's head (or a director) approves, and the client is transferred, or declines.
    """

    __tablename__ = "client_requests"
    __table_args__ = (Index("ix_client_requests_entity", "kind", "entity_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # companies | contacts
    entity_id: Mapped[int] = mapped_column(Integer)
    requester_id: Mapped[int] = mapped_column(ForeignKey("managers.id"), index=True)
    curator_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MergeLog(Base):
    """One merge: the loser's row as it was and every row that moved, so undo can put back."""

    __tablename__ = "merge_log"
    __table_args__ = (Index("ix_merge_log_kind_survivor", "kind", "survivor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # companies | contacts
    survivor_id: Mapped[int] = mapped_column(Integer)
    loser_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))
    log: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotDuplicate(Base):
    """A pair a head or director said are two different clients: never proposed again."""

    __tablename__ = "not_duplicates"
    __table_args__ = (UniqueConstraint("kind", "first_id", "second_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    first_id: Mapped[int] = mapped_column(Integer)  # the smaller id
    second_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
