"""/log on one line: `/log who; kind; in|out; summary; when`.

The optional `when` is natural language (as /remind reads it); a time ahead plans the
interaction then (with one reminder at that time), a time gone by logs it done then.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from crm import validation
from crm.access import Actor
from crm.uow import UnitOfWork
from handlers.cards.callbacks import (
    KIND_OF_HIT,
)
from handlers.interactions.log_dialog import DIALOG, ask, proceed
from handlers.interactions.logbook import (
    best_hit,
    find_subjects,
    nobody_found,
    parse_direction,
    parse_kind,
    split_when,
    usage,
    who_buttons,
)
from handlers.ui import h, split_args


async def log_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    if not command.args or not command.args.strip():
        await ask(message, state, {})
        return
    parts = split_args(command.args)
    if len(parts) < 3 or not all(parts[:3]):
        await message.answer(usage())
        return
    who = validation.text("name", parts[0])
    kind, direction = parse_kind(parts[1]), parse_direction(parts[2])
    rest = command.args.split(";", 3)[3:]  # the summary may hold ";" of its own
    summary_text, when_text = split_when(rest[0] if rest else None, actor)
    summary = validation.optional_text("summary", summary_text, validation.TEXT_MAX)
    hits = await find_subjects(uow, actor, who)
    if not hits:
        await message.answer(nobody_found(who))
        return
    data: dict[str, Any] = {
        "kind": kind,
        "direction": direction,
        "summary": summary,
        "when_text": when_text,
    }
    hit = best_hit(who, hits)
    if hit is not None:
        data.update(subject=KIND_OF_HIT[hit.kind], id=hit.entity_id, title=hit.title)
        await proceed(message, uow, actor, state, data)
        return
    await DIALOG.save(state, {**data, "line": True})
    await message.answer(
        _("Several match “{query}”. Which one?").format(query=h(who)),
        reply_markup=who_buttons(hits),
    )


def setup() -> Router:
    router = Router(name="interactions.line")
    router.message.register(log_command, Command("log"))
    return router
