"""/event: the upcoming (and recently held) events as buttons, or one created at once.

`/event title; when; place` creates it at once (the place may be left out); `/event
title` goes on with the dialog from the time.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm import validation
from crm.access import Actor
from crm.errors import InvalidInput
from crm.services import events
from crm.services.events import EventInput
from crm.uow import UnitOfWork
from handlers.events.callbacks import BUTTON_TITLE, EventCb
from handlers.events.card import render_card, show_card
from handlers.events.new import ask, ask_time_again
from handlers.ui import PAGE, button, pager_row, short, show, split_args
from handlers.words import (
    local_time,
)


async def events_page(uow: UnitOfWork, actor: Actor, offset: int) -> tuple[str, Any]:
    rows, total = await events.list_upcoming(uow, actor, offset=offset, limit=PAGE)
    lines = [_("<b>Upcoming events</b>")]
    if not total:
        lines.append(_("No upcoming events. Create one with the button below."))
    kb = InlineKeyboardBuilder()
    for event in rows:
        kb.row(
            button(
                f"📅 {local_time(actor, event.starts_at)} · {short(event.title, BUTTON_TITLE)}",
                EventCb(action="open", event_id=event.id),
            )
        )
    pager = pager_row(EventCb, offset, total, action="list")
    if pager:
        kb.row(*pager)
    recent = await events.list_recent(uow, actor) if offset == 0 else []
    if recent:
        lines.append(_("Recently held: open one to mark who came."))
        for event in recent:
            kb.row(
                button(
                    f"✅ {local_time(actor, event.starts_at)} · {short(event.title, BUTTON_TITLE)}",
                    EventCb(action="open", event_id=event.id),
                )
            )
    kb.row(button(_("➕ New event"), EventCb(action="new")))
    return "\n".join(lines), kb.as_markup()


def usage_text() -> str:
    return _(
        "Write <code>/event title; when; place</code>, e.g. "
        "<code>/event Spring seminar; 25.04 15:00; Hall A</code>, or just /event."
    )


async def event_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    parts = split_args(command.args)
    if not parts or not any(parts):
        text, markup = await events_page(uow, actor, 0)
        await message.answer(text, reply_markup=markup)
        return
    title = parts[0]
    if not title:
        await message.answer(usage_text())
        return
    when_text = parts[1] if len(parts) > 1 else ""
    place = "; ".join(p for p in parts[2:] if p) or None
    if not when_text:  # only the title: the dialog goes on from the time
        title = validation.text("title", title, max_len=events.TITLE_MAX)
        await ask(message, actor, state, {"title": title})
        return
    try:
        view = await events.create(uow, actor, EventInput(title=title, when=when_text, place=place))
    except InvalidInput as err:
        if err.field != "when":
            raise
        await ask_time_again(message, actor, state, err, when_text, title, place)
        return
    text, markup = render_card(actor, view)
    await message.answer(_("Event created.") + "\n\n" + text, reply_markup=markup)


async def page_events(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await events_page(uow, actor, max(0, callback_data.offset))
    await show(callback, text, markup)
    await callback.answer()


async def open_card(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = render_card(actor, await events.get(uow, actor, callback_data.event_id))
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


async def card_here(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    await show_card(callback, uow, actor, callback_data.event_id)
    await callback.answer()


def setup() -> Router:
    router = Router(name="events.listing")
    router.message.register(event_command, Command("event"))
    router.callback_query.register(page_events, EventCb.filter(F.action == "list"))
    router.callback_query.register(open_card, EventCb.filter(F.action == "open"))
    router.callback_query.register(card_here, EventCb.filter(F.action == "show"))
    return router
