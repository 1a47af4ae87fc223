"""A client's message forwarded to the bot: logged as an incoming message with that
contact, found by their Telegram account, or chosen or added by the user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    Message,
    MessageOriginHiddenUser,
    MessageOriginUser,
)
from aiogram.utils.i18n import gettext as _

from crm import validation
from crm.access import Actor
from crm.models.enums import SearchKind
from crm.services import cards, contacts
from crm.services.contacts import ContactInput
from crm.uow import UnitOfWork
from handlers.cards.callbacks import CONTACT, cancel_button
from handlers.cards.view import Rows
from handlers.clients.callbacks import ForwardCb
from handlers.dialog import over
from handlers.interactions.logbook import log_and_report
from handlers.ui import button, h, markup, short, show

CONTACT_CHOICES = 8


class ForwardForm(StatesGroup):
    pick = State()
    search = State()


def forwarded_text(message: Message) -> str:
    text = (message.text or message.caption or "").strip()
    if len(text) > validation.TEXT_MAX:
        text = text[: validation.TEXT_MAX - 1] + "…"
    return text


async def log_forward(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    contact_id: int,
    title: str,
    data: dict[str, Any],
) -> None:
    await log_and_report(
        message,
        uow,
        actor,
        (CONTACT, contact_id, title),
        "message",
        "in",
        data.get("summary") or None,
        datetime.fromisoformat(data["at"]),
    )


def pick_rows(choices: list[tuple[int, str]], name: str | None) -> Rows:
    rows: Rows = [
        [button(f"👤 {short(title, 50)}", ForwardCb(action="pick", id=contact_id))]
        for contact_id, title in choices
    ]
    if name:
        rows.append(
            [
                button(
                    _("➕ New contact “{name}”").format(name=short(name, 40)),
                    ForwardCb(action="new"),
                )
            ]
        )
    rows.append([button(_("🔍 Find another contact"), ForwardCb(action="search"))])
    rows.append([cancel_button()])
    return rows


async def forwarded(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    origin = message.forward_origin
    await state.clear()
    data: dict[str, Any] = {"summary": forwarded_text(message)}
    if isinstance(origin, MessageOriginUser):
        user = origin.sender_user
        data |= {
            "at": origin.date.isoformat(),
            "name": user.full_name,
            "tg_user_id": user.id,
            "tg_username": user.username,
        }
        found = await contacts.find_by_telegram(
            uow, actor, tg_user_id=user.id, username=user.username
        )
        if len(found) == 1:
            title = contact_title(found[0])
            await log_forward(message, uow, actor, found[0].id, title, data)
            return
        await state.set_state(ForwardForm.pick)
        await state.set_data(data)
        if found:
            choices = [(c.id, contact_title(c)) for c in found[:CONTACT_CHOICES]]
            await message.answer(
                _("Several of your contacts match {name}. Which one wrote this?").format(
                    name=f"<b>{h(user.full_name)}</b>"
                ),
                reply_markup=markup(pick_rows(choices, None)),
            )
        else:
            await message.answer(
                _("{name} is not among your contacts yet. Add them, or pick a contact?").format(
                    name=f"<b>{h(user.full_name)}</b>"
                ),
                reply_markup=markup(pick_rows([], user.full_name)),
            )
        return
    if isinstance(origin, MessageOriginHiddenUser):
        name = origin.sender_user_name
        data |= {"at": origin.date.isoformat(), "name": name}
        hits = await cards.find(
            uow, actor, name, kinds=(SearchKind.CONTACT,), limit=CONTACT_CHOICES
        )
        await state.set_state(ForwardForm.pick if hits else ForwardForm.search)
        await state.set_data(data)
        text = _("{name} hides their account, so I cannot tell for sure who this is.").format(
            name=f"<b>{h(name)}</b>"
        )
        if hits:
            text += "\n" + _("Your contacts with a name like that:")
        else:
            text += "\n" + _("Send a part of the contact's name, and I will find them.")
        choices = [(hit.entity_id, hit.title) for hit in hits]
        await message.answer(text, reply_markup=markup(pick_rows(choices, name)))
        return
    await message.answer(
        _(
            "This message was forwarded from a chat or a channel, not from a person: "
            "I can only log messages from a client with their contact."
        )
    )


def contact_title(contact: Any) -> str:
    return f"{contact.name}, {contact.company.name}" if contact.company else contact.name


async def forward_picked(
    callback: CallbackQuery,
    callback_data: ForwardCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    card = await cards.contact_card(uow, actor, callback_data.id)
    await contacts.remember_telegram(uow, actor, card.contact.id, data.get("tg_user_id"))
    await callback.answer()
    assert isinstance(callback.message, Message)
    await log_forward(
        callback.message, uow, actor, card.contact.id, contact_title(card.contact), data
    )
    await state.clear()


async def forward_new_contact(
    callback: CallbackQuery, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    contact = await contacts.create(
        uow,
        actor,
        ContactInput(
            name=data.get("name") or "",
            tg_user_id=data.get("tg_user_id"),
            tg_username=data.get("tg_username"),
        ),
    )
    await callback.answer()
    assert isinstance(callback.message, Message)
    await log_forward(callback.message, uow, actor, contact.id, contact.name, data)
    await state.clear()


async def forward_search(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ForwardForm.search)
    await show(
        callback,
        _("Send a part of the contact's name, and I will find them."),
        markup([[cancel_button()]]),
    )
    await callback.answer()


async def forward_typed_name(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    query = validation.text("name", message.text)
    hits = await cards.find(uow, actor, query, kinds=(SearchKind.CONTACT,), limit=CONTACT_CHOICES)
    if not hits:
        await message.answer(
            _("No contact like “{query}” among yours. Try another part of the name.").format(
                query=h(query)
            ),
            reply_markup=markup([[cancel_button()]]),
        )
        return
    choices = [(hit.entity_id, hit.title) for hit in hits]
    await message.answer(
        _("Which one wrote this?"),
        reply_markup=markup(pick_rows(choices, (await state.get_data()).get("name"))),
    )


async def forward_over(callback: CallbackQuery) -> None:
    await over(callback)


def setup() -> Router:
    router = Router(name="clients.forward")
    router.message.register(forwarded, F.forward_origin)
    router.callback_query.register(
        forward_picked, ForwardForm.search, ForwardCb.filter(F.action == "pick")
    )
    router.callback_query.register(
        forward_picked, ForwardForm.pick, ForwardCb.filter(F.action == "pick")
    )
    router.callback_query.register(
        forward_new_contact, ForwardForm.search, ForwardCb.filter(F.action == "new")
    )
    router.callback_query.register(
        forward_new_contact, ForwardForm.pick, ForwardCb.filter(F.action == "new")
    )
    router.callback_query.register(
        forward_search, ForwardForm.search, ForwardCb.filter(F.action == "search")
    )
    router.callback_query.register(
        forward_search, ForwardForm.pick, ForwardCb.filter(F.action == "search")
    )
    router.message.register(forward_typed_name, ForwardForm.search, F.text, ~F.text.startswith("/"))
    router.callback_query.register(forward_over, ForwardCb.filter())
    return router
