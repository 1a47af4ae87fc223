"""The duplicate check at the door, as the user meets it: a client someone out of their
reach serves is named by its curator only, with "Ask for this client"; the request goes
to the curator's head, who transfers the client or declines with a button.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import AlreadyServed
from crm.services.duplicates import requests
from crm.services.duplicates.door import Match
from crm.uow import UnitOfWork
from handlers.cards.callbacks import cancel_button
from handlers.deals.approvals import send_quietly
from handlers.duplicates.callbacks import CODES, KINDS, AskCb, RequestCb
from handlers.ui import button, h, markup, show


def served_text(curator: str, department: str | None) -> str:
    if department:
        return _("This client is already served by {curator} ({department}).").format(
            curator=h(curator), department=h(department)
        )
    return _("This client is already served by {curator}.").format(curator=h(curator))


def served_markup(kind: str, entity_id: int) -> InlineKeyboardMarkup:
    return markup(
        [
            [button(_("🙋 Ask for this client"), AskCb(kind=CODES[kind], id=entity_id))],
            [cancel_button()],
        ]
    )


async def tell_served(message: Message, refused: AlreadyServed | Match) -> None:
    """Answer a refused new record: who serves the client, and the button to ask for it."""
    if isinstance(refused, Match):
        kind, entity_id = refused.kind, refused.entity_id
        curator, department = refused.curator_name, refused.department
    else:
        kind, entity_id = refused.kind, refused.entity_id
        curator, department = refused.curator, refused.department
    await message.answer(
        served_text(curator, department), reply_markup=served_markup(kind, entity_id)
    )


def decide_markup(request_id: int) -> InlineKeyboardMarkup:
    return markup(
        [
            [
                button("✅ " + _("Transfer"), RequestCb(id=request_id, ok=True)),
                button("❌ " + _("Decline"), RequestCb(id=request_id, ok=False)),
            ]
        ]
    )


async def ask(
    callback: CallbackQuery,
    callback_data: AskCb,
    uow: UnitOfWork,
    actor: Actor,
    bot: Bot,
    i18n: I18n,
) -> None:
    kind = KINDS.get(callback_data.kind, "")
    asked = await requests.ask(uow, actor, kind, callback_data.id)
    reached = []
    for approver in asked.approvers:
        with i18n.use_locale(approver.language):
            text = _(
                "<b>A client is asked for</b>\n{requester} asks for «{client}», "
                "served by {curator}. Transfer the client to {requester}?"
            ).format(requester=h(actor.name), client=h(asked.client), curator=h(asked.curator.name))
            if await send_quietly(
                bot, approver.tg_id, text, reply_markup=decide_markup(asked.request.id)
            ):
                reached.append(approver.name)
    if reached:
        text = _("Your request was sent to {names}. You will get an answer here.").format(
            names=h(", ".join(reached))
        )
    else:
        text = _("Your request is saved, but nobody who can decide on it could be reached.")
    await show(callback, text)
    await callback.answer()


async def decide(
    callback: CallbackQuery,
    callback_data: RequestCb,
    uow: UnitOfWork,
    actor: Actor,
    bot: Bot,
    i18n: I18n,
) -> None:
    decided = await requests.decide(uow, actor, callback_data.id, callback_data.ok)
    client, requester = h(decided.client), decided.requester
    if callback_data.ok:
        verdict = _("Transferred: «{client}» is now served by {requester}.")
    else:
        verdict = _("Declined: «{client}» stays with its curator.")
    await show(callback, verdict.format(client=client, requester=h(requester.name)))
    await callback.answer()
    with i18n.use_locale(requester.language):
        if callback_data.ok:
            note = _("{head} transferred «{client}» to you.")
        else:
            note = _("{head} declined your request for «{client}».")
        await send_quietly(bot, requester.tg_id, note.format(head=h(actor.name), client=client))


def setup() -> Router:
    router = Router(name="duplicates.door")
    router.callback_query.register(ask, AskCb.filter())
    router.callback_query.register(decide, RequestCb.filter())
    return router
