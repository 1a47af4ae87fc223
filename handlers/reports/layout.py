"""The shape every report shares: its title and period, monospace tables, the answer
when there is no data yet, and the periods in the reader's timezone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.analytics.scope import Period, last_full_months
from crm.models import utcnow
from crm.when import to_local
from handlers.ui import h
from handlers.words import (
    COMPANY_STAGES,
    N_,
    day,
    label,
)

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
    "events": N_("Events"),
    "receivables": N_("Receivables"),
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


def xyz_name(column: str) -> str:
    """An XYZ column: X, Y, Z, or a relationship stage (one-time, potential, lost client)."""
    return label(COMPANY_STAGES, column)


# ------------------------------------------------------------------ periods


def local_today(actor: Actor, now: datetime | None = None) -> date:
    return to_local(now or utcnow(), actor.timezone).date()


def rolling_year(today: date) -> Period:
    """The last 12 full months and this month up to today."""
    return Period(last_full_months(today).start, today + timedelta(days=1))
