"""/report: the analytics menu; each report as a compact text and a PNG chart.

`/report` shows a button per report (Managers only for heads and directors); a button
sends the report as text and then its chart as a photo. `/report abc` (or xyz, matrix,
funnel, forecast, managers, inquiries, forgotten, claims) sends one at once; options
follow after `;`: `/report abc; margin`, `/report forgotten; 60`. A report without data
says so, without a chart.

Periods (in the user's timezone): ABC, XYZ and the matrix the last 12 full months;
funnel, inquiries and claims the last 12 full months and this month so far; managers
this month.

`/digest` (heads and directors) sends the daily digest now: notifications/digests.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from crm.access import Actor, require_role
from crm.analytics import (
    abc_xyz,
    charts,
    claims,
    forecast,
    forgotten,
    funnel,
    inquiries,
    managers,
    movers,
)
from crm.analytics.abc_xyz import AbcMetric
from crm.analytics.digest import build_digest, receives_digest
from crm.analytics.scope import Period, current_month, last_full_months
from crm.errors import InvalidInput
from crm.models import utcnow
from crm.models.enums import Role
from crm.uow import UnitOfWork
from crm.when import to_local
from handlers.deals import STAGE_NAMES
from handlers.find import COMPANY_STAGES
from handlers.ui import button, h, money, month_name, short, split_args
from notifications.claims_notify import cause_name
from notifications.digests import digest_chart, digest_text, movers_lines

router = Router(name="reports")

NAME_WIDTH = 18


class ReportCb(CallbackData, prefix="rp"):
    kind: str
    option: str = ""


@dataclass(frozen=True)
class Rendered:
    text: str
    chart: Callable[[], bytes] | None = None  # drawn off the event loop
    markup: InlineKeyboardMarkup | None = None


REPORT_TITLES: dict[str, str] = {
    "abc": N_("ABC"),
    "xyz": N_("XYZ"),
    "matrix": N_("ABC×XYZ"),
    "funnel": N_("Funnel"),
    "forecast": N_("Forecast"),
    "managers": N_("Managers"),
    "inquiries": N_("Inquiries"),
    "forgotten": N_("Forgotten clients"),
    "claims": N_("Claims"),
}
LEADERS_ONLY = {"managers"}
METRIC_NAMES: dict[str, str] = {
    AbcMetric.REVENUE: N_("revenue"),
    AbcMetric.MARGIN: N_("margin"),
    AbcMetric.COUNT: N_("number of sales"),
}
METRIC_WORDS = {
    "revenue": AbcMetric.REVENUE,
    "выручка": AbcMetric.REVENUE,
    "margin": AbcMetric.MARGIN,
    "маржа": AbcMetric.MARGIN,
    "count": AbcMetric.COUNT,
    "количество": AbcMetric.COUNT,
}
ALIASES = {"abcxyz": "matrix", "abc×xyz": "matrix", "abc-xyz": "matrix"}
# the usual inquiry sources (free text in the database); any other is shown as written
SOURCE_NAMES: dict[str, str] = {
    "website": N_("Website"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "exhibition": N_("Exhibition"),
    "referral": N_("Referral"),
    "telegram": N_("Telegram"),
    "cold_call": N_("Cold call"),
}


# ------------------------------------------------------------------ formatting


def table(rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """Rows of cells as a monospace block, each column padded to its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(right))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if is_right else cell.ljust(width)
            for cell, width, is_right in zip(row, widths, right, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "<pre>" + h("\n".join(lines)) + "</pre>"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def period_line(period: Period) -> str:
    return f"{day(period.start)} – {day(period.end - timedelta(days=1))}"


def report_title(kind: str) -> str:
    return _(REPORT_TITLES[kind])


def heading(kind: str, extra: str, period: str) -> str:
    title = report_title(kind)
    return f"<b>{h(title)}</b>{h(extra)}\n{h(period)}"


def nothing_yet(kind: str) -> Rendered:
    if kind == "claims":
        return Rendered(
            _("{report}: no claims in this period yet. File one with /claim.").format(
                report=report_title(kind)
            )
        )
    return Rendered(
        _(
            "{report}: no data yet for this period. "
            "It fills in as sales, deals and clients are added."
        ).format(report=report_title(kind))
    )


def source_name(source: str) -> str:
    msgid = SOURCE_NAMES.get(source.strip().lower())
    return _(msgid) if msgid else source


def stage_name(stage: str) -> str:
    names = {str(k): v for k, v in STAGE_NAMES.items()}
    return _(names.get(stage, stage))


def xyz_name(column: str) -> str:
    if column in COMPANY_STAGES:
        return _(COMPANY_STAGES[column])
    return column


# ------------------------------------------------------------------ periods


def local_today(actor: Actor, now: datetime | None = None) -> date:
    return to_local(now or utcnow(), actor.timezone).date()


def rolling_year(today: date) -> Period:
    """The last 12 full months and this month up to today."""
    return Period(last_full_months(today).start, today + timedelta(days=1))


# ------------------------------------------------------------------ the reports


def metric_markup(current: AbcMetric) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    ("• " if metric is current else "") + _(METRIC_NAMES[metric]),
                    ReportCb(kind="abc", option=metric.value),
                )
                for metric in AbcMetric
            ]
        ]
    )


async def abc_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    metric = METRIC_WORDS.get(option.lower(), AbcMetric.REVENUE) if option else AbcMetric.REVENUE
    if option and option.lower() not in METRIC_WORDS:
        raise InvalidInput("metric", "unknown_value")
    period = last_full_months(local_today(actor))
    r = await abc_xyz.abc_report(uow, actor, period, metric, top=10)
    if r.empty:
        return nothing_yet("abc")
    moved = await movers.movers_report(uow, actor, period, metric, top=10)

    def value(v: object) -> str:
        return str(v) if metric is AbcMetric.COUNT else money(v)  # type: ignore[arg-type]

    classes = table(
        [[_("Class"), _("Clients"), _(METRIC_NAMES[metric]), _("Share")]]
        + [[c.abc, str(c.companies), value(c.value), pct(c.share)] for c in r.classes],
        (False, True, True, True),
    )
    top = table(
        [[_("Client"), "", _(METRIC_NAMES[metric]), _("Cum.")]]
        + [[short(c.name, NAME_WIDTH), c.abc, value(c.value), pct(c.cumulative)] for c in r.top],
        (False, False, True, True),
    )
    text = "\n".join(
        [
            heading("abc", f" · {_(METRIC_NAMES[metric])}", period_line(period)),
            classes,
            _("Top clients:"),
            top,
            _("A: the first 80 % of the total, B: the next 15 %, C: the rest."),
            *movers_lines(moved),
        ]
    )
    chart = partial(
        charts.pareto_chart,
        f"ABC · {_(METRIC_NAMES[metric])}",
        [short(c.name, 12) for c in r.top],
        [float(c.value) for c in r.top],
        [c.cumulative for c in r.top],
    )
    return Rendered(text, chart, metric_markup(metric))


async def xyz_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    period = last_full_months(local_today(actor))
    r = await abc_xyz.xyz_report(uow, actor, period, top=10)
    if r.empty:
        return nothing_yet("xyz")
    counts = table(
        [[_("Group"), _("Clients")]]
        + [[xyz_name(column), str(n)] for column, n in r.counts.items()],
        (False, True),
    )
    lines = [heading("xyz", "", period_line(period)), counts]
    if r.regular:
        lines += [
            _("Regular clients, variation of monthly purchases:"),
            table(
                [[_("Client"), "", _("Per month"), "CV"]]
                + [[short(c.name, NAME_WIDTH), c.xyz, money(c.mean), pct(c.cv)] for c in r.regular],
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
    return Rendered("\n".join(lines), chart)


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
                + [[stage_name(s.stage), str(s.reached), pct(s.conversion)] for s in r.steps],
                (False, True, True),
            ),
        ]
    )
    chart = partial(
        charts.bar_chart,
        report_title("funnel"),
        [stage_name(s.stage) for s in r.steps],
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
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="report")
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
                        pct(m.plan_pct / 100 if m.plan_pct is not None else None),
                        money(m.commission),
                        str(m.activity),
                        str(m.overdue_tasks),
                    ]
                    for m in r.rows
                ],
                (False, True, True, True, True, True),
            ),
            _(
                "Revenue: won in the month; Plan: its share of the plan; Bonus: commission; "
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
                        pct(s.conversion),
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
                share=pct(r.share_within_sla), median=hours(r.median_hours), p90=hours(r.p90_hours)
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


REPORTS: dict[str, Callable[[UnitOfWork, Actor, str], Awaitable[Rendered]]] = {
    "abc": abc_text,
    "xyz": xyz_text,
    "matrix": matrix_text,
    "funnel": funnel_text,
    "forecast": forecast_text,
    "managers": managers_text,
    "inquiries": inquiries_text,
    "forgotten": forgotten_text,
    "claims": claims_text,
}


# ------------------------------------------------------------------ the chat side


def menu_markup(actor: Actor) -> InlineKeyboardMarkup:
    kinds = [k for k in REPORTS if may_see(actor, k)]
    buttons = [button(report_title(k), ReportCb(kind=k)) for k in kinds]
    return InlineKeyboardMarkup(
        inline_keyboard=[buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    )


def may_see(actor: Actor, kind: str) -> bool:
    return kind not in LEADERS_ONLY or actor.role is not Role.MANAGER


def leaders_only_text(kind: str) -> str:
    return _("The report “{report}” is for heads and directors. Choose another one:").format(
        report=report_title(kind)
    )


def usage_text(actor: Actor) -> str:
    if actor.role is Role.MANAGER:
        return _(
            "Which report? /report abc | xyz | matrix | funnel | forecast | "
            "inquiries | forgotten | claims"
        )
    return _(
        "Which report? /report abc | xyz | matrix | funnel | forecast | managers | "
        "inquiries | forgotten | claims"
    )


async def send_report(
    message: Message, uow: UnitOfWork, actor: Actor, kind: str, option: str = ""
) -> None:
    rendered = await REPORTS[kind](uow, actor, option)
    await message.answer(rendered.text, reply_markup=rendered.markup)
    if rendered.chart is not None:
        png = await asyncio.to_thread(rendered.chart)
        await message.answer_photo(BufferedInputFile(png, filename=f"{kind}.png"))


@router.message(Command("report"))
async def report_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor
) -> None:
    args = split_args(command.args)
    if not args or not args[0]:
        await message.answer(_("<b>Reports</b>\nChoose one:"), reply_markup=menu_markup(actor))
        return
    kind = ALIASES.get(args[0].lower(), args[0].lower())
    if " " in kind and len(args) == 1:  # "/report abc margin" without the ";"
        kind, option = kind.split(maxsplit=1)
        args = [kind, option]
    if kind not in REPORTS:
        await message.answer(usage_text(actor), reply_markup=menu_markup(actor))
        return
    if not may_see(actor, kind):
        await message.answer(leaders_only_text(kind), reply_markup=menu_markup(actor))
        return
    await send_report(message, uow, actor, kind, args[1] if len(args) > 1 else "")


@router.callback_query(ReportCb.filter())
async def report_pressed(
    query: CallbackQuery, callback_data: ReportCb, uow: UnitOfWork, actor: Actor
) -> None:
    await query.answer()
    if callback_data.kind not in REPORTS or not isinstance(query.message, Message):
        return
    if not may_see(actor, callback_data.kind):
        await query.message.answer(leaders_only_text(callback_data.kind))
        return
    await send_report(query.message, uow, actor, callback_data.kind, callback_data.option)


# ------------------------------------------------------------------ /digest


@router.message(Command("digest"))
async def digest_command(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    """The daily digest, now."""
    if not receives_digest(actor.role):
        await message.answer(
            _(
                "The daily digest is for heads and directors. "
                "Your day is in /today, your open tasks in /tasks."
            )
        )
        return
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="report")
    digest = await build_digest(uow, actor)
    await message.answer(digest_text(digest))
    draw = digest_chart(digest)
    chart = await asyncio.to_thread(draw) if draw is not None else None
    if chart is not None:
        await message.answer_photo(BufferedInputFile(chart, filename="digest.png"))
