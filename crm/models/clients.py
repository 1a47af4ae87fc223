from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from crm.matching import company_key  # plain text folding (crm/text.py): no model
from crm.models.base import MONEY, Base, UTCDateTime, utcnow
from crm.models.people import Manager


def _match_key(context: DefaultExecutionContext) -> str:
    """Rows inserted without a match key (bulk loads, fixtures) get it from their name."""
    return company_key(str(context.get_current_parameters().get("name") or ""))


class Company(Base):
    """A counterparty; `curator_id` is the manager who owns the relationship."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    # crm/matching.py company_key(name): what the duplicate check compares
    match_key: Mapped[str] = mapped_column(String(200), index=True, default=_match_key)
    inn: Mapped[str | None] = mapped_column(String(20), index=True)
    industry: Mapped[str | None] = mapped_column(String(100))
    territory: Mapped[str | None] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    curator_id: Mapped[int] = mapped_column(ForeignKey("managers.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default="potential")
    credit_limit: Mapped[Decimal | None] = mapped_column(MONEY)
    payment_deferral_days: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    curator: Mapped[Manager] = relationship(lazy="joined")
    parent: Mapped[Company | None] = relationship(remote_side=[id], lazy="raise")

    @validates("name")
    def _keep_match_key(self, _key: str, name: str) -> str:
        self.match_key = company_key(name or "")
        return name


class Contact(Base):
    __tablename__ = "contacts"
    # the duplicate check at the door compares emails in any capitals (0015)
    __table_args__ = (Index("ix_contacts_email_lower", func.lower(text("email"))),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    curator_id: Mapped[int] = mapped_column(ForeignKey("managers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    tg_username: Mapped[str | None] = mapped_column(String(64), index=True)
    tg_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    decision_role: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    birthday: Mapped[date | None] = mapped_column(Date)
    email_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    company: Mapped[Company | None] = relationship(lazy="joined")


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_company_at", "company_id", "occurred_at"),
        Index("ix_interactions_contact_at", "contact_id", "occurred_at"),
        Index("ix_interactions_manager_status_at", "manager_id", "status", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16), default="done")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    summary: Mapped[str] = mapped_column(Text, default="")
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"), index=True
    )
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # where it took place when not told by hand: "telegram" for a logged business chat
    channel: Mapped[str | None] = mapped_column(String(16))


class Product(Base):
    """The shared catalogue every manager reads."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    unit_cost: Mapped[Decimal | None] = mapped_column(MONEY)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
