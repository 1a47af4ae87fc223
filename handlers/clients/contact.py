"""/contact on one line (`name; phone; email; company`) or step by step, and a Telegram
contact card shared with the bot (it goes on at the company step).
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    Message,
)
from aiogram.utils.i18n import gettext as _

from crm import validation
from crm.access import Actor
from crm.errors import AlreadyServed
from crm.models.enums import SearchKind
from crm.services import cards, companies, contacts
from crm.services.contacts import ContactInput
from crm.services.duplicates import door
from crm.uow import UnitOfWork
from handlers.cards.callbacks import CONTACT, cancel_button, hit_button
from handlers.cards.view import CardView, Rows
from handlers.clients.callbacks import ContactFormCb
from handlers.dialog import Wizard, stale
from handlers.duplicates.door import tell_served
from handlers.ui import button, h, markup, short, show, split_args

COMPANY_CHOICES = 6


class ContactForm(StatesGroup):
    name = State()
    phone = State()
    email = State()
    company = State()


# --- /contact -----------------------------------------------------------------------------


async def contact_command(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    await state.clear()
    if not command.args or not command.args.strip():
        await ask_contact(message, uow, actor, state, {})
        return
    parts = [*split_args(command.args), "", "", ""]
    data = ContactInput(
        name=parts[0], phone=parts[1] or None, email=parts[2] or None, company_name=parts[3] or None
    )
    await create_contact(message, card_view, uow, actor, data)


async def create_contact(
    message: Message, card_view: CardView, uow: UnitOfWork, actor: Actor, data: ContactInput
) -> None:
    """Create it, unless the person is already stored: one within reach is shown, one out
    of reach (or at a company out of reach) is named by its curator only."""
    values = contacts.clean(data)
    match = await door.check_contact(
        uow,
        actor,
        str(values["name"]),
        values["phone"],  # type: ignore[arg-type]
        values["email"],  # type: ignore[arg-type]
        data.company_id,
        data.company_name,
    )
    if match is not None and not match.visible:
        await tell_served(message, match)
        return
    if match is not None and match.kind == door.CONTACTS:
        text, keyboard = await card_view.open(uow, actor, CONTACT, match.entity_id)
        await message.answer(
            _("This contact is already in your CRM.") + "\n\n" + text, reply_markup=keyboard
        )
        return
    try:
        contact = await contacts.create(uow, actor, data)
    except AlreadyServed as refused:  # stored meanwhile
        await tell_served(message, refused)
        return
    await show_new_contact(message, card_view, uow, actor, contact.id)


async def show_new_contact(
    message: Message, card_view: CardView, uow: UnitOfWork, actor: Actor, contact_id: int
) -> None:
    text, keyboard = await card_view.open(uow, actor, CONTACT, contact_id)
    await message.answer(_("Contact added.") + "\n\n" + text, reply_markup=keyboard)


CONTACT_DIALOG = Wizard.linear(
    [
        ("name", ContactForm.name, ("name",)),
        ("phone", ContactForm.phone, ("phone",)),
        ("email", ContactForm.email, ("email",)),
        ("company", ContactForm.company, ()),
    ],
    nav=ContactFormCb,
    restart="/contact",
    cancel_button=cancel_button,
)


async def ask_contact(
    event: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    step = await CONTACT_DIALOG.save(state, data)
    nav = CONTACT_DIALOG.nav_buttons(back=not data.get("shared"))
    skip = [button(_("Skip"), ContactFormCb(action="skip"))]
    if step == "name":
        text, rows = _("New contact. What is the person's name?"), [[cancel_button()]]
    elif step == "phone":
        text, rows = _("Phone? e.g. +7 912 345-67-89"), [skip, nav]
    elif step == "email":
        text, rows = _("Email?"), [skip, nav]
    else:
        text = _("Which company does {name} work for? Send a part of its name to search.").format(
            name=f"<b>{h(data.get('name'))}</b>"
        )
        own, _total = await companies.list_page(uow, actor, 0, COMPANY_CHOICES)
        rows = [
            [button(f"🏢 {short(c.name, 40)}", ContactFormCb(action="co", id=c.id))] for c in own
        ]
        rows += [[button(_("No company"), ContactFormCb(action="noco"))], nav]
    await show(event, text, markup(rows))


async def contact_name(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["name"] = validation.text("name", message.text)
    await ask_contact(message, uow, actor, state, data)


async def contact_phone(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["phone"] = validation.phone(message.text)
    await ask_contact(message, uow, actor, state, data)


async def contact_email(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["email"] = validation.email(message.text)
    await ask_contact(message, uow, actor, state, data)


async def contact_company_search(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    query = validation.text("company", message.text)
    hits = await cards.find(uow, actor, query, kinds=(SearchKind.COMPANY,), limit=COMPANY_CHOICES)
    await state.update_data(company_name=query)
    rows: Rows = [hit_button(hit, ContactFormCb(action="co", id=hit.entity_id)) for hit in hits]
    rows.append(
        [
            button(
                _("➕ New company “{name}”").format(name=short(query, 40)),
                ContactFormCb(action="newco"),
            )
        ]
    )
    rows.append([button(_("No company"), ContactFormCb(action="noco"))])
    rows.append([cancel_button()])
    text = (
        _("Companies like “{query}”:") if hits else _("No company like “{query}” among yours.")
    ).format(query=h(query))
    await message.answer(text, reply_markup=markup(rows))


async def contact_button(
    callback: CallbackQuery,
    callback_data: ContactFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    action = callback_data.action
    data = await CONTACT_DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = CONTACT_DIALOG.step_of(data)
    if action == "back" and step != "name":
        await ask_contact(callback, uow, actor, state, CONTACT_DIALOG.back(data))
    elif action == "skip" and step in ("phone", "email"):
        await ask_contact(callback, uow, actor, state, {**data, step: None})
    elif action in ("co", "newco", "noco") and step == "company":
        await callback.answer()
        await save_contact(callback, card_view, uow, actor, state, data, callback_data)
        return
    else:
        await stale(callback)
        return
    await callback.answer()


async def save_contact(
    callback: CallbackQuery,
    card_view: CardView,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
    callback_data: ContactFormCb,
) -> None:
    company_id = callback_data.id if callback_data.action == "co" else None
    company_name = data.get("company_name") if callback_data.action == "newco" else None
    await state.clear()
    assert isinstance(callback.message, Message)
    await create_contact(
        callback.message,
        card_view,
        uow,
        actor,
        ContactInput(
            name=data.get("name") or "",
            phone=data.get("phone"),
            email=data.get("email"),
            company_id=company_id,
            company_name=company_name,
            tg_user_id=data.get("tg_user_id"),
            tg_username=data.get("tg_username"),
        ),
    )


# --- a shared Telegram contact card ---------------------------------------------------------


def shared_phone(value: str) -> str | None:
    """Telegram sends international numbers without the '+': '79123456789'."""
    value = value.strip()
    if value and not value.startswith("+") and value.replace(" ", "").isdigit():
        value = "+" + value
    return validation.phone(value)


async def shared_contact(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    card = message.contact
    assert card is not None
    await state.clear()
    phone = shared_phone(card.phone_number)
    name = validation.text("name", " ".join(filter(None, [card.first_name, card.last_name])))
    known = await contacts.find_by_telegram(uow, actor, tg_user_id=card.user_id, phone=phone)
    if known:
        await contacts.remember_telegram(uow, actor, known[0].id, card.user_id)
        text, keyboard = await card_view.open(uow, actor, CONTACT, known[0].id)
        await message.answer(
            _("This contact is already in your CRM.") + "\n\n" + text, reply_markup=keyboard
        )
        return
    data = {"name": name, "phone": phone, "email": None, "tg_user_id": card.user_id, "shared": True}
    await ask_contact(message, uow, actor, state, data)


def setup() -> Router:
    router = Router(name="clients.contact")
    router.message.register(contact_command, Command("contact"))
    router.message.register(contact_name, ContactForm.name, F.text, ~F.text.startswith("/"))
    router.message.register(contact_phone, ContactForm.phone, F.text, ~F.text.startswith("/"))
    router.message.register(contact_email, ContactForm.email, F.text, ~F.text.startswith("/"))
    router.message.register(
        contact_company_search, ContactForm.company, F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(contact_button, ContactFormCb.filter())
    router.message.register(shared_contact, F.contact)
    return router
