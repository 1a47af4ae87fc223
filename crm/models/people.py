from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import MONEY, PERCENT, Base, UTCDateTime, utcnow


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Manager(Base):
    """Every member of staff who uses the bot, whatever the role."""

    __tablename__ = "managers"

    id: Mapped[int] = mapped_column(primary_key=True)
    tg_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="manager")
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    language: Mapped[str] = mapped_column(String(8), default="ru")
    digest_time: Mapped[time] = mapped_column(Time(), default=time(9, 0))
    sales_plan: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    commission_pct: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal(0))
    max_discount_pct: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the user blocked the bot (Telegram answered 403): nothing is sent to them until they
    # write to it again; since when, for /team
    bot_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    bot_blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")


class Invite(Base):
    """A single-use registration code with a role and an expiry."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
