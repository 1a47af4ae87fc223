"""ABC and XYZ by holding: the same reports with each company's sales counted under its
holding (crm/services/holdings.py `holding_ids`: the highest company up its chain of
parents the reader sees), so a holding's figure is the sum of its members' figures.

ABC: a holding's value is the sum of its members' values (cents or sales), then ranked
and classed as companies are. XYZ: a holding's monthly purchases are the sums of its
members' months, so its T is the sum of theirs and its Q the sum of the squares of those
monthly sums; a holding takes the most engaged stage among its members (regular, then
one-time, potential, lost): a holding with one regular member is a regular client.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from crm.access import Actor
from crm.analytics import abc_xyz, ranking
from crm.analytics.abc_xyz import (
    ABC_THRESHOLDS,
    XYZ_COLUMNS,
    XYZ_THRESHOLDS,
    AbcMetric,
    AbcReport,
    Months,
    XyzCompany,
    XyzReport,
)
from crm.analytics.scope import Period, reach
from crm.errors import InvalidInput
from crm.models import Company
from crm.models.enums import CompanyStage
from crm.services import holdings
from crm.uow import UnitOfWork

ENGAGEMENT = (
    CompanyStage.REGULAR.value,
    CompanyStage.ONE_TIME.value,
    CompanyStage.POTENTIAL.value,
    CompanyStage.LOST.value,
)


def _check_top(top: int) -> None:
    if not 1 <= top <= 100:
        raise InvalidInput("top", "out_of_range", min=1, max=100)


async def abc_by_holding(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    metric: AbcMetric = AbcMetric.REVENUE,
    *,
    thresholds: tuple[int, int, int] = ABC_THRESHOLDS,
    top: int = 10,
) -> AbcReport:
    """`abc_xyz.abc_report` with holdings in place of companies (`company_id` = the holding)."""
    abc_xyz.check_period(period)
    ranking.classify_abc({}, thresholds)  # checks the thresholds
    _check_top(top)
    async with uow.read_only():
        values = await ranking.company_values(uow, actor, period, metric)
        groups = await holdings.holding_ids(uow, actor, values)
        sums: dict[int, int] = defaultdict(int)
        for cid, value in values.items():
            sums[groups[cid]] += value
        classes = ranking.classify_abc(dict(sums), thresholds)
        names = await holdings.names(uow, list(classes)[:top])
    return ranking.abc_of_classes(period, metric, classes, names, top)


async def xyz_by_holding(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    *,
    thresholds: tuple[int, int] = XYZ_THRESHOLDS,
    top: int = 10,
) -> XyzReport:
    """`abc_xyz.xyz_report` with holdings in place of companies (`company_id` = the holding)."""
    abc_xyz.check_period(period)
    if not 0 < thresholds[0] <= thresholds[1]:
        raise InvalidInput("thresholds", "invalid")
    _check_top(top)
    n = period.months
    async with uow.read_only():
        stages = dict(
            (
                await uow.session.execute(
                    select(Company.id, Company.stage).where(reach(actor, Company.curator_id))
                )
            ).all()
        )
        groups = await holdings.holding_ids(uow, actor, stages)
        members: dict[int, list[int]] = defaultdict(list)
        for cid, group in groups.items():
            members[group].append(cid)
        monthly: dict[tuple[int, object], int] = defaultdict(int)
        for cid, month, cents in await uow.session.execute(
            abc_xyz.months_in_reach(
                actor, period, Months.company_id, Months.month, Months.revenue_cents
            )
        ):
            monthly[(groups[cid], month)] += int(cents)
        totals: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for (group, _month), cents in monthly.items():
            t, q = totals[group]
            totals[group] = (t + cents, q + cents * cents)
        counts = dict.fromkeys(XYZ_COLUMNS, 0)
        regular: list[tuple[int, int, int, str]] = []
        for group, ids in members.items():
            stage = min((stages[c] for c in ids), key=_engagement)
            t, q = totals[group]
            xyz = ranking.xyz_class(stage, n, t, q, thresholds)
            counts[xyz] = counts.get(xyz, 0) + 1
            if stage == CompanyStage.REGULAR.value:
                regular.append((group, t, q, xyz))
        regular.sort(key=lambda r: (r[3], -r[1], r[0]))
        shown = regular[:top]
        names = await holdings.names(uow, [r[0] for r in shown])
    return XyzReport(
        period=period,
        months=n,
        counts=counts,
        regular=[
            XyzCompany(
                group,
                names[group],
                abc_xyz.money(t),
                abc_xyz.mean_of(t, n),
                abc_xyz.cv_of(n, t, q),
                xyz,
            )
            for group, t, q, xyz in shown
        ],
    )


def _engagement(stage: str) -> int:
    return ENGAGEMENT.index(stage) if stage in ENGAGEMENT else len(ENGAGEMENT)
