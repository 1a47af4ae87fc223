"""The daily digest of a head or director (or anyone who asks with /digest): yesterday in
their timezone and the state of things now, all within their reach.

- yesterday: deals won (count and amount, by `closed_at`) and deals opened;
- the funnel in one line: open deals per stage now;
- open tasks past due, open claims past their SLA, forgotten clients (the company
  setting, 30 days by default);
- overdue payments of the clients in reach: count and sum, the worst (longest overdue)
  first;
- this month's forecast (weighted and by historical conversion) for deals expected to
  close in the current local month;
- movers: the clients whose ABC (by revenue) or XYZ class changed between the last 12
  full months and the 12 months before the last one (crm/analytics/movers.py), the
  largest first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from crm.access import Actor
from crm.analytics import forgotten
from crm.analytics.forecast import forecast_report
from crm.analytics.movers import MoversReport, movers_report
from crm.analytics.scope import Period, current_month, last_full_months, reach
from crm.db import rowcount
from crm.errors import InvalidInput
from crm.models import Claim, Company, Deal, DealPipeline, DigestLog, Manager, Task, utcnow
from crm.models.enums import OPEN_STAGES, ClaimStatus, DealStage, Role, TaskStatus
from crm.money import cents
from crm.services import company_settings, payments
from crm.services.business import waiting
from crm.services.payments import Overdue
from crm.uow import UnitOfWork
from crm.when import to_local

CENT = Decimal("0.01")
RECIPIENTS = (Role.HEAD, Role.DIRECTOR)  # "leadership gets a daily analytics digest"
MOVERS_SHOWN = 5
OVERDUE_SHOWN = 3


def receives_digest(role: str | Role) -> bool:
    """Whether this role gets the daily digest (and so has a digest time to set)."""
    return Role(role) in RECIPIENTS


async def recipients(uow: UnitOfWork, tg_id: int | None = None) -> list[Manager]:
    """Whom digests are sent to now: the active member of staff with this Telegram id
    (whatever their role: they asked), or every active head and director."""
    query = select(Manager).where(Manager.active.is_(True))
    query = (
        query.where(Manager.tg_id == tg_id)
        if tg_id is not None
        else query.where(Manager.role.in_([role.value for role in RECIPIENTS]))
    )
    async with uow.read_only():
        return list(await uow.session.scalars(query.order_by(Manager.id)))


@dataclass(frozen=True)
class Digest:
    day: date  # the local day reported on ("yesterday")
    won_deals: int
    won_amount: Decimal
    new_deals: int
    open_by_stage: dict[str, int]  # lead … negotiation, zeros included
    overdue_tasks: int
    claims_past_sla: int
    forgotten: int
    forgotten_days: int
    month: str  # "2026-03": the local month of the forecast
    forecast_deals: int
    forecast_weighted: Decimal
    forecast_historical: Decimal
    movers: MoversReport
    # clients of the Telegram Business chats waiting past the reply time (their reach)
    waiting_clients: int = 0
    # unpaid sales past their due date of the clients in reach, the worst first
    overdue_payments: Overdue = field(default_factory=lambda: Overdue(0, Decimal("0.00"), []))

    @property
    def open_deals(self) -> int:
        return sum(self.open_by_stage.values())


async def build_digest(
    uow: UnitOfWork,
    actor: Actor,
    *,
    now: datetime | None = None,
    forgotten_days: int | None = None,
) -> Digest:
    """`forgotten_days`: the company setting (crm.services.company_settings) when None."""
    moment = now or utcnow()
    today = to_local(moment, actor.timezone).date()
    yesterday = today - timedelta(days=1)
    start, end = Period(yesterday, today).utc_bounds(actor.timezone)
    mine = reach(actor, Deal.curator_id)
    open_claim = Claim.status.in_((ClaimStatus.NEW.value, ClaimStatus.INVESTIGATING.value))
    claims_query = select(func.count(Claim.id)).where(open_claim, Claim.due_at < moment)
    if not actor.is_director:
        claims_query = claims_query.join(Company, Company.id == Claim.company_id).where(
            or_(reach(actor, Claim.responsible_id), reach(actor, Company.curator_id))
        )
    # the movers, the heaviest part, are read beside the rest on a connection of their own
    moving = asyncio.create_task(
        movers_report(uow.sibling(), actor, last_full_months(today), top=MOVERS_SHOWN)
    )
    try:
        async with uow.read_only():
            session = uow.session
            won_deals, won_amount = (
                await session.execute(
                    select(func.count(Deal.id), func.coalesce(func.sum(Deal.amount), 0)).where(
                        mine,
                        Deal.stage == DealStage.WON.value,
                        Deal.closed_at >= start,
                        Deal.closed_at < end,
                    )
                )
            ).one()
            new_deals = await session.scalar(
                select(func.count(Deal.id)).where(
                    mine, Deal.created_at >= start, Deal.created_at < end
                )
            )
            by_stage = dict.fromkeys((s.value for s in OPEN_STAGES), 0)
            for stage, count in await session.execute(  # from the rollup kept by triggers
                select(DealPipeline.stage, func.sum(DealPipeline.deals))
                .where(
                    reach(actor, DealPipeline.curator_id), DealPipeline.stage.in_(list(by_stage))
                )
                .group_by(DealPipeline.stage)
            ):
                by_stage[stage] = int(count)
            overdue = await session.scalar(
                select(func.count(Task.id)).where(
                    Task.status == TaskStatus.OPEN.value,
                    Task.due_at < moment,
                    reach(actor, Task.assignee_id),
                )
            )
            past_sla = await session.scalar(claims_query)
            if forgotten_days is None:
                forgotten_days = await company_settings.read_forgotten_days(uow)
        silent = await forgotten.forgotten_count(uow, actor, forgotten_days, now=moment)
        outlook = await forecast_report(uow, actor, closing_in=current_month(today))
        waiting_clients = await waiting.waiting_for(uow, actor, moment, overdue_only=True)
        owed = await payments.overdue(uow, reach(actor, Company.curator_id), today, OVERDUE_SHOWN)
        moved = await moving
    finally:
        moving.cancel()  # nothing when it is done; stops it when the rest failed
    month_key = today.strftime("%Y-%m")
    month = outlook.month(month_key)
    return Digest(
        day=yesterday,
        won_deals=int(won_deals),
        won_amount=cents(Decimal(str(won_amount))),
        new_deals=int(new_deals or 0),
        open_by_stage=by_stage,
        overdue_tasks=int(overdue or 0),
        claims_past_sla=int(past_sla or 0),
        forgotten=silent,
        forgotten_days=forgotten_days,
        month=month_key,
        forecast_deals=month.deals if month else 0,
        forecast_weighted=month.weighted if month else Decimal("0.00"),
        forecast_historical=month.historical if month else Decimal("0.00"),
        movers=moved,
        waiting_clients=len(waiting_clients),
        overdue_payments=owed,
    )


# ------------------------------------------------------------------ the daily schedule


@dataclass(frozen=True)
class DueDigest:
    manager_id: int
    local_date: date


async def due_digests(uow: UnitOfWork, now: datetime) -> list[DueDigest]:
    """Heads and directors whose digest time has come today (their local day) and who have
    not had today's digest yet. A digest missed while the bot was down is still due later
    the same local day; the next day it is not (that day has its own). Someone who joined
    after today's digest time has their first digest tomorrow."""
    async with uow.read_only():
        leaders = list(
            await uow.session.execute(
                select(Manager.id, Manager.timezone, Manager.digest_time, Manager.created_at).where(
                    Manager.active.is_(True),
                    Manager.bot_blocked.is_(False),
                    Manager.role.in_([role.value for role in RECIPIENTS]),
                )
            )
        )
        candidates = []
        for manager_id, tz, digest_time, created_at in leaders:
            try:
                local = to_local(now, tz)
            except InvalidInput:
                continue
            at = digest_time or time(9, 0)
            due_at = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
            if local >= due_at and (created_at is None or created_at <= due_at):
                candidates.append(DueDigest(manager_id, local.date()))
        if not candidates:
            return []
        sent = set(
            (
                await uow.session.execute(
                    select(DigestLog.manager_id, DigestLog.local_date).where(
                        DigestLog.manager_id.in_([c.manager_id for c in candidates]),
                        DigestLog.local_date >= min(c.local_date for c in candidates),
                    )
                )
            ).all()
        )
    return [c for c in candidates if (c.manager_id, c.local_date) not in sent]


async def claim_digest(uow: UnitOfWork, due: DueDigest, now: datetime | None = None) -> bool:
    """Record the digest of that local day as sent; False if someone already did.

    INSERT … ON CONFLICT DO NOTHING on the (manager_id, local_date) pair: of two
    schedulers (or a restart racing the old process) exactly one wins.
    """
    async with uow:
        dialect = uow.session.get_bind().dialect.name
        module = postgresql if dialect == "postgresql" else sqlite
        result = await uow.session.execute(
            module.insert(DigestLog)
            .values(manager_id=due.manager_id, local_date=due.local_date, sent_at=now or utcnow())
            .on_conflict_do_nothing(index_elements=["manager_id", "local_date"])
        )
        await uow.commit()
    return bool(rowcount(result))
