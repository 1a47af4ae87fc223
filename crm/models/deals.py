from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import MONEY, PERCENT, QUANTITY, Base, UTCDateTime, utcnow
from crm.models.clients import Company, Contact, Product
from crm.money import cents


class Deal(Base):
    """An offer to a client moving through the pipeline."""

    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_curator_stage", "curator_id", "stage"),
        Index("ix_deals_company", "company_id"),
        # the funnel of a period, the forecast and its stage conversion read these alone
        Index("ix_deals_created_funnel", "created_at", "curator_id", "stage", "reached_rank"),
        Index("ix_deals_stage_reached", "stage", "reached_rank", "curator_id"),
        Index(
            "ix_deals_open_forecast",
            "stage",
            "expected_close",
            "curator_id",
            "amount",
            "probability",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    curator_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))
    title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(16), default="lead")
    # the furthest funnel stage the deal ever reached (enums.funnel_rank: 0 lead … 4 won; a
    # lost deal keeps what it reached before): raised by every stage move, never lowered
    reached_rank: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    probability: Mapped[int] = mapped_column(Integer, default=10)
    expected_close: Mapped[date | None] = mapped_column(Date, index=True)
    source: Mapped[str | None] = mapped_column(String(50))
    lost_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    deferral_days: Mapped[int | None] = mapped_column(Integer)  # None: the company's
    terms_approval: Mapped[str] = mapped_column(
        String(16), default="not_needed", server_default="not_needed"
    )
    terms_approved_by_id: Mapped[int | None] = mapped_column(Integer)  # a manager (0012: no FK)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    company: Mapped[Company] = relationship(lazy="joined")
    contact: Mapped[Contact | None] = relationship(lazy="raise")
    lines: Mapped[list[DealLine]] = relationship(
        back_populates="deal", lazy="raise", cascade="all, delete-orphan", order_by="DealLine.id"
    )


class DealLine(Base):
    """A line item; a discount above the manager's limit waits for a head's approval."""

    __tablename__ = "deal_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    discount_pct: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal(0))
    approval: Mapped[str] = mapped_column(String(16), default="not_needed")
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))

    deal: Mapped[Deal] = relationship(back_populates="lines", lazy="raise")
    product: Mapped[Product] = relationship(lazy="joined")

    @property
    def total(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return cents(gross * (100 - self.discount_pct) / 100)


class DealStageChange(Base):
    __tablename__ = "deal_stage_changes"
    __table_args__ = (Index("ix_deal_stage_changes_deal_at", "deal_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
