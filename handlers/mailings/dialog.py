"""/mailing: to whom (the segment picker of events) → subject → text with fields →
preview in the chat, a test to oneself, send. Over crm.services.mailings: the emails go
through the outbox, each logged as an outgoing email on its contact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import InvalidInput
from crm.models.enums import Role
from crm.services import companies, events, mailings
from crm.services.events import Segment
from crm.services.mailings import MailingInput
from crm.settings import Settings
from crm.uow import UnitOfWork
from handlers import segments
from handlers.dialog import Wizard, stale
from handlers.errors import describe
from handlers.ui import PAGE, button, h, markup, pager_row, short, show, snippet
from handlers.words import CLIENT_GROUPS, label

PREVIEW_CHARS = 3000
FIELDS = (
    "contact.first_name",
    "contact.name",
    "contact.position",
    "company.name",
    "company.industry",
    "company.territory",
    "manager.name",
)


class MailingCb(CallbackData, prefix="ml"):
    """action: seg (value: as handlers/segments) | inds | ters | cos (offset) | menu (the
    segment menu again) | test (a test to oneself) | to (the last test address) | send |
    back | cancel"""

    action: str
    value: str = ""
    offset: int = 0


class MailingForm(StatesGroup):
    segment = State()
    subject = State()
    body = State()
    preview = State()
    address = State()


def step_of(data: Mapping[str, Any]) -> str:
    for key in ("segment", "subject", "body"):
        if key not in data:
            return key
    return "address" if data.get("testing") else "preview"


DIALOG = Wizard(
    steps={
        "segment": MailingForm.segment,
        "subject": MailingForm.subject,
        "body": MailingForm.body,
        "preview": MailingForm.preview,
        "address": MailingForm.address,
    },
    step_of=step_of,
    back_drops={
        "subject": ("segment", "segment_name"),
        "body": ("subject",),
        "preview": ("body",),
        "address": ("testing",),
    },
    nav=MailingCb,
    restart="/mailing",
)


def segment_of(data: Mapping[str, Any]) -> Segment:
    kind, value = data["segment"]
    return Segment(kind, value)


def mailing_of(data: Mapping[str, Any]) -> MailingInput:
    return MailingInput(data["subject"], data["body"], segment_of(data))


def to_menu() -> InlineKeyboardButton:
    return button(_("« Back"), MailingCb(action="menu"))


def cancel_button() -> InlineKeyboardButton:
    return DIALOG.nav_buttons(back=False)[0]


def fields_text() -> str:
    names = ", ".join(f"<code>{{{{ {name} }}}}</code>" for name in FIELDS)
    return _("Fields you can use: {fields}.").format(fields=names)


def question(data: Mapping[str, Any]) -> str:
    step = DIALOG.step_of(data)
    if step == "segment":
        return _(
            "✉ New mailing. To whom? Only contacts with an email who did not unsubscribe "
            "receive it."
        )
    lines = [_("To: {segment}").format(segment=h(data["segment_name"]))]
    if step == "subject":
        lines += [_("The subject of the email?"), fields_text()]
    elif step == "body":
        lines.append(_("Subject: {subject}").format(subject=h(data["subject"])))
        lines += [_("The text of the email?"), fields_text()]
    else:
        lines.append(_("Which address should the test go to? Type it."))
    return "\n".join(lines)


def question_markup(data: Mapping[str, Any]) -> InlineKeyboardMarkup:
    rows = []
    if DIALOG.step_of(data) == "address" and data.get("test_to"):
        rows.append([button(short(data["test_to"], 60), MailingCb(action="to"))])
    return markup([*rows, DIALOG.nav_buttons()])


async def ask(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
    note: str = "",
) -> None:
    step = await DIALOG.save(state, data)
    if step == "segment":
        keyboard = segments.menu_markup(actor, MailingCb, cancel_button())
        await show(target, question(data), keyboard)
    elif step == "preview":
        await show(target, *await preview(uow, actor, data, note))
    else:
        await show(target, question(data), question_markup(data))


async def preview(
    uow: UnitOfWork, actor: Actor, data: Mapping[str, Any], note: str
) -> tuple[str, InlineKeyboardMarkup]:
    shown = await mailings.preview(uow, actor, mailing_of(data))
    lines = [note, ""] if note else []
    if shown.sample:
        lines.append(_("<b>Preview</b>, as {name} will read it:").format(name=h(shown.sample)))
    else:
        lines.append(_("<b>Preview</b> with made-up fields:"))
    lines += [
        _("To: {segment}").format(segment=h(data["segment_name"]))
        + " — "
        + _("recipients: {count}").format(count=shown.recipients),
        _("Subject: {subject}").format(subject=h(shown.subject)),
        "",
        h(snippet(shown.text, PREVIEW_CHARS)),
    ]
    rows = []
    if shown.recipients:
        text = _("✉ Send to {count}").format(count=shown.recipients)
        rows.append([button(text, MailingCb(action="send"))])
    else:
        lines += ["", _("Nobody in this segment can receive it: choose another one.")]
    rows.append([button(_("🧪 Test to myself"), MailingCb(action="test"))])
    return "\n".join(lines), markup([*rows, DIALOG.nav_buttons()])


async def segment_name(uow: UnitOfWork, actor: Actor, segment: Segment) -> str:
    if segment.kind == "stage":
        return label(CLIENT_GROUPS, str(segment.value))
    if segment.kind == "industry":
        return _("industry {value}").format(value=segment.value)
    if segment.kind == "territory":
        return _("territory {value}").format(value=segment.value)
    if segment.kind == "company":
        async with uow.read_only():
            return (await companies.get(uow, actor, int(segment.value or 0))).name
    return _("All my clients") if actor.role is Role.MANAGER else _("All clients you can see")


# ---------------------------------------------------------------- handlers


async def mailing_command(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    await ask(message, uow, actor, state, {})


async def typed(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext, settings: Settings
) -> None:
    data = await state.get_data()
    text = message.text or ""
    step = DIALOG.step_of(data)
    try:
        if step == "segment":  # the company list: a part of a name looks one up
            reply, keyboard = await segments.found_companies(
                uow, actor, text.strip(), MailingCb, to_menu()
            )
            await message.answer(reply, reply_markup=keyboard)
            return
        if step == "subject":
            mailings.check(text)
            await ask(message, uow, actor, state, {**data, "subject": text.strip()})
        elif step == "body":
            mailings.check(data["subject"], text)
            await ask(message, uow, actor, state, {**data, "body": text})
        elif step == "address":
            await send_test(message, uow, actor, state, settings, data, text.strip())
        else:
            await message.answer(_("Use the buttons under the preview."))
    except InvalidInput as err:
        await message.answer(describe(err), reply_markup=question_markup(data))


async def send_test(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    settings: Settings,
    data: dict[str, Any],
    address: str,
) -> None:
    await mailings.send_test(
        uow,
        actor,
        mailing_of(data),
        address,
        base_url=settings.public_base_url,
        sender=settings.smtp_from,
    )
    data = {k: v for k, v in data.items() if k != "testing"}
    note = _("Test email queued to {address}.").format(address=h(address))
    await ask(target, uow, actor, state, {**data, "test_to": address}, note)


async def send(
    callback: CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    settings: Settings,
    data: dict[str, Any],
) -> None:
    result = await mailings.send(
        uow,
        actor,
        mailing_of(data),
        base_url=settings.public_base_url,
        sender=settings.smtp_from,
    )
    await state.clear()
    lines = [
        _("Mailing queued: {count} emails.").format(count=result.queued),
        _("Each one is logged on its contact as an outgoing email."),
    ]
    if not settings.mail_enabled:
        lines.append(
            _(
                "⚠ Mail is disabled (SMTP_HOST is not set): the emails wait in the outbox "
                "and go out once it is set up."
            )
        )
    await show(callback, "\n".join(lines))


async def pressed(
    callback: CallbackQuery,
    callback_data: MailingCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    settings: Settings,
) -> None:
    action = callback_data.action
    data = await DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = DIALOG.step_of(data)
    if step == "segment" and action in ("inds", "ters"):
        kind = "industry" if action == "inds" else "territory"
        await show(callback, *await segments.values_screen(uow, actor, kind, MailingCb, to_menu()))
    elif step == "segment" and action == "cos":
        offset = max(0, callback_data.offset)
        rows, total = await events.segment_companies(uow, actor, offset=offset, limit=PAGE)
        pager = pager_row(MailingCb, offset, total, action="cos")
        keyboard = segments.companies_markup(rows, pager, MailingCb, to_menu())
        await show(callback, segments.companies_text(total), keyboard)
    elif step == "segment" and action == "menu":
        await ask(callback, uow, actor, state, data)
    elif step == "segment" and action == "seg":
        segment = await segments.segment_of(uow, actor, callback_data.value)
        name = await segment_name(uow, actor, segment)
        chosen = {"segment": [segment.kind, segment.value], "segment_name": name}
        await ask(callback, uow, actor, state, {**data, **chosen})
    elif action == "back" and step != "segment":
        await ask(callback, uow, actor, state, DIALOG.back(data))
    elif step == "preview" and action == "test":
        await ask(callback, uow, actor, state, {**data, "testing": True})
    elif step == "address" and action == "to" and data.get("test_to"):
        await send_test(callback, uow, actor, state, settings, data, data["test_to"])
    elif step == "preview" and action == "send":
        await send(callback, uow, actor, state, settings, data)
    else:
        await stale(callback)
        return
    await callback.answer()


def setup() -> Router:
    router = Router(name="mailings.dialog")
    router.message.register(mailing_command, Command("mailing"))
    for step in DIALOG.steps.values():
        router.message.register(typed, step, F.text, ~F.text.startswith("/"))
    router.callback_query.register(pressed, MailingCb.filter())
    return router
