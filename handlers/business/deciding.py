"""The answer to "New chat: …": link it to a contact (a name typed, then picked), make a
new contact of it, or "Not a client" (the chat is forgotten for good)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from crm import validation
from crm.access import Actor
from crm.models.enums import SearchKind
from crm.services import cards
from crm.services.business import chats
from crm.uow import UnitOfWork
from handlers.business.callbacks import ChatCb
from handlers.cards.callbacks import CONTACT, cancel_button
from handlers.cards.view import CardView
from handlers.dialog import over
from handlers.ui import button, h, markup, short, show

CHOICES = 8


class LinkForm(StatesGroup):
    name = State()


async def ask_name(
    callback: CallbackQuery,
    callback_data: ChatCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    name = await chats.pending_name(uow, actor, callback_data.id)
    await state.set_state(LinkForm.name)
    await state.set_data({"chat": callback_data.id})
    await show(
        callback,
        _("Which contact is {name}? Send a part of the contact's name.").format(
            name=f"<b>{h(name)}</b>"
        ),
        markup([[cancel_button()]]),
    )
    await callback.answer()


async def typed_name(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    query = validation.text("name", message.text)
    hits = await cards.find(uow, actor, query, kinds=(SearchKind.CONTACT,), limit=CHOICES)
    if not hits:
        await message.answer(
            _("No contact like “{query}” among yours. Try another part of the name.").format(
                query=h(query)
            ),
            reply_markup=markup([[cancel_button()]]),
        )
        return
    rows = [
        [button(f"👤 {short(hit.title, 50)}", ChatCb(action="pick", id=hit.entity_id))]
        for hit in hits
    ]
    await message.answer(_("Which one?"), reply_markup=markup([*rows, [cancel_button()]]))


async def linked(
    callback: CallbackQuery, uow: UnitOfWork, actor: Actor, card_view: CardView, contact_id: int
) -> None:
    await callback.answer(_("Linked: the chat is logged on the contact's card."))
    text, keyboard = await card_view.open(uow, actor, CONTACT, contact_id)
    await show(callback, text, keyboard)


async def picked(
    callback: CallbackQuery,
    callback_data: ChatCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    chat_ref = (await state.get_data()).get("chat")
    if not isinstance(chat_ref, int):
        await over(callback)
        return
    contact = await chats.link(uow, actor, chat_ref, callback_data.id)
    await state.clear()
    await linked(callback, uow, actor, card_view, contact.id)


async def new_contact(
    callback: CallbackQuery,
    callback_data: ChatCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    contact = await chats.new_contact(uow, actor, callback_data.id)
    await state.clear()
    await linked(callback, uow, actor, card_view, contact.id)


async def not_a_client(
    callback: CallbackQuery,
    callback_data: ChatCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await chats.ignore(uow, actor, callback_data.id)
    await state.clear()
    await show(callback, _("Not a client: that chat is forgotten and will never be logged."))
    await callback.answer()


async def pick_over(callback: CallbackQuery) -> None:
    await over(callback)


def setup() -> Router:
    router = Router(name="business.deciding")
    router.callback_query.register(ask_name, ChatCb.filter(F.action == "link"))
    router.callback_query.register(new_contact, ChatCb.filter(F.action == "new"))
    router.callback_query.register(not_a_client, ChatCb.filter(F.action == "ignore"))
    router.callback_query.register(picked, LinkForm.name, ChatCb.filter(F.action == "pick"))
    router.callback_query.register(pick_over, ChatCb.filter(F.action == "pick"))
    router.message.register(typed_name, LinkForm.name, F.text, ~F.text.startswith("/"))
    return router
