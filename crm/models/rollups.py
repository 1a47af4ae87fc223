"""Monthly sales rollups: what the sales reports read instead of the sales themselves.

One row per company and calendar month with sales, and one per manager and month
(sales credited to nobody are in the company rollup only). Money is kept in whole
cents (BIGINT): sums are exact on SQLite, whose NUMERIC is a float, and on PostgreSQL.
`cost_cents` sums the known costs (an unknown cost counts as zero, as margin does).
`crm.analytics.rollups` keeps them in the transaction of every change to `sales`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer
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
