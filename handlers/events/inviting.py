"""➕ Add invitees (by segment: all, a relationship stage, an industry, a territory, a
company) and ✉ Send invitations (queued in the outbox).
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import Conflict, InvalidInput
from crm.models.enums import Role
from crm.services import events
from crm.services.events import EventView, Segment
from crm.settings import Settings
from crm.uow import UnitOfWork
from handlers.events.callbacks import BUTTON_TITLE, EventCb
from handlers.events.card import render_card, started_text
from handlers.ui import PAGE, button, h, pager_row, short, show
from handlers.words import (
    CLIENT_GROUPS,
)


class EventCompanyForm(StatesGroup):
    name = State()  # the "By company" list is open: a typed text looks the company up


def segment_markup(event_id: int, actor: Actor) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    # a head or a director invites from every client they can see, not only their own
    everyone = _("All my clients") if actor.role is Role.MANAGER else _("All clients you can see")
    kb.row(button(everyone, EventCb(action="seg", event_id=event_id, value="all")))
    for stage, group in CLIENT_GROUPS.items():
        kb.row(button(_(group), EventCb(action="seg", event_id=event_id, value=f"stage.{stage}")))
    kb.row(
        button(_("By industry"), EventCb(action="inds", event_id=event_id)),
        button(_("By territory"), EventCb(action="ters", event_id=event_id)),
    )
    kb.row(button(_("By company"), EventCb(action="cos", event_id=event_id)))
    kb.row(button(_("« Back"), EventCb(action="show", event_id=event_id)))
    return kb.as_markup()


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
    await show(callback, segment_prompt(view), segment_markup(view.event.id, actor))
    await callback.answer()


async def choose_value(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    view = await events.get(uow, actor, callback_data.event_id)
    kind = "industry" if callback_data.action == "inds" else "territory"
    values = await events.segment_values(uow, actor, kind)
    kb = InlineKeyboardBuilder()
    prefix = "ind" if kind == "industry" else "ter"
    for index, value in enumerate(values):
        kb.row(
            button(
                short(value, BUTTON_TITLE),
                EventCb(action="seg", event_id=view.event.id, value=f"{prefix}.{index}"),
            )
        )
    kb.row(button(_("« Back"), EventCb(action="add", event_id=view.event.id)))
    text = _("Choose the industry:") if kind == "industry" else _("Choose the territory:")
    if not values:
        text = _("Your companies have no industry or territory filled in yet.")
    await show(callback, text, kb.as_markup())
    await callback.answer()


def companies_markup(
    event_id: int, rows: list[tuple[int, str]], pager: list[Any] | None
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for company_id, name in rows:
        kb.row(
            button(
                short(name, BUTTON_TITLE),
                EventCb(action="seg", event_id=event_id, value=f"co.{company_id}"),
            )
        )
    if pager:
        kb.row(*pager)
    kb.row(button(_("« Back"), EventCb(action="add", event_id=event_id)))
    return kb.as_markup()


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
        text = _("Choose the company, or type a part of its name:")
        await state.set_state(EventCompanyForm.name)
        await state.set_data({"event_id": view.event.id})
    else:
        text = _("None of your companies has a contact with an email.")
    await show(callback, text, companies_markup(view.event.id, rows, pager))
    await callback.answer()


async def typed_company(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    event_id = int((await state.get_data()).get("event_id", 0))
    typed = (message.text or "").strip()
    view = await events.get(uow, actor, event_id)
    rows, total = await events.segment_companies(uow, actor, limit=PAGE, name=typed)
    quoted = h(short(typed, 100))
    if not total:
        text = _(
            "None of your companies with an email is called like “{text}”. "
            "Type another part of the name."
        ).format(text=quoted)
    elif total > len(rows):
        text = _(
            "Found {count} for “{text}”, here are the first {shown}: choose one, "
            "or type more of the name."
        ).format(count=total, text=quoted, shown=len(rows))
    else:
        text = _("Found for “{text}”: choose the company.").format(text=quoted)
    await message.answer(text, reply_markup=companies_markup(view.event.id, rows, None))


async def segment_of(uow: UnitOfWork, actor: Actor, value: str) -> Segment:
    kind, _sep, rest = value.partition(".")
    if kind == "all":
        return Segment("all")
    if kind == "stage":
        return Segment("stage", rest)
    if kind in ("ind", "ter") and rest.isdigit():
        name = "industry" if kind == "ind" else "territory"
        values = await events.segment_values(uow, actor, name)
        if int(rest) < len(values):
            return Segment(name, values[int(rest)])
    if kind == "co" and rest.isdigit():
        return Segment("company", int(rest))
    raise InvalidInput("segment", "unknown_value", allowed=list(events.SEGMENT_KINDS))


async def add_segment(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await leave_company_search(state)
    segment = await segment_of(uow, actor, callback_data.value)
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
                "{already} already invited."
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
    if result.already:
        lines.append(_("Already sent before: {count}.").format(count=result.already))
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
