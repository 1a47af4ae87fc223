"""The reply time and working hours of waiting clients (a company setting): shown under
/business, changed by directors with one typed line ("90; 09:00-18:00")."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services.business import waiting
from crm.services.business.waiting import Rules
from crm.uow import UnitOfWork
from handlers.business.callbacks import ChatCb
from handlers.cards.callbacks import cancel_button
from handlers.ui import button, markup, show, split_args


class RulesForm(StatesGroup):
    line = State()


def rules_text(found: Rules) -> str:
    return _(
        "⏳ A client who wrote is waiting once {minutes} working minutes pass without your "
        "answer (working hours {start}–{end}, Monday to Friday): you get one reminder."
    ).format(minutes=found.sla_minutes, start=f"{found.start:%H:%M}", end=f"{found.end:%H:%M}")


def change_button():  # type: ignore[no-untyped-def]
    return [button(_("⚙ Reply time and working hours"), ChatCb(action="rules"))]


async def ask(callback: CallbackQuery, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    if not actor.is_director:
        await callback.answer(
            _("Only a director can change the company settings."), show_alert=True
        )
        return
    found = await waiting.rules(uow)
    await state.set_state(RulesForm.line)
    await show(
        callback,
        rules_text(found)
        + "\n\n"
        + _(
            "Send the reply time in minutes and the working hours, "
            "for example: <code>90; 09:00-18:00</code>"
        ),
        markup([[cancel_button()]]),
    )
    await callback.answer()


async def typed(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    parts = [*split_args(message.text), "", ""]
    found = await waiting.set_rules(uow, actor, sla=parts[0] or None, hours=parts[1] or None)
    await state.clear()
    await message.answer(_("Saved.") + "\n" + rules_text(found))


def setup() -> Router:
    router = Router(name="business.rules")
    router.callback_query.register(ask, ChatCb.filter(F.action == "rules"))
    router.message.register(typed, RulesForm.line, F.text, ~F.text.startswith("/"))
    return router
