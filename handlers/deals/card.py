"""The deal card's own buttons: the stage moves, Win, Lose (with its reason), Reopen,
the stage history.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import InvalidInput
from crm.models.enums import DealStage
from crm.services import cards, deals
from crm.services.cards import DealCard
from crm.uow import UnitOfWork
from handlers.cards.view import CardView
from handlers.deals.callbacks import LOST_REASONS, DealCb, LostCb
from handlers.deals.questions import DIALOG
from handlers.dialog import stale as stale_button
from handlers.ui import button, h, show
from handlers.words import deal_stage, local_time, money


class LostForm(StatesGroup):
    reason = State()


# --- the rows this area adds to the deal card (handlers/cards/view.py draws it) ------------


def deal_rows(actor: Actor, card: DealCard) -> list[list[InlineKeyboardButton]]:
    """The stage buttons `deals.allowed_moves` offers, then the stage history."""
    deal = card.deal
    moves = deals.allowed_moves(actor, deal, card.history)
    rows: list[list[InlineKeyboardButton]] = []
    steps = []
    if moves.back is not None:
        steps.append(button("◀ " + deal_stage(moves.back), _move(deal.id, moves.back)))
    if moves.forward is not None:
        steps.append(button(deal_stage(moves.forward) + " ▶", _move(deal.id, moves.forward)))
    if steps:
        rows.append(steps)
    if moves.close:
        rows.append(
            [
                button("✅ " + _("Won"), DealCb(action="win", deal_id=deal.id)),
                button("❌ " + _("Lost"), DealCb(action="lose", deal_id=deal.id)),
            ]
        )
    if moves.reopen is not None:
        rows.append([button("↩ " + _("Reopen"), _move(deal.id, moves.reopen))])
    rows.append([button("📈 " + _("Stage history"), DealCb(action="hist", deal_id=deal.id))])
    return rows


def _move(deal_id: int, stage: DealStage) -> DealCb:
    return DealCb(action="move", deal_id=deal_id, stage=stage.value)


async def show_deal(
    target: Message | CallbackQuery,
    card_view: CardView,
    uow: UnitOfWork,
    actor: Actor,
    deal_id: int,
) -> None:
    await show(target, *card_view.deal(actor, await cards.deal_card(uow, actor, deal_id)))


# --- the card's buttons -----------------------------------------------------------------


async def open_card(
    callback: CallbackQuery,
    callback_data: DealCb,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
) -> None:
    text, markup = card_view.deal(actor, await cards.deal_card(uow, actor, callback_data.deal_id))
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


async def move_deal(
    callback: CallbackQuery,
    callback_data: DealCb,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
) -> None:
    card = await cards.move_deal(uow, actor, callback_data.deal_id, callback_data.stage)
    await show(callback, *card_view.deal(actor, card))
    await callback.answer(_("Stage: {stage}").format(stage=deal_stage(card.deal.stage)))


async def ask_won(
    callback: CallbackQuery, callback_data: DealCb, uow: UnitOfWork, actor: Actor
) -> None:
    """Won writes a sale: asked once before it is done ("Won for 456 850.00?")."""
    card = await cards.deal_card(uow, actor, callback_data.deal_id)  # refuses another's deal
    deal = card.deal
    if not deals.allowed_moves(actor, deal).close:  # the domain decides: a closed deal
        await stale_button(callback)
        return
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ " + _("Yes, won"), callback_data=_move(deal.id, DealStage.WON))
    kb.button(text=_("« Back"), callback_data=DealCb(action="open_here", deal_id=deal.id))
    kb.adjust(2)
    text = _("Won for {amount}? The deal «{title}» is closed and its sale is recorded.").format(
        amount=money(deal.amount), title=h(deal.title)
    )
    await show(callback, text, kb.as_markup())
    await callback.answer()


async def ask_lost_reason(
    callback: CallbackQuery, callback_data: DealCb, uow: UnitOfWork, actor: Actor
) -> None:
    card = await cards.deal_card(uow, actor, callback_data.deal_id)  # refuses another's deal
    kb = InlineKeyboardBuilder()
    for code, reason in LOST_REASONS.items():
        kb.button(
            text=_(reason),
            callback_data=LostCb(deal_id=card.deal.id, reason=code),
        )
    kb.button(text=_("Other…"), callback_data=LostCb(deal_id=card.deal.id, reason="other"))
    kb.button(text=_("« Back"), callback_data=DealCb(action="open_here", deal_id=card.deal.id))
    kb.adjust(2, 2, 1, 1)
    await show(
        callback,
        _("Why was the deal «{title}» lost?").format(title=h(card.deal.title)),
        kb.as_markup(),
    )
    await callback.answer()


async def back_to_card(
    callback: CallbackQuery,
    callback_data: DealCb,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
) -> None:
    await show_deal(callback, card_view, uow, actor, callback_data.deal_id)
    await callback.answer()


async def lost_with_reason(
    callback: CallbackQuery,
    callback_data: LostCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    if callback_data.reason == "other":
        await cards.deal_card(uow, actor, callback_data.deal_id)  # refuses another's deal
        await state.set_state(LostForm.reason)
        await state.set_data({"deal_id": callback_data.deal_id})
        if isinstance(callback.message, Message):
            await callback.message.answer(
                _("Write the reason in a few words."), reply_markup=DIALOG.nav_markup(back=False)
            )
        await callback.answer()
        return
    reason = LOST_REASONS.get(callback_data.reason)
    if reason is None:
        raise InvalidInput("lost_reason", "invalid")
    card = await cards.move_deal(
        uow, actor, callback_data.deal_id, DealStage.LOST, lost_reason=_(reason)
    )
    await show(callback, *card_view.deal(actor, card))
    await callback.answer(_("Stage: {stage}").format(stage=deal_stage(card.deal.stage)))


async def typed_lost_reason(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    data = await state.get_data()
    card = await cards.move_deal(
        uow, actor, int(data["deal_id"]), DealStage.LOST, lost_reason=message.text or ""
    )
    await state.clear()
    await show(message, *card_view.deal(actor, card))


async def history(
    callback: CallbackQuery, callback_data: DealCb, uow: UnitOfWork, actor: Actor
) -> None:
    changes = await deals.stage_history(uow, actor, callback_data.deal_id)
    lines = [_("<b>Stage history</b>")]
    for change in changes[-30:]:
        moved = (
            f"{deal_stage(change.from_stage)} → {deal_stage(change.to_stage)}"
            if change.from_stage
            else deal_stage(change.to_stage)
        )
        lines.append(f"{local_time(actor, change.changed_at)} — {moved}")
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("« Back"), callback_data=DealCb(action="open_here", deal_id=callback_data.deal_id)
    )
    await show(callback, "\n".join(lines), kb.as_markup())
    await callback.answer()


def setup() -> Router:
    router = Router(name="deals.card")
    router.callback_query.register(open_card, DealCb.filter(F.action == "open"))
    router.callback_query.register(move_deal, DealCb.filter(F.action == "move"))
    router.callback_query.register(ask_won, DealCb.filter(F.action == "win"))
    router.callback_query.register(ask_lost_reason, DealCb.filter(F.action == "lose"))
    router.callback_query.register(back_to_card, DealCb.filter(F.action == "open_here"))
    router.callback_query.register(lost_with_reason, LostCb.filter())
    router.message.register(typed_lost_reason, LostForm.reason, F.text, ~F.text.startswith("/"))
    router.callback_query.register(history, DealCb.filter(F.action == "hist"))
    return router
