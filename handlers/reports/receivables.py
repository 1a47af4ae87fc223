"""/report receivables: overdue payments by client and by manager, in ageing columns."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services import payments
from crm.services.payments import Debt
from crm.uow import UnitOfWork
from handlers.reports.layout import NAME_WIDTH, Rendered, heading, local_today, table
from handlers.ui import short
from handlers.words import day, money

AGES = ("0–30", "31–60", "61–90", ">90")
TOP = 15  # debtors of each kind shown


def debts_table(first: str, debts: list[Debt]) -> str:
    return table(
        [[first, *AGES, _("Total")]]
        + [
            [short(d.name or _("nobody"), NAME_WIDTH), *map(money, d.buckets), money(d.total)]
            for d in debts
        ],
        (False, True, True, True, True, True),
    )


async def receivables_text(uow: UnitOfWork, actor: Actor, option: str) -> Rendered:
    today = local_today(actor)
    r = await payments.receivables(uow, actor, today, top=TOP)
    when = _("overdue on {date}").format(date=day(today))
    if not r.by_client:
        return Rendered(heading("receivables", "", when) + "\n" + _("No overdue payments."))
    lines = [
        heading("receivables", "", when),
        _("Overdue: {amount}, days late in columns.").format(amount=money(r.total)),
        _("By client:"),
        debts_table(_("Client"), r.by_client),
        _("By manager:"),
        debts_table(_("Manager"), r.by_manager),
    ]
    return Rendered("\n".join(lines))
