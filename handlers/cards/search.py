"""/find: a part of a name, a phone or an email; the results are buttons that open cards."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services import cards
from crm.uow import UnitOfWork
from handlers.cards.callbacks import cancel_button, hit_button
from handlers.ui import h, markup

QUERY_MIN = 2
QUERY_MAX = 100
RESULTS = 10


class FindForm(StatesGroup):
    query = State()


async def answer_search(message: Message, uow: UnitOfWork, actor: Actor, query: str) -> None:
    query = " ".join(query.split())
    if len(query) < QUERY_MIN:
        await message.answer(
            _("Send at least {n} characters: /find Romashka, /find Ivanov, /find +7912…").format(
                n=QUERY_MIN
            ),
            reply_markup=markup([[cancel_button()]]) if not query else None,
        )
        return
    if len(query) > QUERY_MAX:
        await message.answer(
            _("The query is too long (at most {n} characters).").format(n=QUERY_MAX)
        )
        return
    hits = await cards.find(uow, actor, query, limit=RESULTS)
    if not hits:
        await message.answer(
            _("Nothing found for “{query}”. Try a part of the name, a phone or an email.").format(
                query=h(query)
            )
        )
        return
    await message.answer(
        _("Found for “{query}”:").format(query=h(query)),
        reply_markup=markup([hit_button(hit) for hit in hits]),
    )


async def find(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    if command.args and command.args.strip():
        await answer_search(message, uow, actor, command.args)
        return
    await state.set_state(FindForm.query)
    await message.answer(
        _("What are you looking for? Send a part of a name, a phone or an email."),
        reply_markup=markup([[cancel_button()]]),
    )


async def typed_query(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    await answer_search(message, uow, actor, message.text or "")


def setup() -> Router:
    router = Router(name="cards.search")
    router.message.register(find, Command("find"))
    router.message.register(typed_query, FindForm.query, F.text, ~F.text.startswith("/"))
    return router
