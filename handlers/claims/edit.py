"""✏ Edit on a claim card: its cause or its priority, in a Wizard of two steps.

crm/services/claims/edit.py decides who may change what: the card offers ✏ Edit on an
open claim only, the priority step only the priorities this user may set (a manager may
raise it, a head or a director also lower it), and a crafted press is refused by the
service all the same. The due date follows a new priority, counted from the claim's
filing. Cancel goes back to the claim's card, as it goes back to the deal's in the deal's
✏ Edit.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import Conflict
from crm.services import claims
from crm.uow import UnitOfWork
from handlers.claims.callbacks import ClaimCb
from handlers.claims.card import render_card, show_card
from handlers.claims.notice import render_notice
from handlers.dialog import Wizard, stale
from handlers.ui import button, h, markup, short, show
from handlers.words import cause_name, local_time, priority_badge
from notifications.claims_notify import notify_raised
from notifications.reminders import ReminderRuntime


class ClaimEditForm(StatesGroup):
    field = State()
    value = State()


class ClaimEditCb(CallbackData, prefix="cle"):
    action: str  # field | cause | prio | back | cancel
    value: str = ""


EDITING = Wizard.linear(
    [
        ("field", ClaimEditForm.field, ("field",)),
        ("value", ClaimEditForm.value, ("value",)),
    ],
    nav=ClaimEditCb,
)


async def start(
    callback: CallbackQuery,
    callback_data: ClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    view = await claims.get(uow, actor, callback_data.claim_id)  # refuses another's claim
    if not claims.editable_fields(actor, view.claim):
        raise Conflict("claim_closed_edit", status=view.claim.status)
    await state.clear()
    await ask(callback, uow, actor, state, {"claim_id": view.claim.id})
    await callback.answer()


async def ask(
    callback: CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    """Save the dialog's data and ask its next question, over the claim card."""
    view = await claims.get(uow, actor, int(data["claim_id"]))
    claim = view.claim
    step = EDITING.step_of(data)
    lines = [
        _("<b>Claim #{id}</b> — 🏢 {company}").format(id=claim.id, company=h(view.company.name)),
        _("Cause: {cause}").format(cause=h(cause_name(claim.cause, view.cause_title))),
        _("Priority: {priority}").format(priority=priority_badge(claim.priority)),
        _("Due: {due}").format(due=local_time(actor, claim.due_at)),
        "",
    ]
    rows: list[list[InlineKeyboardButton]]
    if step == "field":
        lines.append(_("What should be changed?"))
        fields = claims.editable_fields(actor, claim)
        names = {"cause": _("Cause"), "priority": _("Priority")}
        rows = [[button(names[f], ClaimEditCb(action="field", value=f)) for f in fields]]
    elif data["field"] == "cause":
        lines.append(_("The new cause?"))
        causes = await claims.list_causes(uow)
        rows = [
            [
                button(
                    short(cause_name(c.code, c.title), 40),
                    ClaimEditCb(action="cause", value=c.code),
                )
            ]
            for c in causes
            if c.code != claim.cause
        ]
    else:
        lines.append(
            _("The new priority? The due date follows it, counted from when the claim was filed.")
        )
        allowed = [p for p in claims.allowed_priorities(actor, claim) if p != claim.priority]
        rows = [[button(priority_badge(p), ClaimEditCb(action="prio", value=p)) for p in allowed]]
        if actor.role not in claims.REOPEN_ROLES:
            lines.append(_("A head or a director may lower it."))
    rows.append(EDITING.nav_buttons(back=step != "field"))
    await EDITING.save(state, data)
    await show(callback, "\n".join(lines), markup(rows))


async def pressed(
    callback: CallbackQuery,
    callback_data: ClaimEditCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    reminders: ReminderRuntime | None = None,
) -> None:
    action, value = callback_data.action, callback_data.value

    async def back_to_card(data: dict[str, Any]) -> None:  # Cancel: the claim's card again
        await show_card(callback, uow, actor, int(data["claim_id"]))

    data = await EDITING.pressed(callback, action, state, home=back_to_card)
    if data is None:
        return
    step = EDITING.step_of(data)
    if action == "back" and step != "field":
        await ask(callback, uow, actor, state, EDITING.back(data))
    elif action == "field" and step == "field" and value in claims.EDIT_FIELDS:
        data["field"] = value
        await ask(callback, uow, actor, state, data)
    elif action in ("cause", "prio") and step == "value":
        expected = "cause" if data["field"] == "cause" else "prio"
        if action != expected:
            await stale(callback)
            return
        # the service checks the value and refuses, with its reason, what this user may not set
        claim_id = int(data["claim_id"])
        if action == "cause":
            view = await claims.edit(uow, actor, claim_id, cause=value)
            note = _("Cause: {cause}").format(cause=cause_name(view.claim.cause, view.cause_title))
        else:
            before = (await claims.get(uow, actor, claim_id)).claim.priority
            view = await claims.edit(uow, actor, claim_id, priority=value)
            note = _("Priority: {priority}").format(priority=priority_badge(view.claim.priority))
        await state.clear()
        text, keyboard = render_card(actor, view)
        await show(callback, text, keyboard)
        await callback.answer(note)
        if action == "prio":  # raised to urgent: the responsible manager and their head hear
            await notify_raised(
                uow,
                bot,
                i18n,
                view.claim,
                before,
                render_notice,
                sender=reminders.sender if reminders is not None else None,
                raised_by=actor.id,
            )
        return
    else:
        await stale(callback)
        return
    await callback.answer()


def setup() -> Router:
    router = Router(name="claims.edit")
    router.callback_query.register(start, ClaimCb.filter(F.action == "edit"))
    router.callback_query.register(pressed, ClaimEditCb.filter())
    return router
