"""/business: the connection's state and the client chats it logs; stop logging any."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services.business import connections, waiting
from crm.services.business.connections import CHATS_PAGE, State
from crm.services.business.waiting import Rules
from crm.uow import UnitOfWork
from handlers.business.callbacks import ChatCb
from handlers.business.messages import who
from handlers.business.rules import change_button, rules_text
from handlers.ui import button, markup, pager_row, short, show
from handlers.words import local_time


def render(
    actor: Actor, state: State, offset: int, found: Rules
) -> tuple[str, InlineKeyboardMarkup]:
    tail = ["", rules_text(found)]
    directors: list[list[InlineKeyboardButton]] = [change_button()] if actor.is_director else []
    if not state.connected:
        text = _(
            "💼 Telegram Business is not connected. To log your client chats by "
            "themselves (Telegram Premium): Settings → Telegram Business → Chatbots, "
            "add this bot."
        )
        return "\n".join([text, *tail]), markup(directors)
    lines = [
        _("💼 Telegram Business is connected since {at}.").format(
            at=local_time(actor, state.since)
        ),
        _("Writing to clients from their card: allowed.")
        if state.can_reply
        else _("Writing to clients from their card: not allowed (the bot may not reply)."),
        "",
    ]
    rows: list[list[InlineKeyboardButton]] = []
    if not state.total:
        lines.append(_("No client chats logged yet."))
    else:
        lines.append(_("<b>Chats being logged</b> ({count}):").format(count=state.total))
        for number, chat in enumerate(state.chats, offset + 1):
            last = local_time(actor, chat.last_message_at) if chat.last_message_at else "—"
            lines.append(f"{number}. {who(chat.name, chat.username)} — {last}")
            rows.append(
                [
                    button(
                        _("⏹ Stop logging {name}").format(name=short(chat.name, 30)),
                        ChatCb(action="stop", id=chat.id, offset=offset),
                    )
                ]
            )
        rows.append(pager_row(ChatCb, offset, state.total, CHATS_PAGE, action="page"))
    return "\n".join(lines + tail), markup(rows + directors)


async def view(uow: UnitOfWork, actor: Actor, offset: int) -> tuple[str, InlineKeyboardMarkup]:
    state = await connections.state(uow, actor, offset)
    return render(actor, state, offset, await waiting.rules(uow))


async def business(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    text, keyboard = await view(uow, actor, 0)
    await message.answer(text, reply_markup=keyboard)


async def page(
    callback: CallbackQuery, callback_data: ChatCb, uow: UnitOfWork, actor: Actor
) -> None:
    offset = max(0, callback_data.offset)
    await show(callback, *await view(uow, actor, offset))
    await callback.answer()


async def stop(
    callback: CallbackQuery, callback_data: ChatCb, uow: UnitOfWork, actor: Actor
) -> None:
    chat = await connections.stop_chat(uow, actor, callback_data.id)
    offset = max(0, callback_data.offset)
    await show(callback, *await view(uow, actor, offset))
    await callback.answer(
        _("The chat with {name} is no longer logged.").format(name=short(chat.name, 40))
    )


def setup() -> Router:
    router = Router(name="business.command")
    router.message.register(business, Command("business"))
    router.callback_query.register(page, ChatCb.filter(F.action == "page"))
    router.callback_query.register(stop, ChatCb.filter(F.action == "stop"))
    return router
