from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import MONEY, Base, UTCDateTime, utcnow


class ClaimCause(Base):
    """Cause categories of claims; directors can add their own."""

    __tablename__ = "claim_causes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(100))


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_status_due", "status", "due_at"),
        Index("ix_claims_responsible_status", "responsible_id", "status"),
        # Covers every column the claims report reads, so a report over a long period is
        # an index-only range scan instead of one table lookup per claim.
        Index(
            "ix_claims_report",
            "created_at",
            "status",
            "priority",
            "cause",
            "company_id",
            "responsible_id",
            "due_at",
            "resolved_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(String(32), default="other")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="new")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    responsible_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    compensation: Mapped[Decimal | None] = mapped_column(MONEY)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClaimAttachment(Base):
    __tablename__ = "claim_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    file_size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
