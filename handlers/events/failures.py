"""The emails of an event the mail servers refused: the list of addresses and reasons,
opened from the card's "⚠ Undelivered" button or from the notice that told the
responsible manager (notifications/email_notices.py)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.services import event_failures, events
from crm.uow import UnitOfWork
from handlers.events.callbacks import EventCb
from handlers.ui import PAGE, button, h, short
from notifications.email_notices import EventFailuresCb


async def show_failures(
    callback: CallbackQuery, callback_data: EventFailuresCb, uow: UnitOfWork, actor: Actor
) -> None:
    """The addresses the mail servers refused, with their reasons."""
    view = await events.get(uow, actor, callback_data.event_id)
    items, total = await event_failures.failures(uow, actor, view.event.id, limit=PAGE * 2)
    lines = [
        f"📅 <b>{h(view.event.title)}</b>",
        _("Undelivered emails: {count}").format(count=total),
        "",
    ]
    for item in items:
        who = f"{h(item.contact_name)} " if item.contact_name else ""
        lines.append(f"✖ {who}&lt;{h(item.address)}&gt; — {h(short(item.reason, 160))}")
    if total > len(items):
        lines.append(_("…and {count} more").format(count=total - len(items)))
    if not total:
        lines.append(_("Every email was delivered."))
    kb = InlineKeyboardBuilder()
    kb.row(button(_("« Back"), EventCb(action="show", event_id=view.event.id)))
    if isinstance(callback.message, Message):
        await callback.message.answer("\n".join(lines), reply_markup=kb.as_markup())
    await callback.answer()


def setup() -> Router:
    router = Router(name="events.failures")
    router.callback_query.register(show_failures, EventFailuresCb.filter())
    return router
