"""/report: the analytics menu; each report as a compact text and a PNG chart; /digest.

`/report` shows a button per report (Managers only for heads and directors); a button
sends the report as text and then its chart as a photo. `/report abc` (or xyz, matrix,
funnel, forecast, managers, inquiries, forgotten, claims) sends one at once; options
follow after `;`: `/report abc; margin`, `/report forgotten; 60`. A report without data
says so, without a chart.

Periods (in the user's timezone): ABC, XYZ and the matrix the last 12 full months;
funnel, inquiries and claims the last 12 full months and this month so far; managers
this month.
"""

from aiogram import Router

from handlers.reports import menu
from handlers.reports.menu import REPORTS

__all__ = ["REPORTS", "setup"]


def setup() -> Router:
    return menu.setup()
