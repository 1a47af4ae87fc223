"""The sales reports worked out in plain Python from the raw sales, exactly (whole cents and
integers): the oracle the rollup-based reports of crm.analytics are held to."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from crm.access import Actor
from crm.analytics.abc_xyz import ABC_CLASSES, XYZ_COLUMNS, AbcMetric
from crm.analytics.scope import Period
from crm.models import Company, Manager, Sale
from crm.models.enums import Role
from crm.storage import Database


@dataclass(frozen=True)
class RawSale:
    company_id: int
    manager_id: int | None
    sold_on: date
    revenue: int  # cents
    cost: int  # cents, unknown = 0


@dataclass
class Raw:
    sales: list[RawSale]
    curator: dict[int, int]  # company -> curator
    stage: dict[int, str]
    department: dict[int, int | None]  # manager -> department
    staff: dict[int, tuple[str, bool]]  # manager -> (role, active)


def _cents(value: Decimal | None) -> int:
    if value is None:
        return 0
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def load(db: Database) -> Raw:
    async with db.uow() as uow:
        sales = [
            RawSale(c, m, d, _cents(a), _cents(k))
            for c, m, d, a, k in await uow.session.execute(
                select(Sale.company_id, Sale.manager_id, Sale.sold_on, Sale.amount, Sale.cost)
            )
        ]
        companies = list(
            await uow.session.execute(select(Company.id, Company.curator_id, Company.stage))
        )
        people = list(
            await uow.session.execute(
                select(Manager.id, Manager.department_id, Manager.role, Manager.active)
            )
        )
    return Raw(
        sales=sales,
        curator={cid: cur for cid, cur, _ in companies},
        stage={cid: stage for cid, _, stage in companies},
        department={mid: dept for mid, dept, _, _ in people},
        staff={mid: (role, active) for mid, _, role, active in people},
    )


def sees(raw: Raw, actor: Actor, owner: int) -> bool:
    if actor.role is Role.DIRECTOR:
        return True
    if actor.role is Role.HEAD and actor.department_id is not None:
        return raw.department.get(owner) == actor.department_id
    return owner == actor.id


def values(raw: Raw, actor: Actor, period: Period, metric: AbcMetric) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for s in raw.sales:
        if period.start <= s.sold_on < period.end and sees(raw, actor, raw.curator[s.company_id]):
            out[s.company_id] += {
                AbcMetric.REVENUE: s.revenue,
                AbcMetric.MARGIN: s.revenue - s.cost,
                AbcMetric.COUNT: 1,
            }[metric]
    return dict(out)


def abc(
    raw: Raw, actor: Actor, period: Period, metric: AbcMetric, thresholds=(80, 15, 5)
) -> list[tuple[int, int, str]]:
    """(company, value, class), highest value first."""
    by_company = values(raw, actor, period, metric)
    ranked = sorted(by_company.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(by_company.values())
    a, b = thresholds[0], thresholds[0] + thresholds[1]
    out, before = [], 0
    for company, value in ranked:
        if total <= 0:
            cls = "C"
        elif before * 100 < total * a:
            cls = "A"
        elif before * 100 < total * b:
            cls = "B"
        else:
            cls = "C"
        out.append((company, value, cls))
        before += value
    return out


def xyz(raw: Raw, actor: Actor, period: Period, thresholds=(10, 25)) -> dict[int, str]:
    """company -> X/Y/Z or its stage, for every company the actor sees."""
    monthly: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for s in raw.sales:
        if period.start <= s.sold_on < period.end:
            monthly[s.company_id][s.sold_on.replace(day=1)] += s.revenue
    n = period.months
    out = {}
    for company, curator in raw.curator.items():
        if not sees(raw, actor, curator):
            continue
        stage = raw.stage[company]
        if stage != "regular":
            out[company] = stage
            continue
        months = monthly.get(company, {})
        t = sum(months.values())
        q = sum(v * v for v in months.values())
        if t <= 0:
            out[company] = "Z"
            continue
        spread = n * q - t * t
        x, y = thresholds
        out[company] = (
            "X"
            if spread * 10000 <= t * t * x * x
            else "Y"
            if spread * 10000 <= t * t * y * y
            else "Z"
        )
    return out


def matrix(raw: Raw, actor: Actor, period: Period) -> dict[tuple[str, str], int]:
    classes = xyz(raw, actor, period)
    cells = {(a, x): 0 for a in ABC_CLASSES for x in XYZ_COLUMNS}
    for company, _, cls in abc(raw, actor, period, AbcMetric.REVENUE):
        cells[(cls, classes[company])] += 1
    return cells


def managers(raw: Raw, actor: Actor, period: Period) -> dict[int, int]:
    """Revenue (cents) of every active manager and head the actor sees."""
    out = {
        mid: 0
        for mid, (role, active) in raw.staff.items()
        if active and role in ("manager", "head") and sees(raw, actor, mid)
    }
    for s in raw.sales:
        if s.manager_id in out and period.start <= s.sold_on < period.end:
            out[s.manager_id] += s.revenue
    return out


def movers(
    raw: Raw, actor: Actor, period: Period, previous: Period, metric: AbcMetric
) -> list[tuple[int, str | None, str | None, str | None, str | None, int, int]]:
    """(company, abc before, abc after, xyz before, xyz after, value before, value after)."""
    then = {c: (v, cls) for c, v, cls in abc(raw, actor, previous, metric)}
    now = {c: (v, cls) for c, v, cls in abc(raw, actor, period, metric)}
    x_then, x_now = xyz(raw, actor, previous), xyz(raw, actor, period)
    out = []
    for company in then.keys() | now.keys():
        v0, a0 = then.get(company, (0, None))
        v1, a1 = now.get(company, (0, None))
        x0 = x_then[company] if x_then[company] in "XYZ" else None
        x1 = x_now[company] if x_now[company] in "XYZ" else None
        if a0 != a1 or x0 != x1:
            out.append((company, a0, a1, x0, x1, v0, v1))
    return sorted(out, key=lambda m: (-max(m[5], m[6]), m[0]))
