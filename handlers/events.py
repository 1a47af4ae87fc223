"""/event: marketing events, their invitees, invitation emails and attendance.

`/event title; when; place` creates an event at once (the place may be left out) and shows
its card; `/event` alone lists the upcoming events as buttons with "➕ New event", which
asks step by step: title → when → place (Back and Cancel at every step). The card shows
the time in the user's timezone, the invitees by status and the participation rate, with
buttons: add invitees (by segment), send the invitations (queued in the outbox), the
paged invitees (after the start, attended / no-show buttons) and the preparation tasks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.errors import describe
from bot.i18n import N_
from crm import validation, when
from crm.access import Actor
from crm.analytics.events import Outcome
from crm.errors import Conflict, InvalidInput
from crm.models import Event, utcnow
from crm.models.enums import InviteeStatus, Role, TaskStatus
from crm.services import event_failures, events, tasks
from crm.services.events import EventInput, EventView, Segment
from crm.settings import Settings
from crm.uow import UnitOfWork
from handlers.ui import (
    PAGE,
    button,
    cancel_text,
    h,
    local_time,
    money,
    pager_row,
    short,
    show,
    split_args,
)
from notifications.email_notices import EventFailuresCb

router = Router(name="events")

BUTTON_TITLE = 40
TASKS_SHOWN = 15

STATUS_NAMES: dict[str, str] = {
    InviteeStatus.INVITED: N_("invited"),
    InviteeStatus.ACCEPTED: N_("accepted"),
    InviteeStatus.DECLINED: N_("declined"),
    InviteeStatus.ATTENDED: N_("attended"),
    InviteeStatus.NO_SHOW: N_("no-show"),
}
STATUS_ICONS: dict[str, str] = {
    InviteeStatus.INVITED: "✉",
    InviteeStatus.ACCEPTED: "👍",
    InviteeStatus.DECLINED: "👎",
    InviteeStatus.ATTENDED: "✅",
    InviteeStatus.NO_SHOW: "🚫",
}
STAGE_NAMES: dict[str, str] = {
    "potential": N_("Potential clients"),
    "one_time": N_("One-time clients"),
    "regular": N_("Regular clients"),
}


class EventCb(CallbackData, prefix="ev"):
    """action: open (a new message with the card) | show (the card in place) | list |
    new | add (segment menu) | seg (value: all | stage.<s> | ind.<i> | ter.<i> | co.<id>) |
    inds | ters | cos (choose one) | send | inv (invitees page) | att (value: <id>.1|0) |
    tasks | done (value: task id)"""

    action: str
    event_id: int = 0
    value: str = ""
    offset: int = 0


class EventFormCb(CallbackData, prefix="evf"):
    action: str  # back | cancel | skip | at (value: epoch seconds of a chosen time)
    value: str = ""


class EventForm(StatesGroup):
    title = State()
    when = State()
    place = State()


class EventCompanyForm(StatesGroup):
    name = State()  # the "By company" list is open: a typed text looks the company up


# --- texts ------------------------------------------------------------------------------


def status_name(status: str) -> str:
    return _(STATUS_NAMES[status]) if status in STATUS_NAMES else status


def span(actor: Actor, event: Event) -> str:
    start = local_time(actor, event.starts_at)
    if event.ends_at is None:
        return start
    end = local_time(actor, event.ends_at)
    return f"{start} – {end[-5:] if end[:10] == start[:10] else end}"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def render_card(actor: Actor, view: EventView) -> tuple[str, InlineKeyboardMarkup]:
    event = view.event
    lines = [
        f"📅 <b>{h(event.title)}</b>",
        _("When: {time} ({timezone})").format(time=span(actor, event), timezone=actor.timezone),
    ]
    if event.place:
        lines.append(_("Place: {place}").format(place=h(event.place)))
    if event.topic:
        lines.append(_("Topic: {topic}").format(topic=h(short(event.topic, 300))))
    lines.append(_("Responsible: {name}").format(name=h(view.responsible.name)))
    if event.budget is not None:
        lines.append(_("Budget: {amount}").format(amount=money(event.budget)))
    if view.cancelled:
        lines.append(_("❌ Cancelled: the invitees were told."))
    lines.append("")
    if any(view.emails.values()):
        lines.append(
            _(
                "Emails: {queued} queued · {sent} sent · {failed} failed · {answered} answered"
            ).format(
                queued=view.emails.get("queued", 0),
                sent=view.emails.get("sent", 0),
                failed=view.emails.get("failed", 0),
                answered=view.answered,
            )
        )
    if view.invited:
        by_status = " · ".join(
            f"{STATUS_ICONS[s]} {status_name(s)} {view.counts[s]}"
            for s in STATUS_NAMES
            if view.counts.get(s)
        )
        lines.append(_("Invitees: {count}").format(count=view.invited) + f" — {by_status}")
        if view.outcome is not None:  # before the start only the answers mean anything
            lines += outcome_lines(view.outcome)
    else:
        lines.append(_("Nobody is invited yet."))
    if view.plan:
        done = sum(1 for t in view.plan if t.status == TaskStatus.DONE)
        lines.append(
            _("Preparation: {done} of {total} tasks done").format(done=done, total=len(view.plan))
        )
    return "\n".join(lines), card_markup(view)


def outcome_lines(outcome: Outcome) -> list[str]:
    """Participation, cost per attendee and the deals that followed (after the start)."""
    rate = _("Participation: {rate} ({attended} of {invited})").format(
        rate=percent(outcome.participation_rate),
        attended=outcome.attended,
        invited=outcome.invited,
    )
    if outcome.by_answers and outcome.attended:
        rate += " " + _("(by the answers: nobody is marked yet)")
    lines = [rate]
    if outcome.cost_per_attendee is not None:
        lines.append(
            _("Cost per attendee: {amount}").format(amount=money(outcome.cost_per_attendee))
        )
    lines.append(
        _(
            "Within 30 days: {opened} deals opened ({opened_amount}), {won} won ({won_amount})"
        ).format(
            opened=outcome.deals_opened,
            opened_amount=money(outcome.opened_amount),
            won=outcome.deals_won,
            won_amount=money(outcome.won_amount),
        )
    )
    return lines


def card_markup(view: EventView) -> InlineKeyboardMarkup:
    event_id = view.event.id
    started = view.event.starts_at <= utcnow() or view.cancelled
    kb = InlineKeyboardBuilder()
    if view.emails.get("failed"):
        kb.row(
            button(
                _("⚠ Undelivered ({count})").format(count=view.emails["failed"]),
                EventFailuresCb(event_id=event_id),
            )
        )
    if not started:
        kb.row(
            button(_("➕ Add invitees"), EventCb(action="add", event_id=event_id)),
            button(_("✉ Send invitations"), EventCb(action="send", event_id=event_id)),
        )
    kb.row(
        button(
            _("👥 Invitees ({count})").format(count=view.invited),
            EventCb(action="inv", event_id=event_id),
        ),
        button(_("📋 Preparation tasks"), EventCb(action="tasks", event_id=event_id)),
    )
    kb.row(button(_("« Events"), EventCb(action="list")))
    return kb.as_markup()


async def show_card(
    target: Message | CallbackQuery, uow: UnitOfWork, actor: Actor, event_id: int
) -> None:
    text, markup = render_card(actor, await events.get(uow, actor, event_id))
    await show(target, text, markup)


def started_text() -> str:
    return _("The event has already started: invitations can no longer be changed.")


# --- /event: the list ---------------------------------------------------------------------


async def events_page(uow: UnitOfWork, actor: Actor, offset: int) -> tuple[str, Any]:
    rows, total = await events.list_upcoming(uow, actor, offset=offset, limit=PAGE)
    lines = [_("<b>Upcoming events</b>")]
    if not total:
        lines.append(_("No upcoming events. Create one with the button below."))
    kb = InlineKeyboardBuilder()
    for event in rows:
        kb.row(
            button(
                f"📅 {local_time(actor, event.starts_at)} · {short(event.title, BUTTON_TITLE)}",
                EventCb(action="open", event_id=event.id),
            )
        )
    pager = pager_row(EventCb, offset, total, action="list")
    if pager:
        kb.row(*pager)
    recent = await events.list_recent(uow, actor) if offset == 0 else []
    if recent:
        lines.append(_("Recently held: open one to mark who came."))
        for event in recent:
            kb.row(
                button(
                    f"✅ {local_time(actor, event.starts_at)} · {short(event.title, BUTTON_TITLE)}",
                    EventCb(action="open", event_id=event.id),
                )
            )
    kb.row(button(_("➕ New event"), EventCb(action="new")))
    return "\n".join(lines), kb.as_markup()


def usage_text() -> str:
    return _(
        "Write <code>/event title; when; place</code>, e.g. "
        "<code>/event Spring seminar; 25.04 15:00; Hall A</code>, or just /event."
    )


@router.message(Command("event"))
async def event_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    parts = split_args(command.args)
    if not parts or not any(parts):
        text, markup = await events_page(uow, actor, 0)
        await message.answer(text, reply_markup=markup)
        return
    title = parts[0]
    if not title:
        await message.answer(usage_text())
        return
    when_text = parts[1] if len(parts) > 1 else ""
    place = "; ".join(p for p in parts[2:] if p) or None
    if not when_text:  # only the title: the dialog goes on from the time
        title = validation.text("title", title, max_len=events.TITLE_MAX)
        await state.set_state(EventForm.when)
        await state.set_data({"title": title})
        await message.answer(ask_when_text(title), reply_markup=form_markup(back=True))
        return
    view = await events.create(uow, actor, EventInput(title=title, when=when_text, place=place))
    text, markup = render_card(actor, view)
    await message.answer(_("Event created.") + "\n\n" + text, reply_markup=markup)


@router.callback_query(EventCb.filter(F.action == "list"))
async def page_events(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await events_page(uow, actor, max(0, callback_data.offset))
    await show(callback, text, markup)
    await callback.answer()


@router.callback_query(EventCb.filter(F.action == "open"))
async def open_card(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = render_card(actor, await events.get(uow, actor, callback_data.event_id))
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


@router.callback_query(EventCb.filter(F.action == "show"))
async def card_here(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    await show_card(callback, uow, actor, callback_data.event_id)
    await callback.answer()


# --- the New event dialog -------------------------------------------------------------------


def form_markup(*, back: bool = False, skip: bool = False) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if skip:
        kb.row(button(_("Skip"), EventFormCb(action="skip")))
    row = []
    if back:
        row.append(button(_("« Back"), EventFormCb(action="back")))
    row.append(button(_("Cancel"), EventFormCb(action="cancel")))
    kb.row(*row)
    return kb.as_markup()


def ask_title_text() -> str:
    return _("New event. What is its title?")


def examples() -> str:
    return _("For example: 25.04 15:00, tomorrow 10:00, next friday 18:00.")


def ask_when_text(title: str) -> str:
    return (
        _("Event: {title}").format(title=f"<b>{h(title)}</b>")
        + "\n"
        + _("When does it start?")
        + "\n"
        + examples()
    )


def ask_place_text(actor: Actor, title: str, starts_at: datetime) -> str:
    return "\n".join(
        [
            _("Event: {title}").format(title=f"<b>{h(title)}</b>"),
            _("When: {time} ({timezone})").format(
                time=local_time(actor, starts_at), timezone=actor.timezone
            ),
            _("Where will it be? Type the place, or press Skip."),
        ]
    )


@router.callback_query(EventCb.filter(F.action == "new"))
async def new_event(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(EventForm.title)
    if isinstance(callback.message, Message):
        await callback.message.answer(ask_title_text(), reply_markup=form_markup())
    await callback.answer()


@router.message(EventForm.title, F.text, ~F.text.startswith("/"))
async def typed_title(message: Message, state: FSMContext) -> None:
    try:
        title = validation.text("title", message.text, max_len=events.TITLE_MAX)
    except InvalidInput as err:
        await message.answer(describe(err), reply_markup=form_markup())
        return
    await state.set_state(EventForm.when)
    await state.set_data({"title": title})
    await message.answer(ask_when_text(title), reply_markup=form_markup(back=True))


def when_options(actor: Actor, options: list[datetime]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for option in options:
        kb.row(
            button(
                local_time(actor, option),
                EventFormCb(action="at", value=str(int(option.timestamp()))),
            )
        )
    kb.row(
        button(_("« Back"), EventFormCb(action="back")),
        button(_("Cancel"), EventFormCb(action="cancel")),
    )
    return kb.as_markup()


@router.message(EventForm.when, F.text, ~F.text.startswith("/"))
async def typed_when(message: Message, actor: Actor, state: FSMContext) -> None:
    typed = message.text or ""
    try:
        starts_at = when.parse_when(typed, actor.timezone, utcnow())
    except InvalidInput as err:
        if err.reason == "ambiguous" and err.params.get("options"):
            await message.answer(
                _("“{text}” can mean more than one time. Which one?").format(
                    text=h(short(typed, 100))
                ),
                reply_markup=when_options(actor, err.params["options"]),
            )
            return
        if err.reason == "past":
            text = _("This time has already passed. When does the event start?")
        else:
            text = _("I could not understand “{text}” as a date and time.").format(
                text=h(short(typed, 100))
            )
        await message.answer(text + "\n" + examples(), reply_markup=form_markup(back=True))
        return
    await when_chosen(message, actor, state, starts_at)


async def when_chosen(
    target: Message | CallbackQuery, actor: Actor, state: FSMContext, starts_at: datetime
) -> None:
    data = await state.get_data()
    await state.set_state(EventForm.place)
    await state.update_data(starts_at=starts_at.isoformat())
    await show(
        target,
        ask_place_text(actor, data["title"], starts_at),
        form_markup(back=True, skip=True),
    )


@router.callback_query(EventFormCb.filter(F.action == "at"), EventForm.when)
async def chosen_when(
    callback: CallbackQuery, callback_data: EventFormCb, actor: Actor, state: FSMContext
) -> None:
    starts_at = datetime.fromtimestamp(int(callback_data.value), UTC)
    await when_chosen(callback, actor, state, starts_at)
    await callback.answer()


async def create_from_dialog(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    place: str | None,
) -> None:
    data = await state.get_data()
    starts_at = datetime.fromisoformat(data["starts_at"])
    try:
        view = await events.create(
            uow, actor, EventInput(title=data["title"], starts_at=starts_at, place=place)
        )
    except InvalidInput as err:
        if err.field != "when":
            raise
        await state.set_state(EventForm.when)  # the chosen time went by meanwhile
        await show(
            target,
            _("This time has already passed. When does the event start?") + "\n" + examples(),
            form_markup(back=True),
        )
        return
    await state.clear()
    text, markup = render_card(actor, view)
    await show(target, _("Event created.") + "\n\n" + text, markup)


@router.message(EventForm.place, F.text, ~F.text.startswith("/"))
async def typed_place(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    try:
        place = validation.text("place", message.text, max_len=events.PLACE_MAX)
    except InvalidInput as err:
        await message.answer(describe(err), reply_markup=form_markup(back=True, skip=True))
        return
    await create_from_dialog(message, uow, actor, state, place)


@router.callback_query(EventFormCb.filter(F.action == "skip"), EventForm.place)
async def skip_place(
    callback: CallbackQuery, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await create_from_dialog(callback, uow, actor, state, None)
    await callback.answer()


@router.callback_query(EventFormCb.filter(F.action == "back"))
async def back(callback: CallbackQuery, actor: Actor, state: FSMContext) -> None:
    current = await state.get_state()
    data = await state.get_data()
    if current == EventForm.place.state:
        await state.set_state(EventForm.when)
        await show(callback, ask_when_text(data["title"]), form_markup(back=True))
    elif current == EventForm.when.state:
        await state.set_state(EventForm.title)
        await show(callback, ask_title_text(), form_markup())
    else:
        await callback.answer(_("This dialog is over."), show_alert=True)
        return
    await callback.answer()


@router.callback_query(EventFormCb.filter(F.action == "cancel"))
async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(callback, cancel_text())
    await callback.answer()


# --- invitees: segments, sending ----------------------------------------------------------


def segment_markup(event_id: int, actor: Actor) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    # a head or a director invites from every client they can see, not only their own
    everyone = _("All my clients") if actor.role is Role.MANAGER else _("All clients you can see")
    kb.row(button(everyone, EventCb(action="seg", event_id=event_id, value="all")))
    for stage, label in STAGE_NAMES.items():
        kb.row(button(_(label), EventCb(action="seg", event_id=event_id, value=f"stage.{stage}")))
    kb.row(
        button(_("By industry"), EventCb(action="inds", event_id=event_id)),
        button(_("By territory"), EventCb(action="ters", event_id=event_id)),
    )
    kb.row(button(_("By company"), EventCb(action="cos", event_id=event_id)))
    kb.row(button(_("« Back"), EventCb(action="show", event_id=event_id)))
    return kb.as_markup()


def segment_prompt(view: EventView) -> str:
    return f"📅 <b>{h(view.event.title)}</b>\n" + _(
        "Whom to invite? Only contacts with an email who did not unsubscribe are added."
    )


@router.callback_query(EventCb.filter(F.action == "add"))
async def add_menu(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await leave_company_search(state)
    view = await events.get(uow, actor, callback_data.event_id)
    await show(callback, segment_prompt(view), segment_markup(view.event.id, actor))
    await callback.answer()


@router.callback_query(EventCb.filter(F.action.in_({"inds", "ters"})))
async def choose_value(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    view = await events.get(uow, actor, callback_data.event_id)
    kind = "industry" if callback_data.action == "inds" else "territory"
    values = await events.segment_values(uow, actor, kind)
    kb = InlineKeyboardBuilder()
    prefix = "ind" if kind == "industry" else "ter"
    for index, value in enumerate(values):
        kb.row(
            button(
                short(value, BUTTON_TITLE),
                EventCb(action="seg", event_id=view.event.id, value=f"{prefix}.{index}"),
            )
        )
    kb.row(button(_("« Back"), EventCb(action="add", event_id=view.event.id)))
    text = _("Choose the industry:") if kind == "industry" else _("Choose the territory:")
    if not values:
        text = _("Your companies have no industry or territory filled in yet.")
    await show(callback, text, kb.as_markup())
    await callback.answer()


def companies_markup(
    event_id: int, rows: list[tuple[int, str]], pager: list[Any] | None
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for company_id, name in rows:
        kb.row(
            button(
                short(name, BUTTON_TITLE),
                EventCb(action="seg", event_id=event_id, value=f"co.{company_id}"),
            )
        )
    if pager:
        kb.row(*pager)
    kb.row(button(_("« Back"), EventCb(action="add", event_id=event_id)))
    return kb.as_markup()


async def leave_company_search(state: FSMContext) -> None:
    if await state.get_state() == EventCompanyForm.name.state:
        await state.clear()


@router.callback_query(EventCb.filter(F.action == "cos"))
async def choose_company(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    view = await events.get(uow, actor, callback_data.event_id)
    offset = max(0, callback_data.offset)
    rows, total = await events.segment_companies(uow, actor, offset=offset, limit=PAGE)
    pager = pager_row(EventCb, offset, total, action="cos", event_id=view.event.id)
    if total:
        text = _("Choose the company, or type a part of its name:")
        await state.set_state(EventCompanyForm.name)
        await state.set_data({"event_id": view.event.id})
    else:
        text = _("None of your companies has a contact with an email.")
    await show(callback, text, companies_markup(view.event.id, rows, pager))
    await callback.answer()


@router.message(EventCompanyForm.name, F.text, ~F.text.startswith("/"))
async def typed_company(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    event_id = int((await state.get_data()).get("event_id", 0))
    typed = (message.text or "").strip()
    view = await events.get(uow, actor, event_id)
    rows, total = await events.segment_companies(uow, actor, limit=PAGE, name=typed)
    quoted = h(short(typed, 100))
    if not total:
        text = _(
            "None of your companies with an email is called like “{text}”. "
            "Type another part of the name."
        ).format(text=quoted)
    elif total > len(rows):
        text = _(
            "Found {count} for “{text}”, here are the first {shown}: choose one, "
            "or type more of the name."
        ).format(count=total, text=quoted, shown=len(rows))
    else:
        text = _("Found for “{text}”: choose the company.").format(text=quoted)
    await message.answer(text, reply_markup=companies_markup(view.event.id, rows, None))


async def segment_of(uow: UnitOfWork, actor: Actor, value: str) -> Segment:
    kind, _sep, rest = value.partition(".")
    if kind == "all":
        return Segment("all")
    if kind == "stage":
        return Segment("stage", rest)
    if kind in ("ind", "ter") and rest.isdigit():
        name = "industry" if kind == "ind" else "territory"
        values = await events.segment_values(uow, actor, name)
        if int(rest) < len(values):
            return Segment(name, values[int(rest)])
    if kind == "co" and rest.isdigit():
        return Segment("company", int(rest))
    raise InvalidInput("segment", "unknown_value", allowed=list(events.SEGMENT_KINDS))


@router.callback_query(EventCb.filter(F.action == "seg"))
async def add_segment(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await leave_company_search(state)
    segment = await segment_of(uow, actor, callback_data.value)
    try:
        result = await events.add_invitees(uow, actor, callback_data.event_id, segment)
    except Conflict:
        await callback.answer(started_text(), show_alert=True)
        return
    lines = [_("Invitees added: {count}.").format(count=result.added)]
    if result.skipped:
        lines.append(
            _(
                "Skipped: {no_email} without an email, {opted_out} unsubscribed, "
                "{already} already invited."
            ).format(no_email=result.no_email, opted_out=result.opted_out, already=result.already)
        )
    text, markup = render_card(actor, await events.get(uow, actor, callback_data.event_id))
    await show(callback, "\n".join(lines) + "\n\n" + text, markup)
    await callback.answer()


@router.callback_query(EventCb.filter(F.action == "send"))
async def send_invitations(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    settings: Settings,
) -> None:
    try:
        result = await events.send_invitations(
            uow,
            actor,
            callback_data.event_id,
            base_url=settings.public_base_url,
            sender=settings.smtp_from,
        )
    except Conflict:
        await callback.answer(started_text(), show_alert=True)
        return
    lines = [_("Invitations queued: {count}.").format(count=result.queued)]
    if result.already:
        lines.append(_("Already sent before: {count}.").format(count=result.already))
    if result.skipped:
        lines.append(
            _("Not sent (no email or unsubscribed): {count}.").format(count=result.skipped)
        )
    if not result.queued and not result.already:
        lines.append(_("Add invitees first."))
    if not settings.mail_enabled:
        lines.append(
            _(
                "⚠ Mail is disabled (SMTP_HOST is not set): the emails wait in the outbox "
                "and go out once it is set up."
            )
        )
    text, markup = render_card(actor, await events.get(uow, actor, callback_data.event_id))
    await show(callback, "\n".join(lines) + "\n\n" + text, markup)
    await callback.answer()


# --- invitees and attendance --------------------------------------------------------------


async def invitees_page(
    uow: UnitOfWork, actor: Actor, event_id: int, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    view = await events.get(uow, actor, event_id)
    rows, total = await events.list_invitees(uow, actor, event_id, offset=offset, limit=PAGE)
    started = view.event.starts_at <= utcnow()
    lines = [f"📅 <b>{h(view.event.title)}</b>", _("Invitees: {count}").format(count=total)]
    if started:
        lines.append(
            _("Participation: {rate} ({attended} of {invited})").format(
                rate=percent(view.participation_rate),
                attended=view.counts.get(InviteeStatus.ATTENDED, 0),
                invited=view.invited,
            )
        )
    lines.append("")
    kb = InlineKeyboardBuilder()
    for row in rows:
        company = f" ({h(row.company_name)})" if row.company_name else ""
        status = row.invitee.status
        icon = STATUS_ICONS.get(status, "·")
        lines.append(f"{icon} {h(row.contact_name)}{company} — {status_name(status)}")
        if started:
            name = short(row.contact_name, 24)
            kb.row(
                button(
                    f"✅ {name}",
                    EventCb(
                        action="att", event_id=event_id, value=f"{row.invitee.id}.1", offset=offset
                    ),
                ),
                button(
                    f"🚫 {name}",
                    EventCb(
                        action="att", event_id=event_id, value=f"{row.invitee.id}.0", offset=offset
                    ),
                ),
            )
    if not total:
        lines.append(_("Nobody is invited yet."))
    elif started:
        lines += ["", _("Mark who came (✅) and who did not (🚫).")]
    pager = pager_row(EventCb, offset, total, action="inv", event_id=event_id)
    if pager:
        kb.row(*pager)
    kb.row(button(_("« Back"), EventCb(action="show", event_id=event_id)))
    return "\n".join(lines), kb.as_markup()


@router.callback_query(EventCb.filter(F.action == "inv"))
async def list_invitees(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await invitees_page(
        uow, actor, callback_data.event_id, max(0, callback_data.offset)
    )
    await show(callback, text, markup)
    await callback.answer()


@router.callback_query(EventCb.filter(F.action == "att"))
async def mark_attendance(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    invitee_id, _sep, flag = callback_data.value.partition(".")
    if not invitee_id.isdigit() or flag not in ("0", "1"):
        raise InvalidInput("invitee", "invalid")
    try:
        await events.mark_attendance(
            uow, actor, callback_data.event_id, int(invitee_id), flag == "1"
        )
    except Conflict:
        await callback.answer(_("The event has not started yet."), show_alert=True)
        return
    text, markup = await invitees_page(
        uow, actor, callback_data.event_id, max(0, callback_data.offset)
    )
    await show(callback, text, markup)
    await callback.answer(_("Attended.") if flag == "1" else _("No-show."))


# --- preparation tasks ----------------------------------------------------------------------


def tasks_text(actor: Actor, view: EventView) -> tuple[str, InlineKeyboardMarkup]:
    lines = [f"📅 <b>{h(view.event.title)}</b>", _("<b>Preparation tasks</b>")]
    marks = {TaskStatus.OPEN: "☐", TaskStatus.DONE: "☑", TaskStatus.CANCELLED: "✖"}
    for task in view.plan[:TASKS_SHOWN]:
        lines.append(
            f"{marks.get(TaskStatus(task.status), '·')} {h(task.title)} — "
            f"{local_time(actor, task.due_at)}"
        )
    if len(view.plan) > TASKS_SHOWN:
        lines.append(_("…and {count} more").format(count=len(view.plan) - TASKS_SHOWN))
    if not view.plan:
        lines.append(_("No preparation tasks."))
    kb = InlineKeyboardBuilder()
    for task in [t for t in view.plan if t.status == TaskStatus.OPEN][:PAGE]:
        kb.row(
            button(
                "✔ " + short(task.title, BUTTON_TITLE),
                EventCb(action="done", event_id=view.event.id, value=str(task.id)),
            )
        )
    kb.row(button(_("« Back"), EventCb(action="show", event_id=view.event.id)))
    return "\n".join(lines), kb.as_markup()


@router.callback_query(EventCb.filter(F.action == "tasks"))
async def show_tasks(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = tasks_text(actor, await events.get(uow, actor, callback_data.event_id))
    await show(callback, text, markup)
    await callback.answer()


@router.callback_query(EventCb.filter(F.action == "done"))
async def task_done(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    view = await events.get(uow, actor, callback_data.event_id)
    plan = {str(t.id): t for t in view.plan}
    if callback_data.value not in plan:
        raise InvalidInput("task", "not_found")
    await tasks.complete(uow, actor, plan[callback_data.value].id)
    text, markup = tasks_text(actor, await events.get(uow, actor, view.event.id))
    await show(callback, text, markup)
    await callback.answer(_("Done."))


# --- undelivered emails ---------------------------------------------------------------------


@router.callback_query(EventFailuresCb.filter())
async def show_failures(
    callback: CallbackQuery, callback_data: EventFailuresCb, uow: UnitOfWork, actor: Actor
) -> None:
    """The addresses the mail servers refused, with their reasons (from the card or from
    the notice)."""
    view = await events.get(uow, actor, callback_data.event_id)
    items, total = await event_failures.failures(uow, actor, view.event.id, limit=PAGE * 2)
    lines = [
        f"📅 <b>{h(view.event.title)}</b>",
        _("Undelivered emails: {count}").format(count=total),
        "",
    ]
    for item in items:
        who = f"{h(item.contact_name)} " if item.contact_name else ""
        lines.append(f"✖ {who}&lt;{h(item.address)}&gt; — {h(short(item.reason, 160))}")
    if total > len(items):
        lines.append(_("…and {count} more").format(count=total - len(items)))
    if not total:
        lines.append(_("Every email was delivered."))
    kb = InlineKeyboardBuilder()
    kb.row(button(_("« Back"), EventCb(action="show", event_id=view.event.id)))
    if isinstance(callback.message, Message):
        await callback.message.answer("\n".join(lines), reply_markup=kb.as_markup())
    await callback.answer()
