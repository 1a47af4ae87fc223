"""ABC (by revenue, margin or count), XYZ and the ABC×XYZ matrix of the last 12 full
months.
"""

from __future__ import annotations

from functools import partial

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.analytics import abc_xyz, charts, movers
from crm.analytics import holdings as holding_reports
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.scope import last_full_months
from crm.errors import InvalidInput
from crm.uow import UnitOfWork
from handlers.reports.layout import (
    NAME_WIDTH,
    Rendered,
    ReportCb,
    heading,
    local_today,
    nothing_yet,
    period_line,
    table,
    xyz_name,
)
from handlers.ui import button, short
from handlers.words import (
    ABC_METRICS,
    money,
    share,
    shares,
)
from notifications.digests import movers_lines

METRIC_WORDS = {
    "revenue": AbcMetric.REVENUE,
    "выручка": AbcMetric.REVENUE,
    "margin": AbcMetric.MARGIN,
    "маржа": AbcMetric.MARGIN,
    "count": AbcMetric.COUNT,
    "количество": AbcMetric.COUNT,
}


HOLDING_WORDS = {"holdings", "holding", "холдинги", "холдинг", "холдингам"}
FILLER_WORDS = {"by", "по"}


def read_option(option: str) -> tuple[AbcMetric | None, bool]:
    """The metric an option names (None: none named) and whether it asks for holdings:
    "margin", "holdings", "маржа по холдингам"...; InvalidInput for an unknown word."""
    metric, by_holding = None, False
    for word in option.lower().replace(",", " ").split():
        if word in HOLDING_WORDS:
            by_holding = True
        elif word in METRIC_WORDS:
            metric = METRIC_WORDS[word]
        elif word not in FILLER_WORDS:
            raise InvalidInput("metric", "unknown_value")
    return metric, by_holding


def grouping_row(kind: str, by_holding: bool, metric: str = "") -> list[InlineKeyboardButton]:
    """By client | By holding, the current one marked."""
    return [
        button(
            ("• " if on == by_holding else "") + title,
            ReportCb(kind=kind, option=f"{metric} holdings".strip() if on else metric),
        )
        for on, title in ((False, _("By client")), (True, _("By holding")))
    ]


def metric_markup(current: AbcMetric, by_holding: bool = False) -> InlineKeyboardMarkup:
    holding = " holdings" if by_holding else ""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    ("• " if metric is current else "") + _(ABC_METRICS[metric]),
                    ReportCb(kind="abc", option=metric.value + holding),
                )
                for metric in AbcMetric
            ],
            grouping_row("abc", by_holding, current.value),
        ]
    )


def grouping_title(by_holding: bool) -> str:
    return " · " + _("by holding") if by_holding else ""


async def abc_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    chosen, by_holding = read_option(option)
    metric = chosen or AbcMetric.REVENUE
    period = last_full_months(local_today(actor))
    if by_holding:
        r = await holding_reports.abc_by_holding(uow, actor, period, metric, top=10)
    else:
        r = await abc_xyz.abc_report(uow, actor, period, metric, top=10)
    if r.empty:
        return nothing_yet("abc")
    moved = None if by_holding else await movers.movers_report(uow, actor, period, metric, top=10)

    def value(v: object) -> str:
        return str(v) if metric is AbcMetric.COUNT else money(v)  # type: ignore[arg-type]

    classes = table(
        [
            [
                _("Class"),
                _("Holdings") if by_holding else _("Clients"),
                _(ABC_METRICS[metric]),
                _("Share"),
            ]
        ]
        + [
            [c.abc, str(c.companies), value(c.value), pct]
            for c, pct in zip(r.classes, shares([c.share for c in r.classes]), strict=True)
        ],
        (False, True, True, True),
    )
    top = table(
        [[_("Holding") if by_holding else _("Client"), "", _(ABC_METRICS[metric]), _("Cum.")]]
        + [[short(c.name, NAME_WIDTH), c.abc, value(c.value), share(c.cumulative)] for c in r.top],
        (False, False, True, True),
    )
    text = "\n".join(
        [
            heading(
                "abc",
                f" · {_(ABC_METRICS[metric])}" + grouping_title(by_holding),
                period_line(period),
            ),
            classes,
            _("Top holdings:") if by_holding else _("Top clients:"),
            top,
            _("A: the first 80 % of the total, B: the next 15 %, C: the rest."),
            *(movers_lines(moved) if moved is not None else []),
        ]
    )
    chart = partial(
        charts.pareto_chart,
        f"ABC · {_(ABC_METRICS[metric])}",
        [short(c.name, 12) for c in r.top],
        [float(c.value) for c in r.top],
        [c.cumulative for c in r.top],
    )
    return Rendered(text, chart, metric_markup(metric, by_holding))


async def xyz_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    chosen, by_holding = read_option(option)
    if chosen is not None:
        raise InvalidInput("metric", "unknown_value")
    period = last_full_months(local_today(actor))
    if by_holding:
        r = await holding_reports.xyz_by_holding(uow, actor, period, top=10)
    else:
        r = await abc_xyz.xyz_report(uow, actor, period, top=10)
    if r.empty:
        return nothing_yet("xyz")
    counts = table(
        [[_("Group"), _("Holdings") if by_holding else _("Clients")]]
        + [[xyz_name(column), str(n)] for column, n in r.counts.items()],
        (False, True),
    )
    lines = [heading("xyz", grouping_title(by_holding), period_line(period)), counts]
    if r.regular:
        lines += [
            _("Regular holdings, variation of monthly purchases:")
            if by_holding
            else _("Regular clients, variation of monthly purchases:"),
            table(
                [[_("Holding") if by_holding else _("Client"), "", _("Per month"), "CV"]]
                + [
                    [short(c.name, NAME_WIDTH), c.xyz, money(c.mean), share(c.cv)]
                    for c in r.regular
                ],
                (False, False, True, True),
            ),
        ]
    lines.append(_("X: variation up to 10 %, Y: up to 25 %, Z: more."))
    chart = partial(
        charts.bar_chart,
        "XYZ",
        [xyz_name(column) for column in r.counts],
        {_("Clients"): list(r.counts.values())},
    )
    keyboard = InlineKeyboardMarkup(inline_keyboard=[grouping_row("xyz", by_holding)])
    return Rendered("\n".join(lines), chart, keyboard)


async def matrix_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    period = last_full_months(local_today(actor))
    r = await abc_xyz.abc_xyz_matrix(uow, actor, period)
    if r.empty:
        return nothing_yet("matrix")
    columns = list(abc_xyz.XYZ_COLUMNS)
    short_names = {"one_time": "1×", "potential": "P", "lost": "L"}
    grid = [[r.cells[(a, x)] for x in columns] for a in abc_xyz.ABC_CLASSES]
    text = "\n".join(
        [
            heading("matrix", "", period_line(period)),
            table(
                [[""] + [short_names.get(x, x) for x in columns]]
                + [
                    [a] + [str(n) for n in row]
                    for a, row in zip(abc_xyz.ABC_CLASSES, grid, strict=True)
                ],
                (False,) + (True,) * len(columns),
            ),
            _("1×: one-time, P: potential, L: lost client. AX are the best: large and steady."),
        ]
    )
    chart = partial(
        charts.heatmap, "ABC × XYZ", list(abc_xyz.ABC_CLASSES), [xyz_name(x) for x in columns], grid
    )
    return Rendered(text, chart)
