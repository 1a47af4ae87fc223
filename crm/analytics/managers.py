"""Manager effectiveness: won revenue, plan %, commission, activity, overdue tasks.

Per active manager or head in the actor's reach (a manager sees their own row):
- revenue: Σ `sales.amount` credited to them with `sold_on` in the period (whole months,
  read from the monthly rollups `sales_manager_months`);
- plan %: revenue / (monthly `sales_plan` × months of the period) × 100, None without a plan;
- commission: revenue × `commission_pct` / 100;
- activity: interactions they logged as done in the period (local midnight bounds);
- overdue: their open tasks due before `now`.
Revenue is a grouped subquery joined to `managers`, activity and overdue tasks are counted
per manager by key; one row per manager comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from crm.access import Actor
from crm.analytics.abc_xyz import check_period, money
from crm.analytics.scope import Period, reach
from crm.models import Interaction, Manager, ManagerSalesMonth, Task, utcnow
from crm.models.enums import InteractionStatus, Role, TaskStatus
from crm.money import cents
from crm.uow import UnitOfWork

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ManagerRow:
    manager_id: int
    name: str
    revenue: Decimal
    plan: Decimal  # for the period
    plan_pct: float | None
    commission: Decimal
    activity: int
    overdue_tasks: int


@dataclass(frozen=True)
class ManagersReport:
    period: Period
    rows: list[ManagerRow]  # most revenue first

    @property
    def empty(self) -> bool:
        return not self.rows

    @property
    def revenue(self) -> Decimal:
        return sum((r.revenue for r in self.rows), Decimal(0))


async def managers_report(
    uow: UnitOfWork, actor: Actor, period: Period, *, now: datetime | None = None
) -> ManagersReport:
    check_period(period)
    moment = now or utcnow()
    start, end = period.utc_bounds(actor.timezone)
    revenue = (
        select(
            ManagerSalesMonth.manager_id.label("mid"),
            func.sum(ManagerSalesMonth.revenue_cents).label("v"),
        )
        .where(ManagerSalesMonth.month >= period.start, ManagerSalesMonth.month < period.end)
        .group_by(ManagerSalesMonth.manager_id)
        .subquery()
    )
    # counted per manager by key: index-only range scans of ix_interactions_manager_status_at
    # and ix_tasks_assignee_status_due. Grouped over the whole tables instead, PostgreSQL
    # read all the interactions (200,000 at a million sales, 52 ms against 16 ms).
    activity = (
        select(func.count())
        .where(
            Interaction.manager_id == Manager.id,
            Interaction.status == InteractionStatus.DONE.value,
            Interaction.occurred_at >= start,
            Interaction.occurred_at < end,
        )
        .scalar_subquery()
    )
    overdue = (
        select(func.count())
        .where(
            Task.assignee_id == Manager.id,
            Task.status == TaskStatus.OPEN.value,
            Task.due_at < moment,
        )
        .scalar_subquery()
    )
    won = func.coalesce(revenue.c.v, 0)
    query = (
        select(
            Manager.id,
            Manager.name,
            won,
            Manager.sales_plan,
            Manager.commission_pct,
            activity,
            overdue,
        )
        .outerjoin(revenue, revenue.c.mid == Manager.id)
        .where(
            reach(actor, Manager.id),
            Manager.active.is_(True),
            Manager.role.in_((Role.MANAGER.value, Role.HEAD.value)),
        )
        .order_by(won.desc(), Manager.name, Manager.id)
    )
    async with uow.read_only():
        result = list(await uow.session.execute(query))
    rows = []
    for mid, name, value, monthly_plan, pct, acts, late in result:
        value = money(value)
        plan = cents(Decimal(str(monthly_plan or 0)) * period.months)
        rows.append(
            ManagerRow(
                manager_id=mid,
                name=name,
                revenue=value,
                plan=plan,
                plan_pct=float(value / plan * 100) if plan > 0 else None,
                commission=cents(value * Decimal(str(pct or 0)) / 100),
                activity=int(acts),
                overdue_tasks=int(late),
            )
        )
    return ManagersReport(period=period, rows=rows)
