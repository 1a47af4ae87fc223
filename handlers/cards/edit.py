"""✏ Edit on a company or contact card: one field at a time, or the company's stage.

A Wizard of two steps: the menu of fields (the stage's buttons are that step too), then
the typed value. Its buttons carry the record they are about, so the menu works without
the dialog's data; Cancel goes back to the record's card, nothing saved. `cancel` below
is the Cancel of the client side's other dialogs (creating a company or a contact, /find),
which have no card to go back to.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import AccessDenied
from crm.services import cards, companies, contacts
from crm.uow import UnitOfWork
from handlers.cards.callbacks import (
    COMPANY,
    CONTACT,
    CancelCb,
    EditCb,
    EditNavCb,
    ParentCb,
    StageCb,
)
from handlers.cards.view import CardView, Rows
from handlers.dialog import Wizard, ends_if_final, stale
from handlers.ui import button, cancel_text, h, markup, show
from handlers.words import COMPANY_STAGES, N_, label

COMPANY_FIELDS = {
    "name": N_("Name"),
    "industry": N_("Industry"),
    "territory": N_("Territory"),
    "inn": N_("Tax id (INN)"),
    "notes": N_("Notes"),
}
CONTACT_FIELDS = {
    "name": N_("Name"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "position": N_("Position"),
    "tg_username": N_("Telegram username"),
    "company_name": N_("Company"),
    "notes": N_("Notes"),
}
CLEAR = "-"


class EditForm(StatesGroup):
    field = State()  # data: kind, id
    value = State()  # data: kind, id, field


EDIT_DIALOG = Wizard.linear(
    [("field", EditForm.field, ("field",)), ("value", EditForm.value, ())],
    nav=EditNavCb,
    cancel_button=lambda: button(_("✖ Cancel"), EditNavCb(action="cancel")),
)


def _fields(kind: str) -> dict[str, str]:
    return COMPANY_FIELDS if kind == COMPANY else CONTACT_FIELDS


async def _current(uow: UnitOfWork, actor: Actor, kind: str, entity_id: int) -> Any:
    """The record itself, read through its card (so access is checked by the service)."""
    if kind == COMPANY:
        return (await cards.company_card(uow, actor, entity_id)).company
    return (await cards.contact_card(uow, actor, entity_id)).contact


async def edit_menu(
    callback: CallbackQuery,
    callback_data: EditCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    kind, entity_id = callback_data.kind, callback_data.id
    if kind not in (COMPANY, CONTACT):
        raise AccessDenied(kind)  # a crafted kind: the same answer as a forged id
    record = await _current(uow, actor, kind, entity_id)
    fields = [
        button(_(title), EditCb(kind=kind, id=entity_id, field=name))
        for name, title in _fields(kind).items()
    ]
    rows: Rows = [fields[i : i + 3] for i in range(0, len(fields), 3)]
    if kind == COMPANY:
        rows.append(
            [
                button(_("Stage"), StageCb(company_id=entity_id)),
                button(_("Parent company"), ParentCb(action="start", company_id=entity_id)),
            ]
        )
    rows.append(EDIT_DIALOG.nav_buttons(back=False))
    await EDIT_DIALOG.save(state, {"kind": kind, "id": entity_id})
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("What to change in {name}?").format(name=f"<b>{h(record.name)}</b>"),
            reply_markup=markup(rows),
        )
    await callback.answer()


async def edit_field(
    callback: CallbackQuery,
    callback_data: EditCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    kind, entity_id, field = callback_data.kind, callback_data.id, callback_data.field
    if kind not in (COMPANY, CONTACT) or field not in _fields(kind):
        raise AccessDenied(kind)  # a crafted kind or field
    if kind == CONTACT and field == "company_name":  # named only if the company is visible
        current = (await cards.contact_card(uow, actor, entity_id)).company_name
    else:
        current = getattr(await _current(uow, actor, kind, entity_id), field)
    await EDIT_DIALOG.save(state, {"kind": kind, "id": entity_id, "field": field})
    text = _("Send the new value of “{field}”.").format(field=_(_fields(kind)[field]))
    if current:
        text += "\n" + _("Now: {value}").format(value=h(current))
    if field != "name":
        text += "\n" + _("Send “-” to clear it.")
    await show(callback, text, EDIT_DIALOG.nav_markup(back=False))
    await callback.answer()


async def typed_value(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    data = await state.get_data()
    kind, entity_id, field = data["kind"], int(data["id"]), data["field"]
    text = (message.text or "").strip()
    value = None if text == CLEAR else text
    async with ends_if_final(state):  # a bad value: asked again; out of reach: it ends
        if kind == COMPANY:
            await companies.update(uow, actor, entity_id, **{field: value})
        else:
            await contacts.update(uow, actor, entity_id, **{field: value})
    await state.clear()
    card_text, keyboard = await card_view.open(uow, actor, kind, entity_id)
    await message.answer(_("Saved.") + "\n\n" + card_text, reply_markup=keyboard)


async def stage_menu(
    callback: CallbackQuery,
    callback_data: StageCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    company = await _current(uow, actor, COMPANY, callback_data.company_id)
    rows: Rows = [
        [button(_(name), StageCb(company_id=company.id, stage=stage))]
        for stage, name in COMPANY_STAGES.items()
    ]
    rows.append(EDIT_DIALOG.nav_buttons(back=False))
    await EDIT_DIALOG.save(state, {"kind": COMPANY, "id": company.id})
    await show(
        callback,
        _("Stage of {name}: now {stage}.").format(
            name=f"<b>{h(company.name)}</b>", stage=label(COMPANY_STAGES, company.stage)
        ),
        markup(rows),
    )
    await callback.answer()


async def set_stage(
    callback: CallbackQuery,
    callback_data: StageCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    await companies.update(uow, actor, callback_data.company_id, stage=callback_data.stage)
    await EDIT_DIALOG.leave(state, {"kind": COMPANY, "id": callback_data.company_id})
    text, keyboard = await card_view.open(uow, actor, COMPANY, callback_data.company_id)
    await show(callback, _("Saved.") + "\n\n" + text, keyboard)
    await callback.answer()


async def edit_button(
    callback: CallbackQuery,
    callback_data: EditNavCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    async def back_to_card(data: dict[str, Any]) -> None:  # Cancel: the record's card again
        text, keyboard = await card_view.open(uow, actor, str(data["kind"]), int(data["id"]))
        await show(callback, text, keyboard)

    data = await EDIT_DIALOG.pressed(callback, callback_data.action, state, home=back_to_card)
    if data is not None:
        await stale(callback)  # the dialog has no other button of its own


async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(callback, cancel_text())
    await callback.answer()


def setup() -> Router:
    router = Router(name="cards.edit")
    router.callback_query.register(edit_menu, EditCb.filter(F.field == ""))
    router.callback_query.register(edit_field, EditCb.filter(F.field != ""))
    router.message.register(typed_value, EditForm.value, F.text, ~F.text.startswith("/"))
    router.callback_query.register(stage_menu, StageCb.filter(F.stage == ""))
    router.callback_query.register(set_stage, StageCb.filter(F.stage != ""))
    router.callback_query.register(edit_button, EditNavCb.filter())
    router.callback_query.register(cancel, CancelCb.filter())
    return router
