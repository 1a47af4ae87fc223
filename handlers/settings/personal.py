"""/settings: language, timezone and digest time, with buttons or on one line.

`/settings en; Europe/Berlin; 08:30` sets any of them at once (recognised by their shape).
A director also sees "🏢 Company settings" (handlers/settings/company.py).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.analytics.digest import receives_digest
from crm.models import Manager
from crm.models.enums import Role
from crm.services import people
from crm.uow import UnitOfWork
from handlers.cards.callbacks import cancel_button
from handlers.settings.callbacks import SettingsCb, SettingsForm
from handlers.settings.company import forgotten_on_one_line
from handlers.ui import markup, show
from handlers.words import LANGUAGES

TIMEZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Kamchatka",
    "Europe/Minsk",
    "Asia/Almaty",
    "Asia/Tashkent",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "UTC",
)
DIGEST_TIMES = ("07:00", "08:00", "09:00", "10:00", "12:00", "17:00", "18:00", "19:00")
FORGOTTEN_WORDS = ("forgotten", "забытые", "забытых", "забытый")


def utc_offset(zone: str) -> str:
    offset = datetime.now(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def summary(manager: Manager) -> str:
    lines = [
        _("<b>Settings</b>"),
        _("Language: {language}").format(language=LANGUAGES[manager.language]),
        _("Timezone: {timezone} ({offset})").format(
            timezone=manager.timezone, offset=utc_offset(manager.timezone)
        ),
    ]
    if receives_digest(manager.role):
        lines.append(
            _("Daily digest at: {time}").format(time=manager.digest_time.strftime("%H:%M"))
        )
    return "\n".join(lines)


def main_menu(director: bool = False, digest: bool = True) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGES.items():
        kb.button(text=name, callback_data=SettingsCb(action="lang", value=code))
    kb.button(text=_("Timezone"), callback_data=SettingsCb(action="tzmenu"))
    if digest:
        kb.button(text=_("Digest time"), callback_data=SettingsCb(action="timemenu"))
    if director:
        kb.button(text=_("🏢 Company settings"), callback_data=SettingsCb(action="company"))
    kb.adjust(2, 1, 1, 1)
    return kb.as_markup()


def menu_for(actor: Actor) -> InlineKeyboardMarkup:
    return main_menu(actor.role is Role.DIRECTOR, receives_digest(actor.role))


def timezone_menu() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for zone in TIMEZONES:
        kb.button(
            text=f"{zone.split('/')[-1].replace('_', ' ')} ({utc_offset(zone)})",
            callback_data=SettingsCb(action="tz", value=zone),
        )
    kb.button(text=_("Other…"), callback_data=SettingsCb(action="tzother"))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="back"))
    kb.adjust(2)
    return kb.as_markup()


def time_menu() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value in DIGEST_TIMES:
        kb.button(text=value, callback_data=SettingsCb(action="time", value=value.replace(":", "")))
    kb.button(text=_("Other…"), callback_data=SettingsCb(action="timeother"))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="back"))
    kb.adjust(4, 4, 2)
    return kb.as_markup()


def parse_line(args: str) -> dict[str, str]:
    """`ru; Europe/Moscow; 09:30` in any order and any subset."""
    values: dict[str, str] = {}
    for raw in args.split(";"):
        part = raw.strip()
        if not part:
            continue
        if part.lower() in LANGUAGES:
            values["language"] = part
        elif part[:1].isdigit():
            values["digest_time"] = part
        else:
            values["timezone"] = part
    return values


async def show_settings(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    i18n: I18n,
) -> None:
    await state.clear()
    parts = [p.strip() for p in (command.args or "").split(";")]
    word, _space, rest = parts[0].partition(" ")  # "forgotten; 45" or "forgotten 45"
    if word.lower() in FORGOTTEN_WORDS:
        await forgotten_on_one_line(message, uow, actor, [rest.strip(), *parts[1:]])
        return
    if command.args:
        manager = await people.update_settings(uow, actor, **parse_line(command.args))
        with i18n.use_locale(manager.language):
            await message.answer(_("Saved.") + "\n\n" + summary(manager))
        return
    manager = await people.profile(uow, actor)
    await message.answer(summary(manager), reply_markup=menu_for(actor))


async def set_language(
    callback: CallbackQuery, callback_data: SettingsCb, uow: UnitOfWork, actor: Actor, i18n: I18n
) -> None:
    manager = await people.update_settings(uow, actor, language=callback_data.value)
    with i18n.use_locale(manager.language):
        await show(callback, summary(manager), menu_for(actor))
        await callback.answer(
            _("Language: {language}. Saved.").format(language=LANGUAGES[manager.language])
        )


async def choose_timezone(callback: CallbackQuery) -> None:
    await show(callback, _("Choose your timezone:"), timezone_menu())
    await callback.answer()


async def choose_time(callback: CallbackQuery) -> None:
    await show(callback, _("When should the daily digest come?"), time_menu())
    await callback.answer()


async def back(callback: CallbackQuery, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    await show(callback, summary(await people.profile(uow, actor)), menu_for(actor))
    await callback.answer()


async def set_timezone(
    callback: CallbackQuery, callback_data: SettingsCb, uow: UnitOfWork, actor: Actor
) -> None:
    manager = await people.update_settings(uow, actor, timezone=callback_data.value)
    await show(callback, summary(manager), menu_for(actor))
    await callback.answer(_("Timezone: {timezone}. Saved.").format(timezone=manager.timezone))


async def set_time(
    callback: CallbackQuery, callback_data: SettingsCb, uow: UnitOfWork, actor: Actor
) -> None:
    value = callback_data.value
    manager = await people.update_settings(uow, actor, digest_time=f"{value[:2]}:{value[2:]}")
    await show(callback, summary(manager), menu_for(actor))
    await callback.answer(
        _("Daily digest at {time}. Saved.").format(time=manager.digest_time.strftime("%H:%M"))
    )


async def ask_timezone(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(SettingsForm.timezone)
    if callback.message is not None:
        await callback.message.answer(
            _("Send the name of your timezone or your city, e.g. Europe/Moscow or Almaty."),
            reply_markup=markup([[cancel_button()]]),
        )
    await callback.answer()


async def ask_time(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(SettingsForm.digest_time)
    if callback.message is not None:
        await callback.message.answer(_("Send the time as HH:MM, e.g. 08:30."))
    await callback.answer()


async def typed_timezone(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    # a bad name raises InvalidInput: the error handler says why, the dialog waits for another
    manager = await people.update_settings(uow, actor, timezone=message.text or "")
    await state.clear()
    await message.answer(
        _("Timezone: {timezone}. Saved.").format(timezone=manager.timezone)
        + "\n\n"
        + summary(manager),
        reply_markup=menu_for(actor),
    )


async def typed_time(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    manager = await people.update_settings(uow, actor, digest_time=message.text or "")
    await state.clear()
    await message.answer(
        _("Daily digest at {time}. Saved.").format(time=manager.digest_time.strftime("%H:%M"))
        + "\n\n"
        + summary(manager),
        reply_markup=menu_for(actor),
    )


def setup() -> Router:
    router = Router(name="settings.personal")
    router.message.register(show_settings, Command("settings"))
    router.callback_query.register(set_language, SettingsCb.filter(F.action == "lang"))
    router.callback_query.register(choose_timezone, SettingsCb.filter(F.action == "tzmenu"))
    router.callback_query.register(choose_time, SettingsCb.filter(F.action == "timemenu"))
    router.callback_query.register(back, SettingsCb.filter(F.action == "back"))
    router.callback_query.register(set_timezone, SettingsCb.filter(F.action == "tz"))
    router.callback_query.register(set_time, SettingsCb.filter(F.action == "time"))
    router.callback_query.register(ask_timezone, SettingsCb.filter(F.action == "tzother"))
    router.callback_query.register(ask_time, SettingsCb.filter(F.action == "timeother"))
    router.message.register(typed_timezone, SettingsForm.timezone, F.text, ~F.text.startswith("/"))
    router.message.register(typed_time, SettingsForm.digest_time, F.text, ~F.text.startswith("/"))
    return router
