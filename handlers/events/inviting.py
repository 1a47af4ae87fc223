"""➕ Add invitees (by segment: all, a relationship stage, an industry, a territory, a
company) and ✉ Send invitations (queued in the outbox).
"""

from __future__ import annotations

from functools import partial

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import Conflict
from crm.services import events
from crm.services.events import EventView
from crm.settings import Settings
from crm.uow import UnitOfWork
from handlers import segments
from handlers.events.callbacks import EventCb
from handlers.events.card import render_card, started_text
from handlers.ui import PAGE, button, h, pager_row, show


class EventCompanyForm(StatesGroup):
    name = State()  # the "By company" list is open: a typed text looks the company up


def maker(event_id: int) -> segments.Make:
    return partial(EventCb, event_id=event_id)


def to_card(event_id: int) -> InlineKeyboardButton:
    return button(_("« Back"), EventCb(action="show", event_id=event_id))


def to_menu(event_id: int) -> InlineKeyboardButton:
    return button(_("« Back"), EventCb(action="add", event_id=event_id))


def segment_prompt(view: EventView) -> str:
    return f"📅 <b>{h(view.event.title)}</b>\n" + _(
        "Whom to invite? Only contacts with an email who did not unsubscribe are added."
    )


async def add_menu(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await leave_company_search(state)
    view = await events.get(uow, actor, callback_data.event_id)
    keyboard = segments.menu_markup(actor, maker(view.event.id), to_card(view.event.id))
    await show(callback, segment_prompt(view), keyboard)
    await callback.answer()


async def choose_value(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    view = await events.get(uow, actor, callback_data.event_id)
    kind = "industry" if callback_data.action == "inds" else "territory"
    event_id = view.event.id
    text, keyboard = await segments.values_screen(
        uow, actor, kind, maker(event_id), to_menu(event_id)
    )
    await show(callback, text, keyboard)
    await callback.answer()


async def leave_company_search(state: FSMContext) -> None:
    if await state.get_state() == EventCompanyForm.name.state:
        await state.clear()


async def choose_company(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    view = await events.get(uow, actor, callback_data.event_id)
    offset = max(0, callback_data.offset)
    rows, total = await events.segment_companies(uow, actor, offset=offset, limit=PAGE)
    pager = pager_row(EventCb, offset, total, action="cos", event_id=view.event.id)
    if total:
        await state.set_state(EventCompanyForm.name)
        await state.set_data({"event_id": view.event.id})
    keyboard = segments.companies_markup(rows, pager, maker(view.event.id), to_menu(view.event.id))
    await show(callback, segments.companies_text(total), keyboard)
    await callback.answer()


async def typed_company(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    typed = (message.text or "").strip()
    view = await events.get(uow, actor, int((await state.get_data()).get("event_id", 0)))
    event_id = view.event.id
    text, keyboard = await segments.found_companies(
        uow, actor, typed, maker(event_id), to_menu(event_id)
    )
    await message.answer(text, reply_markup=keyboard)


async def add_segment(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await leave_company_search(state)
    segment = await segments.segment_of(uow, actor, callback_data.value)
    try:
        result = await events.add_invitees(uow, actor, callback_data.event_id, segment)
    except Conflict:
        await callback.answer(started_text(), show_alert=True)
        return
    lines = [_("Invitees added: {count}.").format(count=result.added)]
    if result.skipped:
        lines.append(
            _(
                "Skipped: {no_email} without an email, {opted_out} unsubscribed, "
                "{already} already on the list."
            ).format(no_email=result.no_email, opted_out=result.opted_out, already=result.already)
        )
    text, markup = render_card(actor, await events.get(uow, actor, callback_data.event_id))
    await show(callback, "\n".join(lines) + "\n\n" + text, markup)
    await callback.answer()


async def send_invitations(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    settings: Settings,
) -> None:
    try:
        result = await events.send_invitations(
            uow,
            actor,
            callback_data.event_id,
            base_url=settings.public_base_url,
            sender=settings.smtp_from,
        )
    except Conflict:
        await callback.answer(started_text(), show_alert=True)
        return
    lines = [_("Invitations queued: {count}.").format(count=result.queued)]
    earlier = result.earlier
    if earlier.get("queued"):
        lines.append(
            _("Already in the outbox, not sent yet: {count}.").format(count=earlier["queued"])
        )
    if earlier.get("sent"):
        lines.append(_("Already sent before: {count}.").format(count=earlier["sent"]))
    if earlier.get("failed"):
        lines.append(_("Sent before, but failed: {count}.").format(count=earlier["failed"]))
    if result.skipped:
        lines.append(
            _("Not sent (no email or unsubscribed): {count}.").format(count=result.skipped)
        )
    if not result.queued and not result.already:
        lines.append(_("Add invitees first."))
    if not settings.mail_enabled:
        lines.append(
            _(
                "⚠ Mail is disabled (SMTP_HOST is not set): the emails wait in the outbox "
                "and go out once it is set up."
            )
        )
    text, markup = render_card(actor, await events.get(uow, actor, callback_data.event_id))
    await show(callback, "\n".join(lines) + "\n\n" + text, markup)
    await callback.answer()


def setup() -> Router:
    router = Router(name="events.inviting")
    router.callback_query.register(add_menu, EventCb.filter(F.action == "add"))
    router.callback_query.register(choose_value, EventCb.filter(F.action.in_({"inds", "ters"})))
    router.callback_query.register(choose_company, EventCb.filter(F.action == "cos"))
    router.message.register(typed_company, EventCompanyForm.name, F.text, ~F.text.startswith("/"))
    router.callback_query.register(add_segment, EventCb.filter(F.action == "seg"))
    router.callback_query.register(send_invitations, EventCb.filter(F.action == "send"))
    return router
