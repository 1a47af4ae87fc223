"""Tasks, reminders and the playbooks that create them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import Base, UTCDateTime, utcnow


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_status_due", "assignee_id", "status", "due_at"),
        Index("ix_tasks_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assignee_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    kind: Mapped[str] = mapped_column(String(32), default="manual")
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), index=True
    )
    claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    # the reminder of a planned interaction (kind "interaction") follows it
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_late: Mapped[bool] = mapped_column(Boolean, default=False)
    snooze_count: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Playbook(Base):
    """A typical plan of work: steps with day offsets, turned into tasks."""

    __tablename__ = "playbooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="deal")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    steps: Mapped[list[PlaybookStep]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="PlaybookStep.position"
    )


class PlaybookStep(Base):
    __tablename__ = "playbook_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(
        ForeignKey("playbooks.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
