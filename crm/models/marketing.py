"""Inbound inquiries, revenue facts and marketing events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import MONEY, QUANTITY, Base, UTCDateTime, utcnow


class Inquiry(Base):
    __tablename__ = "inquiries"
    # covers the inquiries report: a period's inquiries by source, read from the index alone
    __table_args__ = (
        Index("ix_inquiries_report", "received_at", "source", "manager_id", "deal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(50), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Sale(Base):
    """A revenue fact: a won deal or a row imported from accounting."""

    __tablename__ = "sales"
    __table_args__ = (
        Index("ix_sales_company_date", "company_id", "sold_on"),
        # the overdue payments (digest, /today, receivables): only the unpaid sales with a
        # due date, in due order, with what the reports sum (read without the table)
        Index(
            "ix_sales_unpaid",
            "due_on",
            "company_id",
            "manager_id",
            "amount",
            postgresql_where=text("paid_on IS NULL AND due_on IS NOT NULL"),
            sqlite_where=text("paid_on IS NULL AND due_on IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"), unique=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"), index=True)
    sold_on: Mapped[date] = mapped_column(Date, index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    cost: Mapped[Decimal | None] = mapped_column(MONEY)
    source: Mapped[str] = mapped_column(String(16), default="deal")
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    due_on: Mapped[date | None] = mapped_column(Date)  # payment due (None: not tracked)
    paid_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(100), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    place: Mapped[str | None] = mapped_column(String(300))
    topic: Mapped[str | None] = mapped_column(Text)
    budget: Mapped[Decimal | None] = mapped_column(MONEY)
    actual_cost: Mapped[Decimal | None] = mapped_column(MONEY)
    responsible_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # when the responsible manager was told that invitations failed (told once per event)
    failures_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventInvitee(Base):
    __tablename__ = "event_invitees"
    __table_args__ = (UniqueConstraint("event_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="invited")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
