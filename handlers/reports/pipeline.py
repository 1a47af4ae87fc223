"""The funnel, the forecast, the managers (this month) and the inquiries by source."""

from __future__ import annotations

from functools import partial

from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.analytics import audience, charts, forecast, funnel, inquiries, managers
from crm.analytics.scope import current_month
from crm.uow import UnitOfWork
from handlers.reports.layout import (
    Rendered,
    heading,
    local_today,
    nothing_yet,
    period_line,
    report_title,
    rolling_year,
    table,
)
from handlers.ui import h, short
from handlers.words import (
    deal_stage,
    money,
    month_name,
    share,
    source_name,
)


async def funnel_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    period = rolling_year(local_today(actor))
    start, end = period.utc_bounds(actor.timezone)
    r = await funnel.funnel_report(uow, actor, start, end)
    if r.empty:
        return nothing_yet("funnel")
    text = "\n".join(
        [
            heading("funnel", "", period_line(period)),
            _("Deals opened: {n}, lost: {lost}.").format(n=r.created, lost=r.lost),
            table(
                [[_("Stage"), _("Deals"), _("From previous")]]
                + [[deal_stage(s.stage), str(s.reached), share(s.conversion)] for s in r.steps],
                (False, True, True),
            ),
        ]
    )
    chart = partial(
        charts.bar_chart,
        report_title("funnel"),
        [deal_stage(s.stage) for s in r.steps],
        {_("Deals"): [s.reached for s in r.steps]},
        horizontal=True,
    )
    return Rendered(text, chart)


async def forecast_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    r = await forecast.forecast_report(uow, actor)
    if r.empty:
        return nothing_yet("forecast")

    def month(key: str | None) -> str:
        return month_name(key) if key else _("no date")

    text = "\n".join(
        [
            f"<b>{h(report_title('forecast'))}</b>",
            _(
                "Open deals by expected close month: amount × probability, "
                "and amount × the share of deals won from their stage."
            ),
            table(
                [[_("Month"), _("Deals"), _("Amount"), _("Weighted"), _("By history")]]
                + [
                    [
                        month(m.month),
                        str(m.deals),
                        money(m.amount),
                        money(m.weighted),
                        money(m.historical),
                    ]
                    for m in r.months
                ]
                + [
                    [
                        _("Total"),
                        str(sum(m.deals for m in r.months)),
                        money(r.amount),
                        money(r.weighted),
                        money(r.historical),
                    ]
                ],
                (False, True, True, True, True),
            ),
        ]
    )
    chart = partial(
        charts.bar_chart,
        report_title("forecast"),
        [month(m.month) for m in r.months],
        {
            _("Weighted"): [float(m.weighted) for m in r.months],
            _("By history"): [float(m.historical) for m in r.months],
        },
    )
    return Rendered(text, chart)


async def managers_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    audience.check_may_read(actor, "managers")
    period = current_month(local_today(actor))
    r = await managers.managers_report(uow, actor, period)
    if r.empty:
        return nothing_yet("managers")
    text = "\n".join(
        [
            heading("managers", "", period_line(period)),
            table(
                [[_("Manager"), _("Revenue"), _("Plan"), _("Bonus"), _("Acts"), _("Late")]]
                + [
                    [
                        short(m.name, 14),
                        money(m.revenue),
                        share(m.plan_pct / 100 if m.plan_pct is not None else None),
                        money(m.commission),
                        str(m.activity),
                        str(m.overdue_tasks),
                    ]
                    for m in r.rows
                ],
                (False, True, True, True, True, True),
            ),
            _(
                "Revenue: sales credited to the manager in the period (deals won and "
                "imported sales); Plan: its share of the plan; Bonus: commission; "
                "Acts: interactions done; Late: overdue tasks now."
            ),
        ]
    )
    chart = partial(
        charts.bar_chart,
        report_title("managers"),
        [short(m.name, 12) for m in r.rows],
        {
            _("Revenue"): [float(m.revenue) for m in r.rows],
            _("Plan"): [float(m.plan) for m in r.rows],
        },
    )
    return Rendered(text, chart)


async def inquiries_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    period = rolling_year(local_today(actor))
    start, end = period.utc_bounds(actor.timezone)
    r = await inquiries.inquiries_report(uow, actor, start, end)
    if r.empty:
        return nothing_yet("inquiries")
    text = "\n".join(
        [
            heading("inquiries", "", period_line(period)),
            table(
                [[_("Source"), _("Inquiries"), _("Deals"), _("Conv."), _("Wins")]]
                + [
                    [
                        short(source_name(s.source), 16),
                        str(s.inquiries),
                        str(s.deals),
                        share(s.conversion),
                        str(s.won),
                    ]
                    for s in r.sources
                ],
                (False, True, True, True, True),
            ),
        ]
    )
    chart = partial(
        charts.bar_chart,
        report_title("inquiries"),
        [short(source_name(s.source), 12) for s in r.sources],
        {
            _("Inquiries"): [s.inquiries for s in r.sources],
            _("Deals"): [s.deals for s in r.sources],
            _("Wins"): [s.won for s in r.sources],
        },
    )
    return Rendered(text, chart)
