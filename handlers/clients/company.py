"""/company: a company on one line (`name; industry; territory`) or step by step.

A company already stored (crm/services/duplicates/door.py) is asked about first: one
within the user's reach can be opened, or another one created; one out of reach is named
by its curator, with "Ask for this client".
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
from crm.services import companies
from crm.services.companies import CompanyInput
from crm.services.duplicates import door
from crm.uow import UnitOfWork
from handlers.cards.callbacks import COMPANY, CardCb, cancel_button
from handlers.cards.view import CardView
from handlers.clients.callbacks import CompanyFormCb
from handlers.dialog import Wizard, over, stale
from handlers.duplicates.door import tell_served
from handlers.ui import button, h, markup, show, split_args


class CompanyForm(StatesGroup):
    name = State()
    industry = State()
    territory = State()
    confirm = State()
    duplicate = State()


def company_input(data: dict[str, Any]) -> CompanyInput:
    return CompanyInput(
        name=data.get("name") or "", industry=data.get("industry"), territory=data.get("territory")
    )


async def create_company(
    message: Message,
    card_view: CardView,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    """Create it, unless it is a client already stored: one within the actor's reach is
    offered (open it, or create another one); one out of reach is named by its curator."""
    match = await door.check_company(uow, actor, data["name"])
    if match is not None and not match.visible:
        await state.clear()
        await tell_served(message, match)
        return
    if match is not None and not data.get("anyway"):
        existing = await companies.get_visible(uow, actor, match.entity_id)
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
    try:
        company = await companies.create(uow, actor, company_input(data))
    except AlreadyServed as refused:  # stored meanwhile
        await state.clear()
        await tell_served(message, refused)
        return
    await state.clear()
    text, keyboard = await card_view.open(uow, actor, COMPANY, company.id)
    await message.answer(_("Company added.") + "\n\n" + text, reply_markup=keyboard)


COMPANY_DIALOG = Wizard.linear(
    [
        ("name", CompanyForm.name, ("name",)),
        ("industry", CompanyForm.industry, ("industry",)),
        ("territory", CompanyForm.territory, ("territory",)),
        ("confirm", CompanyForm.confirm, ()),
    ],
    nav=CompanyFormCb,
    restart="/company",
    cancel_button=cancel_button,
)


async def company_command(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    await state.clear()
    if not command.args or not command.args.strip():
        await ask_company(message, state, {})
        return
    parts = [*split_args(command.args), "", ""]
    values = companies.clean(CompanyInput(name=parts[0], industry=parts[1], territory=parts[2]))
    data = {key: values[key] for key in ("name", "industry", "territory")}
    await create_company(message, card_view, uow, actor, state, data)


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


async def company_name(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["name"] = validation.text("name", message.text)
    await ask_company(message, state, data)


async def company_industry(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["industry"] = validation.optional_text("industry", message.text, validation.SHORT_MAX)
    await ask_company(message, state, data)


async def company_territory(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["territory"] = validation.optional_text("territory", message.text, validation.SHORT_MAX)
    await ask_company(message, state, data)


async def company_anyway(
    callback: CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    if await state.get_state() != CompanyForm.duplicate.state:
        await over(callback, COMPANY_DIALOG.restart)
        return
    await callback.answer()
    assert isinstance(callback.message, Message)
    data = {**(await state.get_data()), "anyway": True}
    await create_company(callback.message, card_view, uow, actor, state, data)


async def company_button(
    callback: CallbackQuery,
    callback_data: CompanyFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    action = callback_data.action
    data = await COMPANY_DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = COMPANY_DIALOG.step_of(data)
    if action == "back" and step != "name":
        await ask_company(callback, state, COMPANY_DIALOG.back(data))
    elif action == "skip" and step in ("industry", "territory"):
        await ask_company(callback, state, {**data, step: None})
    elif action == "save" and step == "confirm":
        await callback.answer()
        assert isinstance(callback.message, Message)
        await create_company(callback.message, card_view, uow, actor, state, data)
        return
    else:
        await stale(callback)
        return
    await callback.answer()


def setup() -> Router:
    router = Router(name="clients.company")
    router.message.register(company_command, Command("company"))
    router.message.register(company_name, CompanyForm.name, F.text, ~F.text.startswith("/"))
    router.message.register(company_industry, CompanyForm.industry, F.text, ~F.text.startswith("/"))
    router.message.register(
        company_territory, CompanyForm.territory, F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(company_anyway, CompanyFormCb.filter(F.action == "anyway"))
    router.callback_query.register(company_button, CompanyFormCb.filter())
    return router
