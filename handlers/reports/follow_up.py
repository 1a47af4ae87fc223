"""Who needs attention: forgotten clients and the claims report."""

from __future__ import annotations

from functools import partial

from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.analytics import charts, claims, forgotten
from crm.errors import InvalidInput
from crm.uow import UnitOfWork
from handlers.reports.layout import (
    NAME_WIDTH,
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
    cause_name,
    share,
)


async def forgotten_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    days: int | None = None  # no N given: the company setting (a director's /settings)
    if option:
        if not option.isdigit():
            raise InvalidInput("days", "not_a_number")
        days = int(option)
    r = await forgotten.forgotten_report(uow, actor, days, top=15)
    days = r.days
    if r.empty:
        return Rendered(
            _("No forgotten clients: everyone was contacted in the last {days} days.").format(
                days=days
            )
        )
    text = "\n".join(
        [
            f"<b>{h(report_title('forgotten'))}</b>",
            _("Clients with no interaction for {days} days or more: {count}.").format(
                days=days, count=r.count
            ),
            table(
                [[_("Client"), _("Curator"), _("Days")]]
                + [
                    [
                        short(c.name, NAME_WIDTH),
                        short(c.curator, 12),
                        str(c.silent_days) + ("*" if c.never_contacted else ""),
                    ]
                    for c in r.clients
                ],
                (False, False, True),
            ),
        ]
        + (
            [_("* never contacted: days since the client was added.")]
            if any(c.never_contacted for c in r.clients)
            else []
        )
    )
    chart = partial(
        charts.bar_chart,
        report_title("forgotten"),
        [short(c.name, 16) for c in r.clients],
        {_("Days"): [c.silent_days for c in r.clients]},
        horizontal=True,
    )
    return Rendered(text, chart)


async def claims_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    period = rolling_year(local_today(actor))
    start, end = period.utc_bounds(actor.timezone)
    r = await claims.claims_report(uow, actor, start, end)
    if r.total == 0:
        return nothing_yet("claims")

    def hours(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"

    text = "\n".join(
        [
            heading("claims", "", period_line(period)),
            _(
                "Total {total}: open {open}, resolved {resolved}, rejected {rejected}; "
                "overdue now {overdue}."
            ).format(
                total=r.total,
                open=r.open,
                resolved=r.resolved,
                rejected=r.rejected,
                overdue=r.overdue_open,
            ),
            _(
                "Resolved within SLA: {share}. "
                "Time to resolve, hours: median {median}, 90 % within {p90}."
            ).format(
                share=share(r.share_within_sla),
                median=hours(r.median_hours),
                p90=hours(r.p90_hours),
            ),
            table(
                [[_("Cause"), _("Claims")]]
                + [
                    [short(cause_name(c.code, c.title), NAME_WIDTH), str(c.count)]
                    for c in r.by_cause
                ],
                (False, True),
            ),
        ]
    )
    chart = partial(
        charts.bar_chart,
        report_title("claims"),
        [short(cause_name(c.code, c.title), 14) for c in r.by_cause],
        {_("Claims"): [c.count for c in r.by_cause]},
    )
    return Rendered(text, chart)
