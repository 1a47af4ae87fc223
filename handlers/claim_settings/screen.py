"""/claims_settings (directors): the causes and the SLA days with buttons, or one change
on one line.

"➕ Add a cause" asks for its name (the code is made from it; `code; name` chooses the
code), an SLA button asks for the days. "✏ Rename a cause" and "🗑 Remove a cause" list
the causes to choose from; renaming keeps the code, so claims keep their cause; a cause
that claims use is not removed (the count is said instead), nor a built-in one. One line:
`/claims_settings cause; Packaging`, `/claims_settings sla; high; 2`,
`/claims_settings cause rename; Old; New`, `/claims_settings cause remove; Name`.
Directors reach it also by the "⚙ Settings" button of /claims.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor, require_role
from crm.models.enums import Role
from crm.services import claims
from crm.uow import UnitOfWork
from handlers.claim_settings.callbacks import ClaimSetCb
from handlers.claim_settings.causes import (
    CAUSE_WORDS,
    PRIORITIES,
    REMOVE_WORDS,
    RENAME_WORDS,
    SLA_WORDS,
    add_cause,
    builtin_text,
    causes_markup,
    chosen_cause,
    days_markup,
    find_cause,
    in_use_text,
    nav_markup,
    only_directors_text,
    parse_days,
    parse_priority,
    remove_cause,
    rename_cause,
    set_sla,
    settings_screen,
    show_settings,
    usage_text,
)
from handlers.dialog import cancel, stale
from handlers.ui import button, h, show, split_args
from handlers.words import PRIORITY_ICONS, cause_name, priority_name


class ClaimSettingsForm(StatesGroup):
    cause = State()
    days = State()
    rename = State()


async def settings_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    if not actor.is_director:
        await message.answer(only_directors_text())
        return
    if not command.args:
        await show_settings(message, uow)
        return
    what, _sep, rest = command.args.partition(";")
    words = what.strip().lower().split()
    what = " ".join(words)
    if len(words) == 2 and words[0] in CAUSE_WORDS and words[1] in RENAME_WORDS + REMOVE_WORDS:
        parts = split_args(rest)
        if words[1] in RENAME_WORDS and len(parts) == 2 and all(parts):
            cause = find_cause(await claims.list_causes(uow), parts[0])
            note = await rename_cause(uow, actor, cause.code, parts[1])
        elif words[1] in REMOVE_WORDS and len(parts) == 1 and parts[0]:
            cause = find_cause(await claims.list_causes(uow), parts[0])
            note = await remove_cause(uow, actor, cause)
        else:
            await message.answer(usage_text())
            return
        await show_settings(message, uow, note)
    elif what in CAUSE_WORDS and rest.strip():
        title = await add_cause(uow, actor, rest)
        await show_settings(message, uow, _("Cause «{title}» added.").format(title=h(title)))
    elif what in SLA_WORDS and ";" in rest:
        word, _sep, days = rest.partition(";")
        priority = parse_priority(word)
        note = await set_sla(uow, actor, priority, parse_days(days))
        await show_settings(message, uow, note)
    else:
        await message.answer(usage_text())


async def settings_button(
    callback: CallbackQuery,
    callback_data: ClaimSetCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    action = callback_data.action
    if action == "cancel":
        await cancel(callback, state)
        return
    require_role(actor, Role.DIRECTOR, entity="settings")
    if action == "open":
        text, markup = await settings_screen(uow)
        if isinstance(callback.message, Message):
            await callback.message.answer(text, reply_markup=markup)
    elif action == "show":
        await state.clear()
        await show_settings(callback, uow)
    elif action == "cause":
        await state.set_state(ClaimSettingsForm.cause)
        await show(
            callback,
            _(
                "Type the name of the new cause, e.g. “Packaging”. "
                "To choose its code yourself, write <code>code; name</code>."
            ),
            nav_markup(),
        )
    elif action == "sla" and callback_data.prio in PRIORITIES:
        priority = callback_data.prio
        days = (await claims.sla_days(uow))[priority]
        await state.set_state(ClaimSettingsForm.days)
        await state.set_data({"priority": priority})
        await show(
            callback,
            _(
                "SLA of {icon} {priority} claims, now {days} d. How many days? "
                "Press or type a number from 1 to {max}."
            ).format(
                icon=PRIORITY_ICONS[priority],
                priority=priority_name(priority),
                days=days,
                max=claims.SLA_MAX_DAYS,
            ),
            days_markup(priority),
        )
    elif action in ("renpick", "rmpick"):
        await state.clear()
        causes = await claims.list_causes(uow)
        prompt = (
            _("Which cause to rename?")
            if action == "renpick"
            else _("Which cause to remove? Only a cause that no claim uses can be removed.")
        )
        await show(callback, prompt, causes_markup(causes, action.removesuffix("pick")))
    elif action == "ren":
        cause = await chosen_cause(uow, callback_data.code)
        await state.set_state(ClaimSettingsForm.rename)
        await state.set_data({"code": cause.code})
        await show(
            callback,
            _("Type the new name of the cause «{title}». Its claims keep it.").format(
                title=h(cause_name(cause.code, cause.title))
            ),
            nav_markup(),
        )
    elif action == "rm":
        cause = await chosen_cause(uow, callback_data.code)
        label = cause_name(cause.code, cause.title)
        used = await claims.claims_with_cause(uow, actor, cause.code)
        if cause.code in claims.DEFAULT_CAUSES or used:
            builtin = cause.code in claims.DEFAULT_CAUSES
            note = builtin_text(label) if builtin else in_use_text(label, used)
            await show_settings(callback, uow, note)
        else:
            kb = InlineKeyboardBuilder()
            kb.row(button(_("🗑 Yes, remove"), ClaimSetCb(action="rmyes", code=cause.code)))
            kb.row(*nav_markup().inline_keyboard[0])
            await show(
                callback,
                _("Remove the cause «{title}»? No claim uses it.").format(title=h(label)),
                kb.as_markup(),
            )
    elif action == "rmyes":
        note = await remove_cause(uow, actor, await chosen_cause(uow, callback_data.code))
        await show_settings(callback, uow, note)
    elif action == "days" and callback_data.prio in PRIORITIES:
        note = await set_sla(uow, actor, callback_data.prio, callback_data.days)
        await state.clear()
        await show_settings(callback, uow, note)
    else:
        await stale(callback)
        return
    await callback.answer()


async def typed_cause(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    title = await add_cause(uow, actor, message.text or "")
    await state.clear()
    await show_settings(message, uow, _("Cause «{title}» added.").format(title=h(title)))


async def typed_rename(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    code = str((await state.get_data()).get("code", ""))
    note = await rename_cause(uow, actor, code, message.text or "")
    await state.clear()
    await show_settings(message, uow, note)


async def typed_days(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    priority = str((await state.get_data()).get("priority", ""))
    if priority not in PRIORITIES:
        await state.clear()
        return
    note = await set_sla(uow, actor, priority, parse_days(message.text or ""))
    await state.clear()
    await show_settings(message, uow, note)


def setup() -> Router:
    router = Router(name="claim_settings.screen")
    router.message.register(settings_command, Command("claims_settings"))
    router.callback_query.register(settings_button, ClaimSetCb.filter())
    router.message.register(typed_cause, ClaimSettingsForm.cause, F.text, ~F.text.startswith("/"))
    router.message.register(typed_rename, ClaimSettingsForm.rename, F.text, ~F.text.startswith("/"))
    router.message.register(typed_days, ClaimSettingsForm.days, F.text, ~F.text.startswith("/"))
    return router
