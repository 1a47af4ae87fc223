"""🕘 History of a card: its interactions, newest first, paged."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import AccessDenied
from crm.services import interactions
from crm.uow import UnitOfWork
from handlers.cards.callbacks import (
    COMPANY,
    CONTACT,
    DEAL,
    CardBackCb,
    HistoryCb,
)
from handlers.cards.view import Rows, interaction_line
from handlers.ui import PAGE, button, markup, pager_row, show


async def history(
    callback: CallbackQuery, callback_data: HistoryCb, uow: UnitOfWork, actor: Actor
) -> None:
    kind, subject_id, offset = callback_data.kind, callback_data.id, max(0, callback_data.offset)
    subject = {COMPANY: "company_id", CONTACT: "contact_id", DEAL: "deal_id"}.get(kind)
    if subject is None:
        raise AccessDenied(kind)  # a crafted kind: the same answer as a forged id
    rows, total = await interactions.history(
        uow, actor, **{subject: subject_id}, offset=offset, limit=PAGE
    )
    lines = [_("<b>History</b> ({count})").format(count=total)]
    lines += [interaction_line(actor, item, 300) for item in rows] or [_("No interactions yet.")]
    keyboard: Rows = [
        pager_row(HistoryCb, offset, total, kind=kind, id=subject_id),
        [button(_("« Back to the card"), CardBackCb(kind=kind, id=subject_id))],
    ]
    await show(callback, "\n\n".join(lines), markup(keyboard))
    await callback.answer()


def setup() -> Router:
    router = Router(name="interactions.history")
    router.callback_query.register(history, HistoryCb.filter())
    return router
