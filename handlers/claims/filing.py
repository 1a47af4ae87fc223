"""/claim: filing a claim on one line or step by step.

`/claim company; text` files it at once when the company is named exactly; a near name
asks which company with buttons. Its cause is the one the text's words point to
(crm/services/claims/guess.py), else it asks with the cause buttons. `/claim` alone asks
step by step: company, contact, cause, priority, text, then photos and documents until
Done. High and critical claims are announced at once to the responsible manager and their
head.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm import validation
from crm.access import Actor
from crm.errors import AccessDenied, InvalidInput
from crm.models.enums import ClaimPriority, SearchKind
from crm.services import cards, claims, companies, contacts
from crm.services.cards import CompanyCard
from crm.services.claims import AttachmentInput, ClaimInput
from crm.uow import UnitOfWork
from handlers.claims.callbacks import PRIORITIES, ClaimFormCb, NewClaimCb
from handlers.claims.card import render_card
from handlers.claims.notice import render_notice
from handlers.dialog import Wizard, offer, stale, take
from handlers.ui import PAGE, button, h, markup, pager_row, short, show, snippet, split_args
from handlers.words import (
    cause_name,
    priority_badge,
    priority_name,
)
from notifications.claims_notify import notify_filed
from notifications.reminders import ReminderRuntime


class ClaimForm(StatesGroup):
    company = State()
    contact = State()
    cause = State()
    priority = State()
    text = State()
    files = State()


# --- /claim: one line --------------------------------------------------------------------


def usage_text() -> str:
    return _("Write <code>/claim company; text</code>, or just /claim and I will ask step by step.")


def not_found_text(name: str) -> str:
    return _(
        "No company like «{name}» among your clients. Try another spelling, "
        "or add it with /company. Nothing was saved."
    ).format(name=h(short(name, 60)))


async def new_claim(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    reminders: ReminderRuntime | None = None,
) -> None:
    await state.clear()
    if not command.args:
        await ask(message, uow, actor, state, {})
        return
    parts = split_args(command.args)
    name = parts[0]
    if not name:
        await message.answer(usage_text())
        return
    if len(parts) == 1:  # only the company: the dialog goes on from there
        await choose_company(message, uow, actor, state, name, {})
        return
    text = validation.text("text", "; ".join(parts[1:]), max_len=validation.TEXT_MAX)
    await choose_company(
        message,
        uow,
        actor,
        state,
        name,
        {"text": text, "quick": True},
        bot=bot,
        i18n=i18n,
        reminders=reminders,
    )


async def choose_company(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    name: str,
    data: dict[str, Any],
    *,
    bot: Bot | None = None,
    i18n: I18n | None = None,
    reminders: ReminderRuntime | None = None,
) -> None:
    """The company of exactly this name, else buttons with the near ones, else an apology."""
    company = await companies.find_by_name(uow, actor, name)
    if company is not None:
        data.update(company_id=company.id, company_name=company.name)
        if data.get("quick"):
            assert bot is not None and i18n is not None
            await file_or_ask_cause(message, uow, actor, state, bot, i18n, data, reminders)
        else:
            await ask(message, uow, actor, state, data)
        return
    hits = await cards.find(uow, actor, name, kinds=(SearchKind.COMPANY,), limit=PAGE)
    if not hits:
        if data.get("quick"):
            await state.clear()
            await message.answer(not_found_text(name))
        else:
            await FILING.save(state, data)
            await message.answer(not_found_text(name), reply_markup=FILING.nav_markup(back=False))
        return
    rows = offer(data, hits, lambda value: ClaimFormCb(action="company", value=value))
    await FILING.save(state, data)
    rows.append(FILING.nav_buttons(back=False))
    await message.answer(_("Which company do you mean?"), reply_markup=markup(rows))


# --- /claim: the dialog ---------------------------------------------------------------------


FILING = Wizard.linear(
    [
        ("company", ClaimForm.company, ("company_id", "company_name")),
        ("contact", ClaimForm.contact, ("contact", "contact_name", "offset")),
        ("cause", ClaimForm.cause, ("cause", "cause_name")),
        ("priority", ClaimForm.priority, ("priority",)),
        ("text", ClaimForm.text, ("text",)),
        ("files", ClaimForm.files, ("files",)),
    ],
    nav=ClaimFormCb,
    restart="/claim",
)


def draft_summary(data: dict[str, Any]) -> list[str]:
    lines = [_("<b>New claim</b>")]
    if "company_name" in data:
        lines.append(_("Company: {name}").format(name=h(data["company_name"])))
    if data.get("contact_name"):
        lines.append(_("Contact: {name}").format(name=h(data["contact_name"])))
    if "cause" in data:
        lines.append(_("Cause: {cause}").format(cause=h(data.get("cause_name") or data["cause"])))
    if "priority" in data:
        lines.append(_("Priority: {priority}").format(priority=priority_name(data["priority"])))
    if "text" in data:
        lines.append(_("Text: {text}").format(text=h(snippet(data["text"], 200))))
    return lines


async def ask(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    """Save the dialog's data and ask for what is missing next."""
    step = FILING.step_of(data)
    kb = InlineKeyboardBuilder()
    if step == "company":
        text = _("Which company is the claim from? Type a part of its name.")
    elif step == "contact":
        offset = int(data.get("offset", 0))
        people, total = await contacts.list_for_company(
            uow, actor, int(data["company_id"]), offset=offset, limit=PAGE
        )
        data["shown"] = {str(c.id): c.name for c in people}  # the buttons name only these
        text = (
            _("Who complains? Choose the contact, or skip.")
            if total
            else _("The company has no contacts yet: press Skip.")
        )
        for person in people:
            kb.row(
                button(short(person.name, 60), ClaimFormCb(action="contact", value=str(person.id)))
            )
        pager = pager_row(ClaimFormCb, offset, total, action="page")
        if pager:
            kb.row(*pager)
        kb.row(button(_("Skip"), ClaimFormCb(action="contact", value="")))
    elif step == "cause":
        causes = await claims.list_causes(uow)
        data["causes"] = {c.code: cause_name(c.code, c.title) for c in causes}
        text = (
            _("I could not tell the cause from the text. What is it?")
            if data.get("quick")
            else _("What is the cause?")
        )
        for code, label in data["causes"].items():
            kb.button(text=short(label, 40), callback_data=ClaimFormCb(action="cause", value=code))
        kb.adjust(2)
    elif step == "priority":
        text = _("Priority? (normal if unsure)")
        kb.row(
            *[
                button(
                    priority_badge(p),
                    ClaimFormCb(action="prio", value=p),
                )
                for p in PRIORITIES
            ]
        )
    elif step == "text":
        text = _("Describe the claim: what happened?")
    else:
        count = len(data.get("files", []))
        text = (
            _("Attached: {count}. Send more photos or documents, or press Done.").format(
                count=count
            )
            if count
            else _(
                "Send photos or documents of the claim, if any (up to 20 MB each), then press Done."
            )
        )
        kb.row(button(_("Done"), ClaimFormCb(action="done")))
    quick_cause = bool(data.get("quick")) and step == "cause"  # the one question of /claim x; y
    kb.row(*FILING.nav_buttons(back=step != "company" and not quick_cause))
    await FILING.save(state, data)
    head = "\n".join(draft_summary(data)) + "\n\n" if "company_id" in data else ""
    await show(target, head + text, kb.as_markup())


def company_rows(actor: Actor, card: CompanyCard) -> list[list[InlineKeyboardButton]]:
    return [[button(_("⚠ File a claim"), NewClaimCb(company_id=card.company.id))]]


async def new_claim_for_company(
    callback: CallbackQuery,
    callback_data: NewClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    card = await cards.company_card(uow, actor, callback_data.company_id)  # refuses another's
    if isinstance(callback.message, Message):
        await state.clear()
        data = {"company_id": card.company.id, "company_name": card.company.name}
        await ask(callback.message, uow, actor, state, data)
    await callback.answer()


async def typed_company(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data.pop("choices", None)
    await choose_company(message, uow, actor, state, message.text or "", data)


async def typed_text(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["text"] = validation.text("text", message.text, max_len=validation.TEXT_MAX)
    await ask(message, uow, actor, state, data)


async def got_file(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    if message.photo:
        photo = message.photo[-1]
        item = AttachmentInput(photo.file_id, "photo", photo.file_size)
    else:
        assert message.document is not None
        item = AttachmentInput(message.document.file_id, "document", message.document.file_size)
    checked = claims.clean_attachment(item)  # too large: refused here, nothing kept
    data = await state.get_data()
    files = data.setdefault("files", [])
    if len(files) >= claims.MAX_ATTACHMENTS:
        raise InvalidInput("attachment", "too_many", max=claims.MAX_ATTACHMENTS)
    files.append([checked["file_id"], checked["kind"], checked["file_size"]])
    await ask(message, uow, actor, state, data)


async def text_instead_of_file(message: Message) -> None:
    await message.answer(
        _("Send photos or documents, or press Done."), reply_markup=FILING.nav_markup()
    )


async def dialog_button(
    callback: CallbackQuery,
    callback_data: ClaimFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    reminders: ReminderRuntime | None = None,
) -> None:
    action, value = callback_data.action, callback_data.value
    data = await FILING.pressed(callback, action, state)
    if data is None:
        return
    step = FILING.step_of(data)
    if action == "back":
        await ask(callback, uow, actor, state, FILING.back(data))
    elif action == "company" and step == "company":
        data.update(company_id=int(value), company_name=take(data, value, "company"))
        if data.get("quick"):
            await file_or_ask_cause(callback, uow, actor, state, bot, i18n, data, reminders)
        else:
            await ask(callback, uow, actor, state, data)
    elif action == "page" and step == "contact":
        data["offset"] = max(0, callback_data.offset)
        await ask(callback, uow, actor, state, data)
    elif action == "contact" and step == "contact":
        shown = data.pop("shown", {})
        if value and value not in shown:
            raise AccessDenied("contact")
        data.update(contact=int(value) if value else None, contact_name=shown.get(value))
        await ask(callback, uow, actor, state, data)
    elif action == "cause" and step == "cause":
        causes = data.pop("causes", {})
        if value not in causes:
            raise InvalidInput("cause", "unknown_value", allowed=list(causes))
        data.update(cause=value, cause_name=causes[value])
        if data.get("quick"):  # the one-line /claim had only the cause to ask
            await file_claim(callback, uow, actor, state, bot, i18n, data, reminders)
        else:
            await ask(callback, uow, actor, state, data)
    elif action == "prio" and step == "priority":
        data["priority"] = validation.choice("priority", value, ClaimPriority).value
        await ask(callback, uow, actor, state, data)
    elif action == "done" and step == "files":
        await file_claim(callback, uow, actor, state, bot, i18n, data, reminders)
    else:
        await stale(callback)
        return
    await callback.answer()


async def file_or_ask_cause(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    data: dict[str, Any],
    reminders: ReminderRuntime | None,
) -> None:
    """The one-line /claim: the cause its words point to, else the cause buttons."""
    cause = await claims.guessed_cause(uow, data["text"])
    if cause is None:
        data.update(contact=None, contact_name=None)  # the dialog's step is then the cause
        await ask(target, uow, actor, state, data)
        return
    data["cause"] = cause
    await file_claim(target, uow, actor, state, bot, i18n, data, reminders)


async def file_claim(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    data: dict[str, Any],
    reminders: ReminderRuntime | None,
) -> None:
    view = await claims.file(
        uow,
        actor,
        ClaimInput(
            company_id=int(data["company_id"]),
            text=data["text"],
            contact_id=data.get("contact"),
            cause=data.get("cause") or "other",
            priority=data.get("priority") or ClaimPriority.NORMAL.value,
            attachments=[AttachmentInput(f, k, s) for f, k, s in data.get("files", [])],
        ),
    )
    await state.clear()
    text, markup = render_card(actor, view)
    await show(target, text, markup)
    await notify_filed(
        uow,
        bot,
        i18n,
        view.claim,
        render_notice,
        sender=reminders.sender if reminders is not None else None,
        filed_by=actor.id,
    )


def setup() -> Router:
    router = Router(name="claims.filing")
    router.message.register(new_claim, Command("claim"))
    router.callback_query.register(new_claim_for_company, NewClaimCb.filter())
    router.message.register(typed_company, ClaimForm.company, F.text, ~F.text.startswith("/"))
    router.message.register(typed_text, ClaimForm.text, F.text, ~F.text.startswith("/"))
    router.message.register(got_file, ClaimForm.files, F.photo | F.document)
    router.message.register(text_instead_of_file, ClaimForm.files, F.text, ~F.text.startswith("/"))
    router.callback_query.register(dialog_button, ClaimFormCb.filter())
    return router
