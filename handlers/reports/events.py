"""/report events: the events of the last twelve months, their participation, cost per
attendee and the deals won afterwards (crm/analytics/events.py)."""

from __future__ import annotations

from functools import partial

from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.analytics import charts
from crm.analytics import events as event_outcomes
from crm.uow import UnitOfWork
from crm.when import to_local
from handlers.reports.layout import (
    Rendered,
    heading,
    local_today,
    period_line,
    report_title,
    rolling_year,
    table,
)
from handlers.ui import short
from handlers.words import day, money, share


async def events_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    period = rolling_year(local_today(actor))
    start, end = period.utc_bounds(actor.timezone)
    rows = await event_outcomes.report(uow, actor, start, end, limit=20)
    if not rows:
        return Rendered(
            _("{report}: no events in this period yet. Create one with /event.").format(
                report=report_title("events")
            )
        )
    lines = [
        heading("events", "", period_line(period)),
        table(
            [[_("Event"), _("Came"), _("Part."), _("Per head"), _("Won deals")]]
            + [
                [
                    short(f"{day(to_local(o.starts_at, actor.timezone).date())} {o.title}", 22),
                    f"{o.attended}/{o.invited}" + ("*" if o.by_answers and o.attended else ""),
                    share(o.participation_rate),
                    money(o.cost_per_attendee) if o.cost_per_attendee is not None else "—",
                    f"{o.deals_won}: {money(o.won_amount)}",
                ]
                for o in rows
            ],
            (False, True, True, True, True),
        ),
        _("Won: deals with the invitees' companies won within 30 days after the event."),
    ]
    if any(o.by_answers and o.attended for o in rows):
        lines.append(_("* by the answers: nobody is marked yet"))
    chart = partial(
        charts.bar_chart,
        report_title("events"),
        [short(o.title, 12) for o in rows],
        {_("Invited"): [o.invited for o in rows], _("Came"): [o.attended for o in rows]},
    )
    return Rendered("\n".join(lines), chart)
