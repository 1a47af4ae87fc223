"""✏ Edit → Parent company: set the company's parent with a search, or clear it.

A Wizard of two steps: the user types a part of the parent's name (the query step), the
bot offers the companies found among those the user sees (the pick step; typing again
searches again). Whether the choice is allowed (visible, no loop) is decided by
crm/services/holdings through `companies.update`. It is started from the company card's
✏ Edit, and Cancel goes back to that card, nothing saved.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from crm import validation
from crm.access import Actor
from crm.models.enums import SearchKind
from crm.services import cards, companies
from crm.uow import UnitOfWork
from handlers.cards.callbacks import COMPANY, ParentCb
from handlers.cards.view import CardView, Rows
from handlers.dialog import Wizard, offer, stale, take
from handlers.ui import button, h, markup, show

CHOICES = 6


class ParentForm(StatesGroup):
    query = State()
    pick = State()


PARENT_DIALOG = Wizard.linear(
    [
        ("query", ParentForm.query, ("query",)),
        ("pick", ParentForm.pick, ()),
    ],
    nav=ParentCb,
    cancel_button=lambda: button(_("✖ Cancel"), ParentCb(action="cancel")),
)


async def ask_query(
    event: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
    problem: str = "",
) -> None:
    card = await cards.company_card(uow, actor, int(data["company_id"]))
    await PARENT_DIALOG.save(state, data)
    now = card.parent_name or (_("a company you do not see") if card.company.parent_id else None)
    lines = [problem] if problem else []
    lines.append(
        _("Parent company of {name}: now {parent}.").format(
            name=f"<b>{h(card.company.name)}</b>", parent=h(now) if now else _("none")
        )
    )
    lines.append(_("Send a part of the parent company's name to search."))
    rows: Rows = []
    if card.company.parent_id is not None:
        rows.append([button(_("🚫 No parent company"), ParentCb(action="clear"))])
    rows.append(PARENT_DIALOG.nav_buttons(back=False))
    await show(event, "\n".join(lines), markup(rows))


async def parent_start(
    callback: CallbackQuery,
    callback_data: ParentCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await state.clear()
    await ask_query(callback, uow, actor, state, {"company_id": callback_data.company_id})
    await callback.answer()


async def parent_search(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = {k: v for k, v in (await state.get_data()).items() if k not in ("query", "choices")}
    query = validation.text("company", message.text)
    company_id = int(data["company_id"])
    hits = [
        hit
        for hit in await cards.find(
            uow, actor, query, kinds=(SearchKind.COMPANY,), limit=CHOICES + 1
        )
        if hit.entity_id != company_id
    ][:CHOICES]
    if not hits:
        problem = _("No company like “{query}” among those you see.").format(query=h(query))
        await ask_query(message, uow, actor, state, data, problem)
        return
    rows = offer(data, hits, lambda value: ParentCb(action="pick", id=int(value)))
    data["query"] = query
    await PARENT_DIALOG.save(state, data)
    rows.append(PARENT_DIALOG.nav_buttons())
    text = _("Which one is the parent company? Companies like “{query}”:").format(query=h(query))
    await message.answer(
        text + "\n" + _("Or send another part of the name."), reply_markup=markup(rows)
    )


async def _saved(
    callback: CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
    company_id: int,
) -> None:
    await state.clear()
    text, keyboard = await card_view.open(uow, actor, COMPANY, company_id)
    await show(callback, _("Saved.") + "\n\n" + text, keyboard)
    await callback.answer()


async def parent_button(
    callback: CallbackQuery,
    callback_data: ParentCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    action = callback_data.action

    async def back_to_card(data: dict[str, Any]) -> None:  # Cancel: the company's card again
        text, keyboard = await card_view.open(uow, actor, COMPANY, int(data["company_id"]))
        await show(callback, text, keyboard)

    data = await PARENT_DIALOG.pressed(callback, action, state, home=back_to_card)
    if data is None:
        return
    step = PARENT_DIALOG.step_of(data)
    company_id = int(data["company_id"])
    if action == "back" and step == "pick":
        data.pop("choices", None)
        await ask_query(callback, uow, actor, state, PARENT_DIALOG.back(data))
        await callback.answer()
    elif action == "pick" and step == "pick":
        take(dict(data), str(callback_data.id), "company")
        await companies.update(uow, actor, company_id, parent_id=callback_data.id)
        await _saved(callback, uow, actor, state, card_view, company_id)
    elif action == "clear":
        await companies.update(uow, actor, company_id, parent_id=None)
        await _saved(callback, uow, actor, state, card_view, company_id)
    else:
        await stale(callback)


def setup() -> Router:
    router = Router(name="cards.parent")
    router.callback_query.register(parent_start, ParentCb.filter(F.action == "start"))
    router.callback_query.register(parent_button, ParentCb.filter())
    router.message.register(
        parent_search,
        ParentForm.query,
        F.text,
        ~F.text.startswith("/"),
    )
    router.message.register(parent_search, ParentForm.pick, F.text, ~F.text.startswith("/"))
    return router
