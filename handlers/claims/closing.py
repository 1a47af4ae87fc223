"""Changing a claim's status; resolving and rejecting ask for the resolution first.

Resolving also asks for an optional compensation; open plan tasks stop it, unless a head
or a director resolves anyway.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm import validation
from crm.access import Actor, require_role
from crm.errors import Conflict
from crm.models.enums import ClaimStatus
from crm.services import claims
from crm.uow import UnitOfWork
from handlers.claims.callbacks import ClaimCb
from handlers.claims.card import render_card
from handlers.claims.filing import FILING
from handlers.dialog import over
from handlers.ui import button, show
from handlers.words import (
    claim_status,
)


class ResolveForm(StatesGroup):
    resolution = State()
    compensation = State()


async def set_status(
    callback: CallbackQuery,
    callback_data: ClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    if callback_data.value in claims.CLOSED_STATUSES:  # closing needs words: ask for them
        await ask_close(callback, callback_data, uow, actor, state)
        return
    view = await claims.change_status(uow, actor, callback_data.claim_id, callback_data.value)
    text, markup = render_card(actor, view)
    await show(callback, text, markup)
    await callback.answer(_("Status: {status}").format(status=claim_status(view.claim.status)))


def open_tasks_text(count: int) -> str:
    return _(
        "The investigation plan still has open tasks ({count}): "
        "close them before resolving the claim."
    ).format(count=count)


def open_tasks_markup(actor: Actor, claim_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if actor.role in claims.REOPEN_ROLES:
        kb.row(button(_("Resolve anyway"), ClaimCb(action="over", claim_id=claim_id)))
    kb.row(button(_("« Back"), ClaimCb(action="show", claim_id=claim_id)))
    return kb.as_markup()


async def ask_resolution(
    callback: CallbackQuery, state: FSMContext, claim_id: int, status: str, override: bool
) -> None:
    await state.set_state(ResolveForm.resolution)
    await state.set_data({"claim_id": claim_id, "status": status, "override": override})
    if status == ClaimStatus.RESOLVED:
        prompt = _("Claim #{id}: write the resolution — what was done for the client.")
    else:
        prompt = _("Claim #{id}: write why the claim is rejected.")
    if isinstance(callback.message, Message):
        await callback.message.answer(
            prompt.format(id=claim_id), reply_markup=FILING.nav_markup(back=False)
        )


async def ask_close(
    callback: CallbackQuery,
    callback_data: ClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    view = await claims.get(uow, actor, callback_data.claim_id)  # refuses another's claim
    target = callback_data.value
    confirmed = callback_data.action == "rejok"  # Reject confirmed over open plan tasks
    if target not in claims.allowed_transitions(actor, view.claim.status) or target not in (
        (ClaimStatus.REJECTED,) if confirmed else (ClaimStatus.RESOLVED, ClaimStatus.REJECTED)
    ):
        raise Conflict("transition", from_status=view.claim.status, to_status=target)
    if target == ClaimStatus.RESOLVED and view.open_plan_tasks:
        await show(
            callback,
            open_tasks_text(len(view.open_plan_tasks)),
            open_tasks_markup(actor, view.claim.id),
        )
        await callback.answer()
        return
    if target == ClaimStatus.REJECTED and view.open_plan_tasks and not confirmed:
        await show(
            callback,
            reject_tasks_text(view.claim.id, len(view.open_plan_tasks)),
            reject_tasks_markup(view.claim.id),
        )
        await callback.answer()
        return
    if confirmed:  # the card comes back in place of the question, as it stays for a Reject
        text, markup = render_card(actor, view)
        await show(callback, text, markup)
    await ask_resolution(callback, state, view.claim.id, target, override=False)
    await callback.answer()


def reject_tasks_text(claim_id: int, count: int) -> str:
    return _("Rejecting claim #{id} cancels its open plan tasks ({count}). Reject it?").format(
        id=claim_id, count=count
    )


def reject_tasks_markup(claim_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(
        button(
            _("🚫 Reject and cancel the tasks"),
            ClaimCb(action="rejok", claim_id=claim_id, value=ClaimStatus.REJECTED),
        )
    )
    kb.row(button(_("« Back"), ClaimCb(action="show", claim_id=claim_id)))
    return kb.as_markup()


async def resolve_anyway(
    callback: CallbackQuery,
    callback_data: ClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    require_role(actor, *claims.REOPEN_ROLES, entity="override")
    view = await claims.get(uow, actor, callback_data.claim_id)
    if ClaimStatus.RESOLVED not in claims.allowed_transitions(actor, view.claim.status):
        raise Conflict("transition", from_status=view.claim.status, to_status="resolved")
    await ask_resolution(callback, state, view.claim.id, ClaimStatus.RESOLVED, override=True)
    await callback.answer()


async def typed_resolution(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    data["resolution"] = validation.text("resolution", message.text, max_len=validation.TEXT_MAX)
    if data["status"] == ClaimStatus.RESOLVED:
        await state.set_state(ResolveForm.compensation)
        await state.set_data(data)
        kb = InlineKeyboardBuilder()
        kb.row(
            button(_("No compensation"), ClaimCb(action="nocomp", claim_id=int(data["claim_id"])))
        )
        kb.row(*FILING.nav_buttons(back=False))
        await message.answer(
            _("Compensation to the client? Type an amount, or press No compensation."),
            reply_markup=kb.as_markup(),
        )
        return
    await close_claim(message, uow, actor, state, data, None)


async def typed_compensation(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    amount = validation.money("compensation", message.text)
    await close_claim(message, uow, actor, state, data, str(amount))


async def no_compensation(
    callback: CallbackQuery,
    callback_data: ClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    if (
        await state.get_state() != ResolveForm.compensation.state
        or int(data.get("claim_id", 0)) != callback_data.claim_id
    ):
        await over(callback)
        return
    await close_claim(callback, uow, actor, state, data, None)
    await callback.answer()


async def close_claim(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
    compensation: str | None,
) -> None:
    claim_id = int(data["claim_id"])
    try:
        view = await claims.change_status(
            uow,
            actor,
            claim_id,
            data["status"],
            resolution=data["resolution"],
            compensation=compensation,
            override=bool(data.get("override")),
        )
    except Conflict as exc:
        if exc.reason != "open_tasks":
            raise
        await state.clear()
        count = int(exc.params.get("count", 0))
        await show(target, open_tasks_text(count), open_tasks_markup(actor, claim_id))
        return
    await state.clear()
    text, markup = render_card(actor, view)
    await show(target, text, markup)


def setup() -> Router:
    router = Router(name="claims.closing")
    router.callback_query.register(set_status, ClaimCb.filter(F.action == "st"))
    router.callback_query.register(ask_close, ClaimCb.filter(F.action.in_({"ask", "rejok"})))
    router.callback_query.register(resolve_anyway, ClaimCb.filter(F.action == "over"))
    router.message.register(
        typed_resolution, ResolveForm.resolution, F.text, ~F.text.startswith("/")
    )
    router.message.register(
        typed_compensation, ResolveForm.compensation, F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(no_compensation, ClaimCb.filter(F.action == "nocomp"))
    return router
