"""/remind, the Remind button of cards, the buttons of a reminder, /today and /tasks.

`/remind when; text` sets a reminder at once; `/remind` alone (or the Remind button of a
company, contact or deal card) asks when (quick buttons or typed), then what. A time that
cannot be understood, is past or could mean two moments is asked back, never guessed.

Each planned interaction in /today has buttons: ✅ Done (marks it done), 🗓 Move (asks
when, in words as /remind does) and the card of its company, contact or deal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm import when
from crm.access import Actor
from crm.errors import Conflict, InvalidInput
from crm.models import Interaction, Task, utcnow
from crm.models.enums import InteractionStatus, TaskStatus
from crm.services import companies, contacts, deals, interactions, tasks
from crm.services.tasks import Agenda, InteractionLine, TaskInput, TaskLine
from crm.uow import UnitOfWork
from handlers import find
from handlers.dialog import Wizard, ask_when_again, stale, when_examples
from handlers.ui import PAGE, RemindCb, button, h, markup, pager_row, short, show, split_args
from handlers.words import INTERACTION_ICONS, local_time, moment, money
from notifications.reminders import ReminderRuntime, TaskAction, apply_action

router = Router(name="tasks")

TODAY_SHOWN = 8  # per section of /today; the totals say how many there are in all
LINK_OF_KIND = {find.COMPANY: "company_id", find.CONTACT: "contact_id", find.DEAL: "deal_id"}


class RemindForm(StatesGroup):
    when = State()
    text = State()


class MoveForm(StatesGroup):
    when = State()  # data: interaction_id


class PlannedCb(CallbackData, prefix="pi"):
    """The buttons of a planned interaction in /today."""

    action: str  # done | move | open
    id: int


class MoveWhenCb(CallbackData, prefix="pim"):
    action: str  # at | cancel
    at: int = 0  # "at": the chosen moment, seconds since the epoch (UTC)


class RemindWhenCb(CallbackData, prefix="rw"):
    action: str  # h1 | tmrw | mon | other | at | dflt | cancel
    at: int = 0  # "at": the chosen moment, seconds since the epoch (UTC)


class TaskCb(CallbackData, prefix="tk"):
    action: str  # done | undo | page
    task_id: int = 0
    offset: int = 0
    view: str = "l"  # what a Done press re-renders: l (the /tasks page) or d (/today)


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


def _links(data: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in (data.get("links") or {}).items()}


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
            task = await tasks.create(uow, actor, TaskInput(title=title, due_at=due_at, **links))
        else:
            task = await tasks.remind(uow, actor, when_text or "", title, **links)
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


@router.message(Command("remind"))
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
    try:
        due_at = when.parse_when(when_text, actor.timezone, utcnow())
    except InvalidInput as err:
        await REMIND.save(state, {})
        text, keyboard = ask_again(actor, err, when_text)
        await message.answer(text, reply_markup=keyboard)
        return
    await _when_chosen(message, uow, actor, state, reminders, due_at)


@router.callback_query(RemindCb.filter())
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
        if kind == find.COMPANY:
            return (await companies.get(uow, actor, record_id)).name
        if kind == find.CONTACT:
            return (await contacts.get(uow, actor, record_id)).name
        return (await deals.get(uow, actor, record_id)).title


@router.message(RemindForm.when, F.text, ~F.text.startswith("/"))
async def typed_when(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None = None,
) -> None:
    typed = message.text or ""
    try:
        due_at = when.parse_when(typed, actor.timezone, utcnow())
    except InvalidInput as err:
        text, keyboard = ask_again(actor, err, typed)
        await message.answer(text, reply_markup=keyboard)
        return
    await _when_chosen(message, uow, actor, state, reminders, due_at)


@router.message(RemindForm.text, F.text, ~F.text.startswith("/"))
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


@router.callback_query(RemindWhenCb.filter())
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


# --- the buttons of a reminder -------------------------------------------------------------


def task_text(actor: Actor, line: TaskLine) -> str:
    task = line.task
    lines = [_("⏰ Reminder: {title}").format(title=f"<b>{h(task.title)}</b>")]
    if line.company_name:
        lines.append(_("Client: {company}").format(company=h(line.company_name)))
    if line.deal_title:
        lines.append(_("Deal: {deal}").format(deal=h(line.deal_title)))
    if line.event_title:
        lines.append(_("Event: {title}").format(title=h(line.event_title)))
    return "\n".join(lines)


def _open_row(task: Task) -> list[InlineKeyboardButton]:
    if task.deal_id or task.company_id or task.contact_id:
        return [button(_("Open the card"), TaskAction(action="open", task_id=task.id))]
    return []


@router.callback_query(TaskAction.filter(F.action == "open"))
async def open_task_card(
    callback: CallbackQuery, callback_data: TaskAction, uow: UnitOfWork, actor: Actor
) -> None:
    task = await apply_action(uow, actor, callback_data)
    if task.deal_id:
        kind, record_id = find.DEAL, task.deal_id
    elif task.company_id:
        kind, record_id = find.COMPANY, task.company_id
    elif task.contact_id:
        kind, record_id = find.CONTACT, task.contact_id
    else:
        await callback.answer(_("This reminder is not linked to a card."), show_alert=True)
        return
    text, keyboard = await find.card_view(uow, actor, kind, record_id)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=keyboard)
    await callback.answer()


@router.callback_query(TaskAction.filter())
async def reminder_button(
    callback: CallbackQuery,
    callback_data: TaskAction,
    uow: UnitOfWork,
    actor: Actor,
    reminders: ReminderRuntime | None = None,
) -> None:
    task = await apply_action(uow, actor, callback_data)
    line = await tasks.get_line(uow, actor, task.id)
    if task.status == TaskStatus.DONE.value:
        state, notice = _("✅ Done."), _("Done.")
        keyboard = markup([_open_row(task)])
    else:
        if reminders is not None:
            reminders.task_changed(task.id, task.due_at)
        state = _("💤 I will remind you again on {time}.").format(time=moment(actor, task.due_at))
        notice = _("Snoozed until {time}.").format(time=local_time(actor, task.due_at))
        keyboard = markup(
            [[button(_("✅ Done"), TaskAction(action="done", task_id=task.id))], _open_row(task)]
        )
    await show(callback, task_text(actor, line) + "\n\n" + state, keyboard)
    await callback.answer(notice)


# --- /today and /tasks ---------------------------------------------------------------------


def _task_line(actor: Actor, line: TaskLine, with_date: bool) -> str:
    text = f"{local_time(actor, line.task.due_at, with_date)} {h(short(line.task.title, 80))}"
    where = line.deal_title or line.company_name
    if not where and line.event_title:
        where = "📅 " + line.event_title
    return text + (f" · {h(short(where, 40))}" if where else "")


def _planned_line(actor: Actor, line: InteractionLine) -> str:
    item = line.interaction
    icon = INTERACTION_ICONS.get(item.kind, "•")
    who = ", ".join(h(short(n, 40)) for n in (line.company_name, line.contact_name) if n)
    text = f"{local_time(actor, item.occurred_at, False)} {icon} {who}"
    return text + (f" — {h(short(item.summary, 60))}" if item.summary else "")


def _planned_row(number: int, interaction_id: int) -> list[InlineKeyboardButton]:
    return [
        button(
            _("✅ {number}. Done").format(number=number),
            PlannedCb(action="done", id=interaction_id),
        ),
        button(
            _("🗓 {number}. Move").format(number=number), PlannedCb(action="move", id=interaction_id)
        ),
        button(
            _("📇 {number}. Open card").format(number=number),
            PlannedCb(action="open", id=interaction_id),
        ),
    ]


def _more(shown: int, total: int) -> list[str]:
    return [_("… and {count} more").format(count=total - shown)] if total > shown else []


def render_today(actor: Actor, agenda: Agenda) -> tuple[str, InlineKeyboardMarkup | None]:
    totals = agenda.totals
    lines = [_("<b>Today, {date}</b>").format(date=agenda.day.strftime("%d.%m.%Y"))]
    rows: list[list[InlineKeyboardButton]] = []

    def task_section(title: str, key: str, items: list[TaskLine], with_date: bool) -> None:
        if not totals.get(key):
            return
        shown = items[:TODAY_SHOWN]
        lines.extend(["", title.format(count=totals[key])])
        for number, line in enumerate(shown, len(rows) + 1):
            lines.append(f"{number}. {_task_line(actor, line, with_date)}")
            rows.append(
                [
                    button(
                        f"✅ {number}. {short(line.task.title, 40)}",
                        TaskCb(action="done", task_id=line.task.id, view="d"),
                    )
                ]
            )
        lines.extend(_more(len(shown), totals[key]))

    task_section(_("<b>Overdue ({count})</b>"), "overdue", agenda.overdue, True)
    task_section(_("<b>Due today ({count})</b>"), "due_today", agenda.due_today, False)
    task_rows = len(rows)
    if totals.get("planned"):
        shown_planned = agenda.planned[:TODAY_SHOWN]
        lines.extend(
            ["", _("<b>Planned interactions ({count})</b>").format(count=totals["planned"])]
        )
        for number, planned in enumerate(shown_planned, len(rows) + 1):
            lines.append(f"{number}. {_planned_line(actor, planned)}")
            rows.append(_planned_row(number, planned.interaction.id))
        lines.extend(_more(len(shown_planned), totals["planned"]))
    if totals.get("stale_deals"):
        shown_deals = agenda.stale_deals[:TODAY_SHOWN]
        lines.extend(
            [
                "",
                _("<b>Deals past their expected close ({count})</b>").format(
                    count=totals["stale_deals"]
                ),
            ]
        )
        for deal in shown_deals:
            close = deal.expected_close.strftime("%d.%m.%Y") if deal.expected_close else "—"
            lines.append(
                " • "
                + _("{title} ({company}) — {amount}, expected {date}").format(
                    title=h(short(deal.title, 60)),
                    company=h(short(deal.company.name, 40)),
                    amount=money(deal.amount),
                    date=close,
                )
            )
            rows.append(
                [button(f"💼 {short(deal.title, 50)}", find.CardCb(kind=find.DEAL, id=deal.id))]
            )
        lines.extend(_more(len(shown_deals), totals["stale_deals"]))
    if not any(totals.values()):
        lines.extend(["", _("Nothing for today. Set a reminder with /remind.")])
    if totals.get("overdue", 0) + totals.get("due_today", 0) > task_rows:
        rows.append([button(_("All open tasks"), TaskCb(action="page"))])
    return "\n".join(lines), markup(rows)


@router.message(Command("today"))
async def today(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    text, keyboard = render_today(actor, await tasks.agenda(uow, actor))
    await message.answer(text, reply_markup=keyboard)


# --- the buttons of a planned interaction in /today ----------------------------------------


def not_planned_text() -> str:
    return _("This interaction is already done.")


def _interaction_title(item: Interaction) -> str:
    return short(item.summary, 100) if item.summary else INTERACTION_ICONS.get(item.kind, "•")


@router.callback_query(PlannedCb.filter(F.action == "done"))
async def planned_done(
    callback: CallbackQuery, callback_data: PlannedCb, uow: UnitOfWork, actor: Actor
) -> None:
    try:
        item = await interactions.complete(uow, actor, callback_data.id)
    except Conflict:
        await callback.answer(not_planned_text(), show_alert=True)
        return
    text, keyboard = render_today(actor, await tasks.agenda(uow, actor))
    await show(callback, text, keyboard)
    await callback.answer(_("Done: {title}").format(title=_interaction_title(item)))


@router.callback_query(PlannedCb.filter(F.action == "open"))
async def planned_card(
    callback: CallbackQuery, callback_data: PlannedCb, uow: UnitOfWork, actor: Actor
) -> None:
    item = await interactions.get(uow, actor, callback_data.id)
    if item.company_id:
        kind, record_id = find.COMPANY, item.company_id
    elif item.contact_id:
        kind, record_id = find.CONTACT, item.contact_id
    elif item.deal_id:
        kind, record_id = find.DEAL, item.deal_id
    else:  # every interaction names one of them; kept for safety
        await callback.answer(_("Not found, or you have no access to it."), show_alert=True)
        return
    text, keyboard = await find.card_view(uow, actor, kind, record_id)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=keyboard)
    await callback.answer()


def _what(item: Interaction) -> str:
    """🤝 and the summary (escaped), as the line of /today shows the interaction."""
    icon = INTERACTION_ICONS.get(item.kind, "•")
    return f"{icon} {h(short(item.summary, 80))}" if item.summary else icon


def ask_move_text(actor: Actor, item: Interaction) -> str:
    return "\n".join(
        [
            _("🗓 Move {what}, now {time}. To when?").format(
                what=_what(item), time=moment(actor, item.occurred_at)
            ),
            when_examples(),
        ]
    )


def move_cancel() -> InlineKeyboardButton:
    return button(_("✖ Cancel"), MoveWhenCb(action="cancel"))


def move_keyboard(
    actor: Actor, item: Interaction | None = None, now: datetime | None = None
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if item is not None:
        # the same local time tomorrow: the usual move of a call or a meeting
        local = when.to_local(item.occurred_at, actor.timezone)
        today = when.to_local(now or utcnow(), actor.timezone).date()
        naive = datetime.combine(today + timedelta(days=1), local.time().replace(tzinfo=None))
        try:
            tomorrow = when.localise(naive, when.zone_of(actor.timezone))
        except InvalidInput:  # a time DST makes double or missing: typed instead
            tomorrow = None
        if tomorrow is not None:
            rows.append(
                [
                    button(
                        _("Tomorrow {time}").format(time=f"{local:%H:%M}"),
                        MoveWhenCb(action="at", at=int(tomorrow.timestamp())),
                    )
                ]
            )
    rows.append([move_cancel()])
    return markup(rows)


MOVE = Wizard(
    steps={"when": MoveForm.when},
    step_of=lambda data: "when",
    back_drops={},
    nav=MoveWhenCb,
    restart="/today",
    cancel_button=move_cancel,
)


def ask_move_again(actor: Actor, err: InvalidInput, typed: str) -> tuple[str, InlineKeyboardMarkup]:
    """The question back for a new time that cannot be taken as it is."""
    return ask_when_again(
        actor,
        err,
        typed,
        pick=lambda option: MoveWhenCb(action="at", at=int(option.timestamp())),
        rows=[[move_cancel()]],
        after_past=_("To when should it move?"),
    )


@router.callback_query(PlannedCb.filter(F.action == "move"))
async def planned_move(
    callback: CallbackQuery,
    callback_data: PlannedCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    item = await interactions.get(uow, actor, callback_data.id)
    if item.status != InteractionStatus.PLANNED.value:
        await callback.answer(not_planned_text(), show_alert=True)
        return
    await state.clear()
    await MOVE.save(state, {"interaction_id": item.id})
    if isinstance(callback.message, Message):
        await callback.message.answer(
            ask_move_text(actor, item), reply_markup=move_keyboard(actor, item)
        )
    await callback.answer()


async def _move_to(
    event: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    at: datetime,
    typed: str = "",
) -> None:
    data = await state.get_data()
    try:
        item = await interactions.reschedule(uow, actor, int(data["interaction_id"]), at)
    except InvalidInput as err:
        if err.field != "when":
            raise
        await show(event, *ask_move_again(actor, err, typed))
        return
    except Conflict:
        await state.clear()
        await show(event, not_planned_text())
        return
    await state.clear()
    await show(
        event,
        _("🗓 Moved to {time}: {what}").format(
            time=moment(actor, item.occurred_at), what=_what(item)
        ),
    )


@router.message(MoveForm.when, F.text, ~F.text.startswith("/"))
async def typed_move_when(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    typed = message.text or ""
    try:
        at = when.parse_when(typed, actor.timezone, utcnow())
    except InvalidInput as err:
        text, keyboard = ask_move_again(actor, err, typed)
        await message.answer(text, reply_markup=keyboard)
        return
    await _move_to(message, uow, actor, state, at, typed)


@router.callback_query(MoveWhenCb.filter())
async def chosen_move_time(
    callback: CallbackQuery,
    callback_data: MoveWhenCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    if await MOVE.pressed(callback, callback_data.action, state) is None:
        return
    if callback_data.action != "at":
        await stale(callback)
        return
    await _move_to(callback, uow, actor, state, datetime.fromtimestamp(callback_data.at, UTC))
    await callback.answer()


def render_list(
    actor: Actor, lines: list[TaskLine], total: int, offset: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not total:
        return _("No open tasks. Set a reminder with /remind."), markup([])
    text = [_("<b>Open tasks</b> ({count})").format(count=total)]
    rows: list[list[InlineKeyboardButton]] = []
    for number, line in enumerate(lines, offset + 1):
        mark = "" if line.task.assignee_id == actor.id else " 👥"
        text.append(f"{number}. {_task_line(actor, line, True)}{mark}")
        rows.append(
            [
                button(
                    f"✅ {number}. {short(line.task.title, 40)}",
                    TaskCb(action="done", task_id=line.task.id, offset=offset),
                )
            ]
        )
    rows.append(pager_row(TaskCb, offset, total, action="page"))
    return "\n".join(text), markup(rows)


@router.message(Command("tasks"))
async def task_list(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    lines, total = await tasks.list_open(uow, actor, 0, PAGE)
    text, keyboard = render_list(actor, lines, total, 0)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(TaskCb.filter(F.action == "page"))
async def task_page(
    callback: CallbackQuery, callback_data: TaskCb, uow: UnitOfWork, actor: Actor
) -> None:
    offset = max(0, callback_data.offset)
    lines, total = await tasks.list_open(uow, actor, offset, PAGE)
    if not lines and offset:
        offset = max(0, (total - 1) // PAGE * PAGE)
        lines, total = await tasks.list_open(uow, actor, offset, PAGE)
    await show(callback, *render_list(actor, lines, total, offset))
    await callback.answer()


@router.callback_query(TaskCb.filter(F.action == "done"))
async def done_from_list(
    callback: CallbackQuery, callback_data: TaskCb, uow: UnitOfWork, actor: Actor
) -> None:
    task = await tasks.complete(uow, actor, callback_data.task_id)
    if callback_data.view == "d":
        text, keyboard = render_today(actor, await tasks.agenda(uow, actor))
    else:
        offset = max(0, callback_data.offset)
        lines, total = await tasks.list_open(uow, actor, offset, PAGE)
        if not lines and offset:
            offset = max(0, offset - PAGE)
            lines, total = await tasks.list_open(uow, actor, offset, PAGE)
        text, keyboard = render_list(actor, lines, total, offset)
    await show(callback, text, keyboard)
    await callback.answer(_("Done: {title}").format(title=short(task.title, 150)))


@router.callback_query(TaskCb.filter(F.action == "undo"))
async def undo_reminder(
    callback: CallbackQuery, callback_data: TaskCb, uow: UnitOfWork, actor: Actor
) -> None:
    task = await tasks.cancel(uow, actor, callback_data.task_id)
    text = _("Reminder cancelled: {title}").format(title=f"<b>{h(task.title)}</b>")
    await show(callback, text)
    await callback.answer()


# --- the Remind button on every card -------------------------------------------------------


def _remind_row(kind: str, record_id: int) -> list[list[InlineKeyboardButton]]:
    return [[button(_("⏰ Remind"), RemindCb(kind=kind, id=record_id))]]


find.CARD_ROWS[find.COMPANY].append(lambda actor, card: _remind_row(find.COMPANY, card.company.id))
find.CARD_ROWS[find.CONTACT].append(lambda actor, card: _remind_row(find.CONTACT, card.contact.id))
find.CARD_ROWS[find.DEAL].append(lambda actor, card: _remind_row(find.DEAL, card.deal.id))
