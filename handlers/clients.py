"""/company and /contact (one line or a dialog), shared contact cards, forwarded messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
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
from crm.services import cards, companies, contacts
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.uow import UnitOfWork
from handlers.dialog import Wizard, over, stale
from handlers.find import COMPANY, CONTACT, CardCb, Rows, cancel_button, card_view, hit_button
from handlers.interactions import log_and_report
from handlers.ui import button, h, markup, short, show, split_args

router = Router(name="clients")

COMPANY_CHOICES = 6
CONTACT_CHOICES = 8


class CompanyForm(StatesGroup):
    name = State()
    industry = State()
    territory = State()
    confirm = State()
    duplicate = State()


class ContactForm(StatesGroup):
    name = State()
    phone = State()
    email = State()
    company = State()


class ForwardForm(StatesGroup):
    pick = State()
    search = State()


class CompanyFormCb(CallbackData, prefix="cof"):
    action: str  # skip | back | save | anyway


class ContactFormCb(CallbackData, prefix="cnf"):
    action: str  # skip | back | co | newco | noco
    id: int = 0


class ForwardCb(CallbackData, prefix="fwd"):
    action: str  # pick | new | search
    id: int = 0


# --- /company -----------------------------------------------------------------------------


def company_input(data: dict[str, Any]) -> CompanyInput:
    return CompanyInput(
        name=data.get("name") or "", industry=data.get("industry"), territory=data.get("territory")
    )


async def create_company(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext, data: dict[str, Any]
) -> None:
    """Create it, unless a company of that name is already among the actor's: then ask."""
    existing = await companies.find_by_name(uow, actor, data["name"])
    if existing is not None and not data.get("anyway"):
        await state.set_state(CompanyForm.duplicate)
        await state.set_data(data)
        await message.answer(
            _("You already have a company named {name}. Open it, or create another one?").format(
                name=f"<b>{h(existing.name)}</b>"
            ),
            reply_markup=markup(
                [
                    [button(_("🏢 Open it"), CardCb(kind=COMPANY, id=existing.id))],
                    [button(_("➕ Create anyway"), CompanyFormCb(action="anyway"))],
                    [cancel_button()],
                ]
            ),
        )
        return
    company = await companies.create(uow, actor, company_input(data))
    await state.clear()
    text, keyboard = await card_view(uow, actor, COMPANY, company.id)
    await message.answer(_("Company added.") + "\n\n" + text, reply_markup=keyboard)


def company_step(data: Mapping[str, Any]) -> str:
    return next((key for key in ("name", "industry", "territory") if key not in data), "confirm")


COMPANY_DIALOG = Wizard(
    steps={
        "name": CompanyForm.name,
        "industry": CompanyForm.industry,
        "territory": CompanyForm.territory,
        "confirm": CompanyForm.confirm,
    },
    step_of=company_step,
    back_drops={"industry": ("name",), "territory": ("industry",), "confirm": ("territory",)},
    nav=CompanyFormCb,
    restart="/company",
    cancel_button=cancel_button,
)


@router.message(Command("company"))
async def company_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    if not command.args or not command.args.strip():
        await ask_company(message, state, {})
        return
    parts = [*split_args(command.args), "", ""]
    values = companies.clean(CompanyInput(name=parts[0], industry=parts[1], territory=parts[2]))
    data = {key: values[key] for key in ("name", "industry", "territory")}
    await create_company(message, uow, actor, state, data)


def company_summary(data: dict[str, Any]) -> str:
    return "\n".join(
        [
            _("Name: {value}").format(value=h(data.get("name"))),
            _("Industry: {value}").format(value=h(data.get("industry") or "—")),
            _("Territory: {value}").format(value=h(data.get("territory") or "—")),
        ]
    )


async def ask_company(
    event: Message | CallbackQuery, state: FSMContext, data: dict[str, Any]
) -> None:
    step = await COMPANY_DIALOG.save(state, data)
    skip = [button(_("Skip"), CompanyFormCb(action="skip"))]
    if step == "name":
        text, rows = _("New company. What is its name?"), [COMPANY_DIALOG.nav_buttons(back=False)]
    elif step == "industry":
        text, rows = _("Industry? e.g. construction, retail"), [skip, COMPANY_DIALOG.nav_buttons()]
    elif step == "territory":
        text, rows = _("Territory? e.g. Moscow, North-West"), [skip, COMPANY_DIALOG.nav_buttons()]
    else:
        text = _("Save this company?") + "\n\n" + company_summary(data)
        rows = [
            [button(_("✅ Save"), CompanyFormCb(action="save"))],
            COMPANY_DIALOG.nav_buttons(),
        ]
    await show(event, text, markup(rows))


@router.message(CompanyForm.name, F.text, ~F.text.startswith("/"))
async def company_name(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["name"] = validation.text("name", message.text)
    await ask_company(message, state, data)


@router.message(CompanyForm.industry, F.text, ~F.text.startswith("/"))
async def company_industry(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["industry"] = validation.optional_text("industry", message.text, validation.SHORT_MAX)
    await ask_company(message, state, data)


@router.message(CompanyForm.territory, F.text, ~F.text.startswith("/"))
async def company_territory(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["territory"] = validation.optional_text("territory", message.text, validation.SHORT_MAX)
    await ask_company(message, state, data)


@router.callback_query(CompanyFormCb.filter(F.action == "anyway"))
async def company_anyway(
    callback: CallbackQuery, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    if await state.get_state() != CompanyForm.duplicate.state:
        await over(callback, COMPANY_DIALOG.restart)
        return
    await callback.answer()
    assert isinstance(callback.message, Message)
    data = {**(await state.get_data()), "anyway": True}
    await create_company(callback.message, uow, actor, state, data)


@router.callback_query(CompanyFormCb.filter())
async def company_button(
    callback: CallbackQuery,
    callback_data: CompanyFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    action = callback_data.action
    data = await COMPANY_DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = company_step(data)
    if action == "back" and step != "name":
        await ask_company(callback, state, COMPANY_DIALOG.back(data))
    elif action == "skip" and step in ("industry", "territory"):
        await ask_company(callback, state, {**data, step: None})
    elif action == "save" and step == "confirm":
        await callback.answer()
        assert isinstance(callback.message, Message)
        await create_company(callback.message, uow, actor, state, data)
        return
    else:
        await stale(callback)
        return
    await callback.answer()


# --- /contact -----------------------------------------------------------------------------


@router.message(Command("contact"))
async def contact_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    if not command.args or not command.args.strip():
        await ask_contact(message, uow, actor, state, {})
        return
    parts = [*split_args(command.args), "", "", ""]
    contact = await contacts.create(
        uow,
        actor,
        ContactInput(
            name=parts[0],
            phone=parts[1] or None,
            email=parts[2] or None,
            company_name=parts[3] or None,
        ),
    )
    await show_new_contact(message, uow, actor, contact.id)


async def show_new_contact(
    message: Message, uow: UnitOfWork, actor: Actor, contact_id: int
) -> None:
    text, keyboard = await card_view(uow, actor, CONTACT, contact_id)
    await message.answer(_("Contact added.") + "\n\n" + text, reply_markup=keyboard)


def contact_step(data: Mapping[str, Any]) -> str:
    return next((key for key in ("name", "phone", "email") if key not in data), "company")


CONTACT_DIALOG = Wizard(
    steps={
        "name": ContactForm.name,
        "phone": ContactForm.phone,
        "email": ContactForm.email,
        "company": ContactForm.company,
    },
    step_of=contact_step,
    back_drops={"phone": ("name",), "email": ("phone",), "company": ("email",)},
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


@router.message(ContactForm.name, F.text, ~F.text.startswith("/"))
async def contact_name(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["name"] = validation.text("name", message.text)
    await ask_contact(message, uow, actor, state, data)


@router.message(ContactForm.phone, F.text, ~F.text.startswith("/"))
async def contact_phone(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["phone"] = validation.phone(message.text)
    await ask_contact(message, uow, actor, state, data)


@router.message(ContactForm.email, F.text, ~F.text.startswith("/"))
async def contact_email(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["email"] = validation.email(message.text)
    await ask_contact(message, uow, actor, state, data)


@router.message(ContactForm.company, F.text, ~F.text.startswith("/"))
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


@router.callback_query(ContactFormCb.filter())
async def contact_button(
    callback: CallbackQuery,
    callback_data: ContactFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    action = callback_data.action
    data = await CONTACT_DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = contact_step(data)
    if action == "back" and step != "name":
        await ask_contact(callback, uow, actor, state, CONTACT_DIALOG.back(data))
    elif action == "skip" and step in ("phone", "email"):
        await ask_contact(callback, uow, actor, state, {**data, step: None})
    elif action in ("co", "newco", "noco") and step == "company":
        await callback.answer()
        await save_contact(callback, uow, actor, state, data, callback_data)
        return
    else:
        await stale(callback)
        return
    await callback.answer()


async def save_contact(
    callback: CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
    callback_data: ContactFormCb,
) -> None:
    company_id = callback_data.id if callback_data.action == "co" else None
    company_name = data.get("company_name") if callback_data.action == "newco" else None
    contact = await contacts.create(
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
    await state.clear()
    assert isinstance(callback.message, Message)
    await show_new_contact(callback.message, uow, actor, contact.id)


# --- a shared Telegram contact card ---------------------------------------------------------


def shared_phone(value: str) -> str | None:
    """Telegram sends international numbers without the '+': '79123456789'."""
    value = value.strip()
    if value and not value.startswith("+") and value.replace(" ", "").isdigit():
        value = "+" + value
    return validation.phone(value)


@router.message(F.contact)
async def shared_contact(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    card = message.contact
    assert card is not None
    await state.clear()
    phone = shared_phone(card.phone_number)
    name = validation.text("name", " ".join(filter(None, [card.first_name, card.last_name])))
    known = await contacts.find_by_telegram(uow, actor, tg_user_id=card.user_id, phone=phone)
    if known:
        text, keyboard = await card_view(uow, actor, CONTACT, known[0].id)
        await message.answer(
            _("This contact is already in your CRM.") + "\n\n" + text, reply_markup=keyboard
        )
        return
    data = {"name": name, "phone": phone, "email": None, "tg_user_id": card.user_id, "shared": True}
    await ask_contact(message, uow, actor, state, data)


# --- a forwarded message --------------------------------------------------------------------


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


@router.message(F.forward_origin)
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


@router.callback_query(ForwardForm.pick, ForwardCb.filter(F.action == "pick"))
@router.callback_query(ForwardForm.search, ForwardCb.filter(F.action == "pick"))
async def forward_picked(
    callback: CallbackQuery,
    callback_data: ForwardCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    card = await cards.contact_card(uow, actor, callback_data.id)
    await callback.answer()
    assert isinstance(callback.message, Message)
    await log_forward(
        callback.message, uow, actor, card.contact.id, contact_title(card.contact), data
    )
    await state.clear()


@router.callback_query(ForwardForm.pick, ForwardCb.filter(F.action == "new"))
@router.callback_query(ForwardForm.search, ForwardCb.filter(F.action == "new"))
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


@router.callback_query(ForwardForm.pick, ForwardCb.filter(F.action == "search"))
@router.callback_query(ForwardForm.search, ForwardCb.filter(F.action == "search"))
async def forward_search(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ForwardForm.search)
    await show(
        callback,
        _("Send a part of the contact's name, and I will find them."),
        markup([[cancel_button()]]),
    )
    await callback.answer()


@router.message(ForwardForm.search, F.text, ~F.text.startswith("/"))
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


@router.callback_query(ForwardCb.filter())
async def forward_over(callback: CallbackQuery) -> None:
    await over(callback)
