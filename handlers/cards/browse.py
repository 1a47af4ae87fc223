"""A card's buttons that stay with the card: open it, its contacts, back to it."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services import contacts
from crm.uow import UnitOfWork
from handlers.cards.callbacks import COMPANY, CONTACT, CardBackCb, CardCb, ContactsCb
from handlers.cards.view import CardView, Rows
from handlers.ui import PAGE, button, markup, pager_row, short, show


async def open_card(
    callback: CallbackQuery,
    callback_data: CardCb,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
) -> None:
    text, keyboard = await card_view.open(uow, actor, callback_data.kind, callback_data.id)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=keyboard)
    await callback.answer()


async def company_contacts(
    callback: CallbackQuery, callback_data: ContactsCb, uow: UnitOfWork, actor: Actor
) -> None:
    company_id, offset = callback_data.company_id, max(0, callback_data.offset)
    rows, total = await contacts.list_for_company(uow, actor, company_id, offset, PAGE)
    lines = [_("<b>Contacts</b> ({count})").format(count=total)]
    if not rows:
        lines.append(_("No contacts yet."))
    keyboard: Rows = [
        [
            button(
                f"👤 {short(c.name, 40)}" + (f", {short(c.position, 20)}" if c.position else ""),
                CardCb(kind=CONTACT, id=c.id),
            )
        ]
        for c in rows
    ]
    keyboard.append(pager_row(ContactsCb, offset, total, company_id=company_id))
    keyboard.append([button(_("« Back to the card"), CardBackCb(kind=COMPANY, id=company_id))])
    await show(callback, "\n".join(lines), markup(keyboard))
    await callback.answer()


async def back_to_card(
    callback: CallbackQuery,
    callback_data: CardBackCb,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
) -> None:
    text, keyboard = await card_view.open(uow, actor, callback_data.kind, callback_data.id)
    await show(callback, text, keyboard)
    await callback.answer()


def setup() -> Router:
    router = Router(name="cards.browse")
    router.callback_query.register(open_card, CardCb.filter())
    router.callback_query.register(company_contacts, ContactsCb.filter())
    router.callback_query.register(back_to_card, CardBackCb.filter())
    return router
