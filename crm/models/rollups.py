"""Monthly sales rollups: what the sales reports read instead of the sales themselves.

One row per company and calendar month with sales, and one per manager and month
(sales credited to nobody are in the company rollup only). Money is kept in whole
cents (BIGINT): sums are exact on SQLite, whose NUMERIC is a float, and on PostgreSQL.
`cost_cents` sums the known costs (an unknown cost counts as zero, as margin does).
`crm.analytics.rollups` keeps them in the transaction of every change to `sales`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.base import Base


class CompanySalesMonth(Base):
    __tablename__ = "sales_company_months"
    __table_args__ = (  # covering: a period's rows are read from the index alone
        Index(
            "ix_sales_company_months_month",
            "month",
            "company_id",
            "revenue_cents",
            "cost_cents",
            "sales",
        ),
    )

    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    sales: Mapped[int] = mapped_column(Integer, default=0)


class ManagerSalesMonth(Base):
    __tablename__ = "sales_manager_months"
    __table_args__ = (
        Index(
            "ix_sales_manager_months_month",
            "month",
            "manager_id",
            "revenue_cents",
            "cost_cents",
            "sales",
        ),
    )

    manager_id: Mapped[int] = mapped_column(
        ForeignKey("managers.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    sales: Mapped[int] = mapped_column(Integer, default=0)


# --- deals ------------------------------------------------------------------------------
# Kept by database triggers on `deals` (migration 0014: SQLite triggers, a PL/pgSQL
# function on PostgreSQL), so every write is counted in its own transaction whoever makes
# it: the ORM, a bulk UPDATE (reassignment, duplicates), a cascade from a deleted company,
# an import. A future migration must not rebuild `deals` by copy on SQLite (batch mode):
# dropping the table drops its triggers (and, with foreign keys on, its children).

NO_CLOSE_DATE = date(1, 1, 1)  # close_month of deals without an expected close date


class DealPipeline(Base):
    """Deals per curator, stage, reached rank and expected close month, with their amount
    and Σ amount × probability (in cents × percent): the forecast, its stage conversion
    and the digest's open deals per stage."""

    __tablename__ = "deal_pipeline"

    curator_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    reached_rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    close_month: Mapped[date] = mapped_column(Date, primary_key=True)  # or NO_CLOSE_DATE
    deals: Mapped[int] = mapped_column(Integer, default=0)
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    weighted: Mapped[int] = mapped_column(BigInteger, default=0)  # Σ cents × probability


class DealCreatedDay(Base):
    """Deals per curator, UTC day of creation, furthest funnel rank and lost or not: the
    funnel of a period (whole UTC months from DealCreatedMonth, the days around them from
    here, the hours at the edges from the deals)."""

    __tablename__ = "deal_created_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    curator_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    lost: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # 1: the deal is lost
    deals: Mapped[int] = mapped_column(Integer, default=0)


class DealCreatedMonth(Base):
    __tablename__ = "deal_created_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day, UTC
    curator_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    lost: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    deals: Mapped[int] = mapped_column(Integer, default=0)
