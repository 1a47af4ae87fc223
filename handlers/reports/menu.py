"""/report: the menu of reports, one at once by name (`/report abc; margin`), and
/digest, the daily digest now (notifications/digests.py words it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.analytics import audience
from crm.analytics.digest import build_digest, receives_digest
from crm.uow import UnitOfWork
from handlers.reports.events import events_text
from handlers.reports.follow_up import claims_text, forgotten_text
from handlers.reports.layout import Rendered, ReportCb, report_title
from handlers.reports.pipeline import forecast_text, funnel_text, inquiries_text, managers_text
from handlers.reports.receivables import receivables_text
from handlers.reports.sales import abc_text, matrix_text, xyz_text
from handlers.ui import button, split_args
from notifications.digests import digest_chart, digest_text

ALIASES = {"abcxyz": "matrix", "abc×xyz": "matrix", "abc-xyz": "matrix"}


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
    "events": events_text,
    "receivables": receivables_text,
}


# ------------------------------------------------------------------ the chat side


def menu_markup(actor: Actor) -> InlineKeyboardMarkup:
    kinds = [k for k in REPORTS if audience.may_read(actor, k)]
    buttons = [button(report_title(k), ReportCb(kind=k)) for k in kinds]
    return InlineKeyboardMarkup(
        inline_keyboard=[buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    )


def leaders_only_text(kind: str) -> str:
    return _("The report “{report}” is for heads and directors. Choose another one:").format(
        report=report_title(kind)
    )


def usage_text(actor: Actor) -> str:
    if not audience.may_read(actor, "managers"):
        return _(
            "Which report? /report abc | xyz | matrix | funnel | forecast | "
            "inquiries | forgotten | claims | events | receivables"
        )
    return _(
        "Which report? /report abc | xyz | matrix | funnel | forecast | managers | "
        "inquiries | forgotten | claims | events | receivables"
    )


async def send_report(
    message: Message, uow: UnitOfWork, actor: Actor, kind: str, option: str = ""
) -> None:
    rendered = await REPORTS[kind](uow, actor, option)
    await message.answer(rendered.text, reply_markup=rendered.markup)
    if rendered.chart is not None:
        png = await asyncio.to_thread(rendered.chart)
        await message.answer_photo(BufferedInputFile(png, filename=f"{kind}.png"))


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
    if not audience.may_read(actor, kind):
        await message.answer(leaders_only_text(kind), reply_markup=menu_markup(actor))
        return
    await send_report(message, uow, actor, kind, " ".join(args[1:]))


async def report_pressed(
    query: CallbackQuery, callback_data: ReportCb, uow: UnitOfWork, actor: Actor
) -> None:
    await query.answer()
    if callback_data.kind not in REPORTS or not isinstance(query.message, Message):
        return
    if not audience.may_read(actor, callback_data.kind):
        await query.message.answer(leaders_only_text(callback_data.kind))
        return
    await send_report(query.message, uow, actor, callback_data.kind, callback_data.option)


# ------------------------------------------------------------------ /digest


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
    digest = await build_digest(uow, actor)
    await message.answer(digest_text(digest))
    draw = digest_chart(digest)
    chart = await asyncio.to_thread(draw) if draw is not None else None
    if chart is not None:
        await message.answer_photo(BufferedInputFile(chart, filename="digest.png"))


def setup() -> Router:
    router = Router(name="reports.menu")
    router.message.register(report_command, Command("report"))
    router.callback_query.register(report_pressed, ReportCb.filter())
    router.message.register(digest_command, Command("digest"))
    return router
