"""Forgotten clients: no interaction for N days.

Silence is counted from `Company.last_interaction_at`, or `created_at` for a client never
contacted (as the forgotten-client tasks do); lost clients are left out. Scoped by curator.
N left out (None): the company setting, as the daily forgotten-client job uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from crm.access import Actor
from crm.analytics.scope import reach
from crm.errors import InvalidInput
from crm.models import Company, Manager, utcnow
from crm.models.enums import CompanyStage
from crm.services.company_settings import read_forgotten_days
from crm.uow import UnitOfWork


@dataclass(frozen=True)
class ForgottenClient:
    company_id: int
    name: str
    curator: str
    silent_days: int
    never_contacted: bool


@dataclass(frozen=True)
class ForgottenReport:
    days: int
    count: int
    clients: list[ForgottenClient]  # longest silence first, at most `top`

    @property
    def empty(self) -> bool:
        return self.count == 0


def _where(actor: Actor, cutoff: datetime) -> tuple:  # type: ignore[type-arg]
    return (
        func.coalesce(Company.last_interaction_at, Company.created_at) < cutoff,
        Company.stage != CompanyStage.LOST.value,
        reach(actor, Company.curator_id),
    )


async def forgotten_count(
    uow: UnitOfWork, actor: Actor, days: int | None = None, *, now: datetime | None = None
) -> int:
    moment = now or utcnow()
    async with uow.read_only():
        if days is None:
            days = await read_forgotten_days(uow)
        cutoff = moment - timedelta(days=days)
        return int(
            await uow.session.scalar(select(func.count(Company.id)).where(*_where(actor, cutoff)))
            or 0
        )


async def forgotten_report(
    uow: UnitOfWork,
    actor: Actor,
    days: int | None = None,
    *,
    top: int = 10,
    now: datetime | None = None,
) -> ForgottenReport:
    if days is not None and not 1 <= days <= 3650:
        raise InvalidInput("days", "out_of_range", min=1, max=3650)
    if not 1 <= top <= 100:
        raise InvalidInput("top", "out_of_range", min=1, max=100)
    moment = now or utcnow()
    silent_since = func.coalesce(Company.last_interaction_at, Company.created_at)
    async with uow.read_only():
        if days is None:
            days = await read_forgotten_days(uow)
        where = _where(actor, moment - timedelta(days=days))
        count = await uow.session.scalar(select(func.count(Company.id)).where(*where))
        rows = list(
            await uow.session.execute(
                select(
                    Company.id,
                    Company.name,
                    Manager.name,
                    silent_since,
                    Company.last_interaction_at,
                )
                .join(Manager, Manager.id == Company.curator_id)
                .where(*where)
                .order_by(silent_since, Company.id)
                .limit(top)
            )
        )
    clients = []
    for cid, name, curator, since, last in rows:
        # `since` comes back raw from the coalesce on SQLite: read it through the column type.
        if isinstance(since, str):
            since = datetime.fromisoformat(since)
        if since.tzinfo is None:
            since = since.replace(tzinfo=moment.tzinfo)
        clients.append(ForgottenClient(cid, name, curator, (moment - since).days, last is None))
    return ForgottenReport(days=days, count=int(count or 0), clients=clients)
