"""🏢 Company settings, for directors: the days without an interaction after which a client
is forgotten (the daily job gives its curator a task; /report forgotten counts from it;
one line: `/settings forgotten; 45`), and how the company's emails present it: the
organiser's company name on invitations, the sender name in From, the signature under
invitations and mailings (crm.services.company_settings; the CLI's `chatcrm
mail-identity` sets the same)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.models.enums import Role
from crm.services import company_settings
from crm.services.company_settings import MailIdentity
from crm.uow import UnitOfWork
from handlers.settings.callbacks import SettingsCb, SettingsForm
from handlers.ui import h, short, show

FORGOTTEN_CHOICES = (7, 14, 21, 30, 45, 60, 90, 180)
SIGNATURE_SHOWN = 200


def mail_names() -> dict[str, str]:
    return {
        company_settings.COMPANY_NAME: _("Company name"),
        company_settings.SENDER_NAME: _("Sender name"),
        company_settings.SIGNATURE: _("Signature"),
    }


def company_summary(days: int, identity: MailIdentity) -> str:
    unset = _("not set")
    signature = identity.signature
    return "\n".join(
        [
            _("<b>Company settings</b>"),
            _("A client is forgotten after {days} days without an interaction.").format(days=days),
            _(
                "Its curator gets a task once a day, and /report forgotten counts from it. "
                "The setting applies to the whole company."
            ),
            "",
            _("<b>The company's emails</b> (invitations and mailings)"),
            _("Company name: {value}").format(value=h(identity.company_name) or unset),
            _("Sender name: {value}").format(value=h(identity.sender_name) or unset),
            _("Signature: {value}").format(
                value=h(short(signature, SIGNATURE_SHOWN)) if signature else unset
            ),
        ]
    )


def company_menu(days: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value in FORGOTTEN_CHOICES:
        kb.button(
            text=f"✓ {value}" if value == days else str(value),
            callback_data=SettingsCb(action="fdays", value=str(value)),
        )
    kb.button(text=_("Other…"), callback_data=SettingsCb(action="fdother"))
    names = mail_names()
    for key, icon in (("company_name", "🏢"), ("sender_name", "✉"), ("signature", "✍")):
        kb.button(text=f"{icon} {names[key]}", callback_data=SettingsCb(action="mail", value=key))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="back"))
    kb.adjust(4, 4, 1, 2, 1, 1)
    return kb.as_markup()


async def company_view(uow: UnitOfWork) -> tuple[str, InlineKeyboardMarkup]:
    days = await company_settings.forgotten_days(uow)
    identity = await company_settings.mail_identity(uow)
    return company_summary(days, identity), company_menu(days)


def only_directors_text() -> str:
    return _("Only a director can change the company settings.")


def saved_days_text(days: int) -> str:
    return _("Forgotten client after {days} days. Saved.").format(days=days)


async def forgotten_on_one_line(
    message: Message, uow: UnitOfWork, actor: Actor, values: list[str]
) -> None:
    """`/settings forgotten; 45` sets it; `/settings forgotten` shows it with buttons."""
    if actor.role is not Role.DIRECTOR:
        await message.answer(only_directors_text())
        return
    value = next((v for v in values if v), "")
    if not value:
        text, keyboard = await company_view(uow)
        await message.answer(text, reply_markup=keyboard)
        return
    days = await company_settings.set_forgotten_days(uow, actor, value)
    text, _keyboard = await company_view(uow)
    await message.answer(saved_days_text(days) + "\n\n" + text)


async def refused(callback: CallbackQuery, actor: Actor) -> bool:
    """A press of a company button by someone who is not a director is answered here."""
    if actor.role is Role.DIRECTOR:
        return False
    await callback.answer(only_directors_text(), show_alert=True)
    return True


async def company_screen(
    callback: CallbackQuery, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    if await refused(callback, actor):
        return
    await state.clear()
    await show(callback, *await company_view(uow))
    await callback.answer()


async def set_forgotten_days(
    callback: CallbackQuery, callback_data: SettingsCb, uow: UnitOfWork, actor: Actor
) -> None:
    if await refused(callback, actor):
        return
    days = await company_settings.set_forgotten_days(uow, actor, callback_data.value)
    await show(callback, *await company_view(uow))
    await callback.answer(saved_days_text(days))


async def ask_forgotten_days(callback: CallbackQuery, actor: Actor, state: FSMContext) -> None:
    if await refused(callback, actor):
        return
    await state.set_state(SettingsForm.forgotten_days)
    if callback.message is not None:
        await callback.message.answer(
            _(
                "After how many days without an interaction is a client forgotten? "
                "Send a number from {min} to {max}."
            ).format(
                min=company_settings.FORGOTTEN_MIN_DAYS, max=company_settings.FORGOTTEN_MAX_DAYS
            )
        )
    await callback.answer()


async def typed_forgotten_days(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    # a bad number raises InvalidInput: the error handler says why, the dialog waits for another
    days = await company_settings.set_forgotten_days(uow, actor, message.text or "")
    await state.clear()
    text, keyboard = await company_view(uow)
    await message.answer(saved_days_text(days) + "\n\n" + text, reply_markup=keyboard)


# --- how the company's emails present it ----------------------------------------------------


def mail_question(key: str) -> str:
    if key == company_settings.COMPANY_NAME:
        return _("The organiser's company name on invitations? Type it.")
    if key == company_settings.SENDER_NAME:
        return _("The sender name recipients see in From? Type it, e.g. Romashka Events.")
    return _("The signature under invitations and mailings? Type it; it may have several lines.")


async def ask_mail_setting(
    callback: CallbackQuery,
    callback_data: SettingsCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    if await refused(callback, actor):
        return
    key = callback_data.value
    if key not in company_settings.MAIL_SETTINGS:
        await callback.answer(_("This button is from an earlier step."), show_alert=True)
        return
    await state.set_state(SettingsForm.mail_setting)
    await state.set_data({"key": key})
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Remove"), callback_data=SettingsCb(action="mailclear", value=key))
    kb.button(text=_("« Back"), callback_data=SettingsCb(action="company"))
    await show(callback, mail_question(key), kb.as_markup())
    await callback.answer()


def saved_mail_text(key: str, value: str) -> str:
    name = mail_names()[key]
    if not value:
        return _("{setting}: removed.").format(setting=name)
    return _("{setting}: saved.").format(setting=name)


async def typed_mail_setting(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    # bad input raises InvalidInput: the error handler says why, the question stays open
    key = str((await state.get_data()).get("key", ""))
    value = await company_settings.set_mail_setting(uow, actor, key, message.text or "")
    await state.clear()
    text, keyboard = await company_view(uow)
    await message.answer(saved_mail_text(key, value) + "\n\n" + text, reply_markup=keyboard)


async def clear_mail_setting(
    callback: CallbackQuery,
    callback_data: SettingsCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    if await refused(callback, actor):
        return
    key = callback_data.value
    value = await company_settings.set_mail_setting(uow, actor, key, None)
    await state.clear()
    await show(callback, *await company_view(uow))
    await callback.answer(saved_mail_text(key, value))


def setup() -> Router:
    router = Router(name="settings.company")
    router.callback_query.register(company_screen, SettingsCb.filter(F.action == "company"))
    router.callback_query.register(set_forgotten_days, SettingsCb.filter(F.action == "fdays"))
    router.callback_query.register(ask_forgotten_days, SettingsCb.filter(F.action == "fdother"))
    router.message.register(
        typed_forgotten_days, SettingsForm.forgotten_days, F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(ask_mail_setting, SettingsCb.filter(F.action == "mail"))
    router.callback_query.register(clear_mail_setting, SettingsCb.filter(F.action == "mailclear"))
    router.message.register(
        typed_mail_setting, SettingsForm.mail_setting, F.text, ~F.text.startswith("/")
    )
    return router
