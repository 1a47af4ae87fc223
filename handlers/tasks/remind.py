"""/remind and the ⏰ Remind button of the cards.

`/remind when; text` sets a reminder at once; `/remind` alone (or the Remind button of a
company, contact or deal card) asks when (quick buttons or typed), then what. A time that
cannot be understood, is past or could mean two moments is asked back, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm import when
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import Task, utcnow
from crm.services import companies, contacts, deals, tasks
from crm.services.cards import CompanyCard, ContactCard, DealCard
from crm.services.tasks import TaskInput
from crm.uow import UnitOfWork
from handlers.cards.callbacks import COMPANY, CONTACT, DEAL, RemindCb
from handlers.dialog import Wizard, ask_when_again, read_when, stale, when_examples
from handlers.tasks.callbacks import RemindWhenCb, TaskCb
from handlers.ui import button, h, markup, short, show, split_args
from handlers.words import moment
from notifications.reminders import ReminderRuntime

LINK_OF_KIND = {COMPANY: "company_id", CONTACT: "contact_id", DEAL: "deal_id"}


class RemindForm(StatesGroup):
    when = State()
    text = State()


def ask_when_text() -> str:
    return _("When should I remind you?") + "\n" + when_examples()


def cancel_button() -> InlineKeyboardButton:
    return button(_("✖ Cancel"), RemindWhenCb(action="cancel"))


def when_keyboard() -> InlineKeyboardMarkup:
    return markup(
        [
            [
                button(_("In 1 hour"), RemindWhenCb(action="h1")),
                button(_("Tomorrow 9:00"), RemindWhenCb(action="tmrw")),
                button(_("Monday 9:00"), RemindWhenCb(action="mon")),
            ],
            [button(_("Other time…"), RemindWhenCb(action="other")), cancel_button()],
        ]
    )


def remind_step(data: Mapping[str, Any]) -> str:
    return "text" if data.get("due_at") else "when"


REMIND = Wizard(
    steps={"when": RemindForm.when, "text": RemindForm.text},
    step_of=remind_step,
    back_drops={},
    nav=RemindWhenCb,
    restart="/remind",
    cancel_button=cancel_button,
)


def ask_again(actor: Actor, err: InvalidInput, typed: str) -> tuple[str, InlineKeyboardMarkup]:
    """The question back for a time that cannot be taken as it is."""
    return ask_when_again(
        actor,
        err,
        typed,
        pick=lambda option: RemindWhenCb(action="at", at=int(option.timestamp())),
        rows=when_keyboard().inline_keyboard,
        choice_rows=[[button(_("Other time…"), RemindWhenCb(action="other")), cancel_button()]],
        after_past=_("When should I remind you?"),
    )


def confirmation(actor: Actor, task: Task) -> tuple[str, InlineKeyboardMarkup | None]:
    text = "\n".join(
        [
            _("⏰ Reminder set: {title}").format(title=f"<b>{h(task.title)}</b>"),
            _("When: {time} ({timezone})").format(
                time=moment(actor, task.due_at), timezone=actor.timezone
            ),
        ]
    )
    keyboard = markup(
        [[button(_("✖ Cancel this reminder"), TaskCb(action="undo", task_id=task.id))]]
    )
    return text, keyboard


# --- /remind and the Remind button ---------------------------------------------------------


def _links(data: dict[str, Any]) -> dict[str, int | None]:
    """The record the reminder is about (a card's Remind button), as TaskInput names it."""
    links = {k: int(v) for k, v in (data.get("links") or {}).items()}
    return {key: links.get(key) for key in LINK_OF_KIND.values()}


async def _create(
    event: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None,
    title: str,
    *,
    when_text: str | None = None,
    due_at: datetime | None = None,
) -> None:
    """Create the reminder, or ask the time again (the title and links wait in the state)."""
    data = await state.get_data()
    links = _links(data)
    try:
        if due_at is not None:
            task = await tasks.create(
                uow,
                actor,
                TaskInput(
                    title=title,
                    due_at=due_at,
                    company_id=links["company_id"],
                    contact_id=links["contact_id"],
                    deal_id=links["deal_id"],
                ),
            )
        else:
            task = await tasks.remind(
                uow,
                actor,
                when_text or "",
                title,
                company_id=links["company_id"],
                contact_id=links["contact_id"],
                deal_id=links["deal_id"],
            )
    except InvalidInput as err:
        if err.field not in ("when", "due_at"):
            raise
        await REMIND.save(state, {**data, "title": title, "due_at": None})
        await show(event, *ask_again(actor, err, when_text or ""))
        return
    await state.clear()
    if reminders is not None:
        reminders.task_changed(task.id, task.due_at)
    await show(event, *confirmation(actor, task))


async def _when_chosen(
    event: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None,
    due_at: datetime,
) -> None:
    """The time is known: create at once if the text is too, else ask for the text."""
    data = await state.get_data()
    if data.get("title"):
        await _create(event, uow, actor, state, reminders, data["title"], due_at=due_at)
        return
    await REMIND.save(state, {**data, "due_at": due_at.isoformat()})
    rows = []
    if data.get("default_title"):
        rows.append([button(short(data["default_title"], 60), RemindWhenCb(action="dflt"))])
    rows.append([cancel_button()])
    text = _("I will remind you on {time}. What about?").format(time=moment(actor, due_at))
    await show(event, text, markup(rows))


async def remind(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None = None,
) -> None:
    await state.clear()
    parts = split_args(command.args)
    if not parts or not parts[0]:
        title = "; ".join(parts[1:]).strip()  # "/remind ; call back": the time is missing
        await REMIND.save(state, {"title": title} if title else {})
        await message.answer(ask_when_text(), reply_markup=when_keyboard())
        return
    when_text, title = parts[0], "; ".join(parts[1:]).strip()
    if title:
        await _create(message, uow, actor, state, reminders, title, when_text=when_text)
        return
    # only the time: understood, it is kept and the text is asked for
    await REMIND.save(state, {})
    due_at = await read_when(message, actor, partial(ask_again, actor), when_text)
    if due_at is not None:
        await _when_chosen(message, uow, actor, state, reminders, due_at)


async def remind_from_card(
    callback: CallbackQuery,
    callback_data: RemindCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    link = LINK_OF_KIND.get(callback_data.kind)
    if link is None:
        raise InvalidInput("kind", "unknown_value", allowed=list(LINK_OF_KIND))
    name = await _record_name(uow, actor, callback_data.kind, callback_data.id)
    await state.clear()
    data = {
        "links": {link: callback_data.id},
        "default_title": _("Call back {name}").format(name=name),
    }
    await REMIND.save(state, data)
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Reminder about {name}.").format(name=f"<b>{h(name)}</b>") + "\n" + ask_when_text(),
            reply_markup=when_keyboard(),
        )
    await callback.answer()


async def _record_name(uow: UnitOfWork, actor: Actor, kind: str, record_id: int) -> str:
    """The card's name; the services refuse a record the actor may not see."""
    async with uow.read_only():
        if kind == COMPANY:
            return (await companies.get(uow, actor, record_id)).name
        if kind == CONTACT:
            return (await contacts.get(uow, actor, record_id)).name
        return (await deals.get(uow, actor, record_id)).title


async def typed_when(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None = None,
) -> None:
    due_at = await read_when(message, actor, partial(ask_again, actor))
    if due_at is not None:
        await _when_chosen(message, uow, actor, state, reminders, due_at)


async def typed_text(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None = None,
) -> None:
    data = await state.get_data()
    due_at = datetime.fromisoformat(data["due_at"])
    # a bad text (too long) is explained by the error handler and the dialog waits
    await _create(message, uow, actor, state, reminders, message.text or "", due_at=due_at)


async def remind_button(
    callback: CallbackQuery,
    callback_data: RemindWhenCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None = None,
) -> None:
    action = callback_data.action
    data = await REMIND.pressed(callback, action, state)
    if data is None:
        return
    step = remind_step(data)
    now = utcnow()
    if action == "dflt" and step == "text":
        if not data.get("default_title"):
            raise InvalidInput("title", "empty")
        due_at = datetime.fromisoformat(data["due_at"])
        await _create(callback, uow, actor, state, reminders, data["default_title"], due_at=due_at)
    elif action == "other" and step == "when":
        await show(callback, ask_when_text(), markup([[cancel_button()]]))
    elif action in ("h1", "tmrw", "mon", "at") and step == "when":
        if action == "h1":
            due_at = now + timedelta(hours=1)
        elif action == "at":
            due_at = datetime.fromtimestamp(callback_data.at, UTC)
        else:
            phrase = "tomorrow 09:00" if action == "tmrw" else "monday 09:00"
            due_at = when.parse_when(phrase, actor.timezone, now)
        if due_at <= now:
            await show(callback, *ask_again(actor, InvalidInput("when", "past", at=due_at), ""))
        else:
            await _when_chosen(callback, uow, actor, state, reminders, due_at)
    else:
        await stale(callback)
        return
    await callback.answer()


# --- the Remind button on every card -------------------------------------------------------


def _remind_row(kind: str, record_id: int) -> list[list[InlineKeyboardButton]]:
    return [[button(_("⏰ Remind"), RemindCb(kind=kind, id=record_id))]]


def company_remind(actor: Actor, card: CompanyCard) -> list[list[InlineKeyboardButton]]:
    return _remind_row(COMPANY, card.company.id)


def contact_remind(actor: Actor, card: ContactCard) -> list[list[InlineKeyboardButton]]:
    return _remind_row(CONTACT, card.contact.id)


def deal_remind(actor: Actor, card: DealCard) -> list[list[InlineKeyboardButton]]:
    return _remind_row(DEAL, card.deal.id)


def setup() -> Router:
    router = Router(name="tasks.remind")
    router.message.register(remind, Command("remind"))
    router.callback_query.register(remind_from_card, RemindCb.filter())
    router.message.register(typed_when, RemindForm.when, F.text, ~F.text.startswith("/"))
    router.message.register(typed_text, RemindForm.text, F.text, ~F.text.startswith("/"))
    router.callback_query.register(remind_button, RemindWhenCb.filter())
    return router
