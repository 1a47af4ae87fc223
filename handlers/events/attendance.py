"""👥 Invitees of an event, paged; after the start, who came (✅) and who did not (🚫)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import Conflict, InvalidInput
from crm.models import utcnow
from crm.models.enums import InviteeStatus
from crm.services import events
from crm.uow import UnitOfWork
from handlers.events.callbacks import EventCb
from handlers.events.card import status_name
from handlers.ui import PAGE, button, h, pager_row, short, show
from handlers.words import (
    INVITEE_ICONS,
    share,
)


async def invitees_page(
    uow: UnitOfWork, actor: Actor, event_id: int, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    view = await events.get(uow, actor, event_id)
    rows, total = await events.list_invitees(uow, actor, event_id, offset=offset, limit=PAGE)
    started = view.event.starts_at <= utcnow()
    lines = [f"📅 <b>{h(view.event.title)}</b>", _("Invitees: {count}").format(count=total)]
    if started:
        lines.append(
            _("Participation: {rate} ({attended} of {invited})").format(
                rate=share(view.participation_rate),
                attended=view.counts.get(InviteeStatus.ATTENDED, 0),
                invited=view.invited,
            )
        )
    lines.append("")
    kb = InlineKeyboardBuilder()
    for row in rows:
        company = f" ({h(row.company_name)})" if row.company_name else ""
        status = row.invitee.status
        icon = INVITEE_ICONS.get(status, "·")
        lines.append(f"{icon} {h(row.contact_name)}{company} — {status_name(status)}")
        if started:
            name = short(row.contact_name, 24)
            kb.row(
                button(
                    f"✅ {name}",
                    EventCb(
                        action="att", event_id=event_id, value=f"{row.invitee.id}.1", offset=offset
                    ),
                ),
                button(
                    f"🚫 {name}",
                    EventCb(
                        action="att", event_id=event_id, value=f"{row.invitee.id}.0", offset=offset
                    ),
                ),
            )
    if not total:
        lines.append(_("Nobody is invited yet."))
    elif started:
        lines += ["", _("Mark who came (✅) and who did not (🚫).")]
    pager = pager_row(EventCb, offset, total, action="inv", event_id=event_id)
    if pager:
        kb.row(*pager)
    kb.row(button(_("« Back"), EventCb(action="show", event_id=event_id)))
    return "\n".join(lines), kb.as_markup()


async def list_invitees(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await invitees_page(
        uow, actor, callback_data.event_id, max(0, callback_data.offset)
    )
    await show(callback, text, markup)
    await callback.answer()


async def mark_attendance(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    invitee_id, _sep, flag = callback_data.value.partition(".")
    if not invitee_id.isdigit() or flag not in ("0", "1"):
        raise InvalidInput("invitee", "invalid")
    try:
        await events.mark_attendance(
            uow, actor, callback_data.event_id, int(invitee_id), flag == "1"
        )
    except Conflict:
        await callback.answer(_("The event has not started yet."), show_alert=True)
        return
    text, markup = await invitees_page(
        uow, actor, callback_data.event_id, max(0, callback_data.offset)
    )
    await show(callback, text, markup)
    await callback.answer(_("Attended.") if flag == "1" else _("No-show."))


def setup() -> Router:
    router = Router(name="events.attendance")
    router.callback_query.register(list_invitees, EventCb.filter(F.action == "inv"))
    router.callback_query.register(mark_attendance, EventCb.filter(F.action == "att"))
    return router
