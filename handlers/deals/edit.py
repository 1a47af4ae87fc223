"""✏ Edit on the deal card: one field at a time (title, amount, expected close, contact,
source, next step), through the Wizard: the field, then its value.

Which fields exist is decided by `crm.services.deal_edits.editable_fields` (none for a
closed deal, no amount once the deal has lines); the write is `deals.update`, which checks
the same rules again, so a crafted button changes nothing. A value that cannot be taken is
answered politely (bot/errors.py, or the time question asked again) and the dialog stays
where it was. Cancel goes back to the deal's card, nothing saved.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm import when
from crm.access import Actor
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.services import cards, deal_edits, deals
from crm.services.cards import DealCard
from crm.uow import UnitOfWork
from handlers.cards.view import CardView
from handlers.deals.callbacks import DealEditCb
from handlers.deals.card import show_deal
from handlers.dialog import Wizard, ask_when_again, stale, take
from handlers.ui import button, h, markup, short, show
from handlers.words import N_, day, money

Rows = list[list[InlineKeyboardButton]]
CLEAR = "-"
NO_CONTACT = "0"
FIELD_NAMES = {
    "title": N_("Title"),
    "amount": N_("Amount"),
    "expected_close": N_("Expected close"),
    "contact_id": N_("Contact"),
    "source": N_("Source"),
    "next_step": N_("Next step"),
}


class DealEditForm(StatesGroup):
    field = State()
    value = State()


DIALOG = Wizard.linear(
    [("field", DealEditForm.field, ("field",)), ("value", DealEditForm.value, ("value",))],
    nav=lambda action: DealEditCb(action=action),
)


def edit_row(actor: Actor, card: DealCard) -> Rows:
    """The card's ✏ Edit, where the deal has a field the actor may change."""
    if not deal_edits.editable_fields(card.deal, bool(card.lines)):
        return []
    return [[button(_("✏ Edit"), DealEditCb(action="menu", deal_id=card.deal.id))]]


# --- the questions ---------------------------------------------------------------------


def _close_rows(actor: Actor) -> Rows:
    this_month, next_month = deal_edits.close_choices(actor.timezone)
    return [
        [
            button(
                _("End of this month ({date})").format(date=day(this_month)),
                DealEditCb(action="pick", value=this_month.isoformat()),
            ),
            button(
                _("End of next month ({date})").format(date=day(next_month)),
                DealEditCb(action="pick", value=next_month.isoformat()),
            ),
        ]
    ]


def _current(card: DealCard, field: str) -> str | None:
    deal = card.deal
    if field == "amount":
        return money(deal.amount)
    if field == "expected_close":
        return day(deal.expected_close) if deal.expected_close else None
    if field == "contact_id":
        return card.contact_name
    value = getattr(deal, field)
    return str(value) if value else None


def _question(field: str) -> str:
    if field == "title":
        return _("Send the new title.")
    if field == "amount":
        return _("Send the new amount, e.g. 150000.")
    if field == "expected_close":
        return _(
            "When is the deal expected to close? Write a date (25.12, next friday, "
            "in 2 weeks) or press a button."
        )
    if field == "contact_id":
        return _("Which contact of the company?")
    if field == "source":
        return _("Send the new source, e.g. website or referral.")
    return _("What is the next step? E.g. send the offer on Monday.")


async def ask(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    """Save the dialog's data and show its step: the menu of fields, or one field's question."""
    card = await cards.deal_card(uow, actor, int(data["deal_id"]))  # refuses another's deal
    fields = deal_edits.editable_fields(card.deal, bool(card.lines))
    if not fields:
        raise Conflict("deal_closed", stage=card.deal.stage)
    data["fields"] = fields
    step = await DIALOG.save(state, data)
    head = _("What to change in the deal «{title}»?").format(title=h(card.deal.title))
    if step == "field":
        names = [button(_(FIELD_NAMES[f]), DealEditCb(action="field", value=f)) for f in fields]
        rows: Rows = [names[i : i + 3] for i in range(0, len(names), 3)]
        rows.append(DIALOG.nav_buttons(back=False))
        await show(target, head, markup(rows))
        return
    field = data["field"]
    lines = [f"<b>{_(FIELD_NAMES[field])}</b>", _question(field)]
    current = _current(card, field)
    if current:
        lines.append(_("Now: {value}").format(value=h(current)))
    if field in ("source", "next_step", "expected_close") and current:
        lines.append(_("Send “-” to clear it."))
    rows = []
    if field == "expected_close":
        rows = _close_rows(actor)
    elif field == "contact_id":
        choices = await deal_edits.contact_choices(uow, actor, card.deal.id)
        data["choices"] = {str(contact_id): name for contact_id, name in choices}
        await DIALOG.save(state, data)
        rows = [
            [button(short(name, 60), DealEditCb(action="pick", value=str(contact_id)))]
            for contact_id, name in choices
        ]
        if not choices:
            lines.append(_("The company has no contacts yet: add one with /contact."))
        rows.append([button(_("No contact"), DealEditCb(action="pick", value=NO_CONTACT))])
    rows.append(DIALOG.nav_buttons())
    await show(target, "\n".join(lines), markup(rows))


# --- saving -----------------------------------------------------------------------------


async def _save(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
    data: dict[str, Any],
    value: object,
) -> None:
    deal_id = int(data["deal_id"])
    await deals.update(uow, actor, deal_id, **{data["field"]: value})
    await state.clear()
    text, keyboard = card_view.deal(actor, await cards.deal_card(uow, actor, deal_id))
    if isinstance(target, CallbackQuery):
        await show(target, _("Saved.") + "\n\n" + text, keyboard)
    else:
        await target.answer(_("Saved.") + "\n\n" + text, reply_markup=keyboard)


def _ask_close_again(
    actor: Actor, err: InvalidInput, typed: str
) -> tuple[str, InlineKeyboardMarkup]:
    def pick(moment: datetime) -> DealEditCb:
        return DealEditCb(
            action="pick", value=when.to_local(moment, actor.timezone).date().isoformat()
        )

    def label(reader: Actor, moment: datetime) -> str:
        return day(when.to_local(moment, reader.timezone).date())

    return ask_when_again(
        actor,
        err,
        typed,
        pick=pick,
        rows=[*_close_rows(actor), DIALOG.nav_buttons()],
        after_past=_("When is the deal expected to close?"),
        examples=_("For example: 25.12, next friday, in 2 weeks, 1 March."),
        label=label,
    )


async def typed_value(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    data = await state.get_data()
    field, text = data["field"], (message.text or "").strip()
    value: object = text
    if field == "contact_id":  # a contact is chosen with its button
        await ask(message, uow, actor, state, data)
        return
    if field in ("source", "next_step", "expected_close") and text == CLEAR:
        value = None
    elif field == "expected_close":
        try:
            value = deal_edits.parse_close(text, actor.timezone)
        except InvalidInput as err:
            reply, keyboard = _ask_close_again(actor, err, text)
            await message.answer(reply, reply_markup=keyboard)
            return
    await _save(message, uow, actor, state, card_view, data, value)


# --- the buttons ----------------------------------------------------------------------------


async def start(
    callback: CallbackQuery,
    callback_data: DealEditCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await state.clear()
    await ask(callback, uow, actor, state, {"deal_id": callback_data.deal_id})
    await callback.answer()


async def pressed(
    callback: CallbackQuery,
    callback_data: DealEditCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    action, value = callback_data.action, callback_data.value

    async def back_to_card(data: dict[str, Any]) -> None:  # Cancel: the deal's card again
        await show_deal(callback, card_view, uow, actor, int(data["deal_id"]))

    data = await DIALOG.pressed(callback, action, state, home=back_to_card)
    if data is None:
        return
    step = DIALOG.step_of(data)
    if action == "back" and step == "value":
        await ask(callback, uow, actor, state, DIALOG.back(data))
    elif action == "field" and step == "field":
        if value not in data.get("fields", ()):
            raise AccessDenied("deal")  # a field the menu did not offer
        data["field"] = value
        await ask(callback, uow, actor, state, data)
    elif action == "pick" and step == "value" and data["field"] == "expected_close":
        chosen: date | None = deal_edits.read_close(value)
        await _save(callback, uow, actor, state, card_view, data, chosen)
    elif action == "pick" and step == "value" and data["field"] == "contact_id":
        contact = None if value == NO_CONTACT else int(value)
        if contact is not None:
            take(data, value, "contact")  # refuses a contact the step did not offer
        await _save(callback, uow, actor, state, card_view, data, contact)
    else:
        await stale(callback)
        return
    await callback.answer()


def setup() -> Router:
    router = Router(name="deals.edit")
    router.callback_query.register(start, DealEditCb.filter(F.action == "menu"))
    router.callback_query.register(pressed, DealEditCb.filter(F.action != "menu"))
    router.message.register(typed_value, DealEditForm.value, F.text, ~F.text.startswith("/"))
    return router
