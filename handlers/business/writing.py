"""💬 Write in Telegram: the contact card's button (when the actor's business connection
may reply in the contact's chat); the text typed, or a template of the "reply"
playbooks, goes to the client through the business connection and is logged."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services.business import replies
from crm.services.cards import ContactCard
from crm.uow import UnitOfWork
from handlers.business.callbacks import WriteCb
from handlers.cards.callbacks import CONTACT, cancel_button
from handlers.cards.view import CardView, Rows
from handlers.dialog import over
from handlers.ui import button, h, markup, short, show


class WriteForm(StatesGroup):
    text = State()


def contact_write(actor: Actor, card: ContactCard) -> Rows:
    """The card's row: only when the actor's own business chat with the contact allows it."""
    if not card.telegram:
        return []
    return [[button(_("💬 Write in Telegram"), WriteCb(action="start", id=card.contact.id))]]


async def start(
    callback: CallbackQuery,
    callback_data: WriteCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    to = await replies.target(uow, actor, callback_data.id)
    await state.set_state(WriteForm.text)
    await state.set_data({"contact": to.contact_id})
    rows: Rows = [
        [button(f"📝 {short(text, 50)}", WriteCb(action="tpl", id=to.contact_id, n=n))]
        for n, text in enumerate(to.templates)
    ]
    lines = [_("What shall I send to {name} in Telegram? Type the text.").format(name=h(to.name))]
    if to.templates:
        lines.append(_("Or pick a prepared reply:"))
    await show(callback, "\n".join(lines), markup([*rows, [cancel_button()]]))
    await callback.answer()


async def deliver(
    target: Message | CallbackQuery,
    bot: Bot,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
    contact_id: int,
    text: str,
) -> None:
    to = await replies.target(uow, actor, contact_id)
    try:
        sent = await bot.send_message(
            to.chat_id, text, business_connection_id=to.connection_id, parse_mode=None
        )
    except (TelegramBadRequest, TelegramForbiddenError):
        answer = _(
            "Telegram did not accept the message: the bot may write for you only in chats "
            "active in the last 24 hours. Nothing was sent or logged."
        )
        await show(target, answer, None)
        return
    await replies.sent(uow, actor, to, sent.message_id, text, sent.date)
    card_text, keyboard = await card_view.open(uow, actor, CONTACT, contact_id)
    done = _("✅ Sent to {name} in Telegram.").format(name=h(to.name))
    await show(target, f"{done}\n\n{card_text}", keyboard)


async def typed(
    message: Message,
    bot: Bot,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    contact_id = (await state.get_data()).get("contact")
    text = replies.clean_text(message.text)
    await state.clear()
    if isinstance(contact_id, int):
        await deliver(message, bot, uow, actor, card_view, contact_id, text)


async def template(
    callback: CallbackQuery,
    callback_data: WriteCb,
    bot: Bot,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    data = await state.get_data()
    if data.get("contact") != callback_data.id:
        await over(callback)
        return
    to = await replies.target(uow, actor, callback_data.id)
    if not 0 <= callback_data.n < len(to.templates):
        await over(callback)
        return
    await state.clear()
    await callback.answer()
    await deliver(
        callback, bot, uow, actor, card_view, to.contact_id, to.templates[callback_data.n]
    )


async def template_over(callback: CallbackQuery) -> None:
    await over(callback)


def setup() -> Router:
    router = Router(name="business.writing")
    router.callback_query.register(start, WriteCb.filter(F.action == "start"))
    router.callback_query.register(template, WriteForm.text, WriteCb.filter(F.action == "tpl"))
    router.callback_query.register(template_over, WriteCb.filter(F.action == "tpl"))
    router.message.register(typed, WriteForm.text, F.text, ~F.text.startswith("/"))
    return router
