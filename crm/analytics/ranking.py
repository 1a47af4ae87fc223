"""ABC and XYZ classes worked out in Python, for the reports whose units SQL does not know:
the holdings (crm/analytics/holdings.py), where the companies' sums are added up per
holding first. The same rules as the SQL of crm/analytics/classes.py, with whole numbers
(crm/analytics/abc_xyz.py describes them)."""

from __future__ import annotations

from typing import Any

from crm.access import Actor
from crm.analytics.abc_xyz import (
    ABC_CLASSES,
    ABC_THRESHOLDS,
    AbcClass,
    AbcCompany,
    AbcMetric,
    AbcReport,
    Months,
    amount,
    check_thresholds,
    months_in_reach,
    value_of,
)
from crm.analytics.scope import Period
from crm.models.enums import CompanyStage
from crm.uow import UnitOfWork


def classify_abc(
    values: dict[int, int], thresholds: tuple[int, int, int] = ABC_THRESHOLDS
) -> dict[int, tuple[int, str]]:
    """company -> (value, class), highest value first (ties: lower company id first)."""
    a_edge, b_edge = check_thresholds(thresholds)
    total = sum(values.values())
    out: dict[int, tuple[int, str]] = {}
    before = 0
    for cid, value in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])):
        if total <= 0:
            cls = "C"
        elif before * 100 < total * a_edge:
            cls = "A"
        elif before * 100 < total * b_edge:
            cls = "B"
        else:
            cls = "C"
        out[cid] = (value, cls)
        before += value
    return out


def xyz_class(stage: str, months: int, t: Any, q: Any, thresholds: tuple[int, int]) -> str:
    """The XYZ column of a company from its stage and its T and Q over `months` months."""
    if stage != CompanyStage.REGULAR.value:
        return stage
    total, squares = int(t or 0), int(q or 0)
    if total <= 0:
        return "Z"
    x, y = thresholds
    spread = months * squares - total * total  # N²·variance
    if spread * 10000 <= total * total * x * x:
        return "X"
    if spread * 10000 <= total * total * y * y:
        return "Y"
    return "Z"


async def company_values(
    uow: UnitOfWork, actor: Actor, period: Period, metric: AbcMetric
) -> dict[int, int]:
    """company -> the metric over the period (cents or sales), for the companies in reach
    with sales; inside an open unit of work."""
    return {
        cid: int(value)
        for cid, value in await uow.session.execute(
            months_in_reach(actor, period, Months.company_id, value_of(metric)).group_by(
                Months.company_id
            )
        )
    }


def abc_of_classes(
    period: Period,
    metric: AbcMetric,
    classes: dict[int, tuple[int, str]],
    names: dict[int, str],
    top: int,
) -> AbcReport:
    """The report of `classify_abc`'s ranking (highest first); `names` of the first `top`."""
    per_class = {abc: [0, 0] for abc in ABC_CLASSES}
    cumulative = 0
    top_rows = []
    for i, (cid, (value, abc)) in enumerate(classes.items()):
        per_class[abc][0] += 1
        per_class[abc][1] += value
        cumulative += value
        if i < top:
            top_rows.append((cid, names[cid], value, cumulative, abc))
    total = sum(v for _, v in per_class.values())

    def share(value: Any) -> float:
        return int(value) / total if total > 0 else 0.0

    return AbcReport(
        period=period,
        metric=metric,
        total=amount(metric, total),
        companies=sum(n for n, _ in per_class.values()),
        classes=[
            AbcClass(abc, n, amount(metric, v), share(v)) for abc, (n, v) in per_class.items()
        ],
        top=[
            AbcCompany(cid, name, amount(metric, value), share(value), share(cum), abc)
            for cid, name, value, cum, abc in top_rows
        ],
    )
