"""/log (one line or a dialog) and the paged interaction history of every card.

`/log who; kind; in|out; summary; when`: the optional `when` is natural language (as
/remind reads it); a time ahead plans the interaction then (with one reminder at that
time), a time gone by logs it done then. The dialog asks "When?" after the summary:
Just now, or Plan for later… (then the time in words).
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

from crm import search, validation
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import Interaction, utcnow
from crm.models.enums import InteractionStatus, SearchKind
from crm.search import Hit
from crm.services import cards, interactions
from crm.services.interactions import InteractionInput
from crm.uow import UnitOfWork
from handlers.find import (
    COMPANY,
    CONTACT,
    DEAL,
    DIRECTIONS,
    KIND_ICONS,
    KIND_OF_HIT,
    KINDS,
    CardBackCb,
    CardCb,
    HistoryCb,
    LogCb,
    Rows,
    cancel_button,
    edit_or_answer,
    hit_button,
    interaction_line,
    markup,
)
from handlers.tasks import examples, resolved
from handlers.ui import PAGE, button, h, pager_row, short, split_args

router = Router(name="interactions")

WHO_RESULTS = 8
KIND_WORDS = {
    "call": "call",
    "звонок": "call",
    "meeting": "meeting",
    "встреча": "meeting",
    "email": "email",
    "e-mail": "email",
    "письмо": "email",
    "message": "message",
    "сообщение": "message",
    "visit": "visit",
    "визит": "visit",
}
DIRECTION_WORDS = {
    "in": "in",
    "incoming": "in",
    "вх": "in",
    "входящий": "in",
    "входящее": "in",
    "входящая": "in",
    "out": "out",
    "outgoing": "out",
    "исх": "out",
    "исходящий": "out",
    "исходящее": "out",
    "исходящая": "out",
}


class LogForm(StatesGroup):
    who = State()
    kind = State()
    direction = State()
    summary = State()
    when = State()  # Just now | Plan for later…
    when_text = State()  # the time typed in words


class LogFormCb(CallbackData, prefix="lgf"):
    action: str  # who | kind | dir | skip | back | now | later | at
    value: str = ""  # the subject's kind (co|ct) for who, else the kind or the direction
    id: int = 0  # the subject's id for who; the moment (unix seconds) for at


def parse_kind(text: str) -> str:
    kind = KIND_WORDS.get(text.strip().lower().rstrip("."))
    if kind is None:
        raise InvalidInput("kind", "unknown_value", allowed=[_(label) for label in KINDS.values()])
    return kind


def parse_direction(text: str) -> str:
    direction = DIRECTION_WORDS.get(text.strip().lower().rstrip("."))
    if direction is None:
        allowed = [_(label) for label in DIRECTIONS.values()]
        raise InvalidInput("direction", "unknown_value", allowed=allowed)
    return direction


def usage() -> str:
    return _(
        "Write it on one line: /log who; call|meeting|email|message|visit; in|out; summary"
        "[; when]\n"
        "e.g. /log Ivanov; call; out; agreed on a meeting\n"
        "or /log Ivanov; meeting; out; the contract; tomorrow 15:00 — to plan it\n"
        "Or send just /log and I will ask step by step."
    )


def split_when(summary_text: str | None, actor: Actor) -> tuple[str | None, str | None]:
    """The summary and the optional `when` after its last ";".

    The summary may hold ";" of its own, so the last part is taken as the time only when
    it reads as one (or is a time we must ask about); words without a digit that are no
    time stay in the summary."""
    if not summary_text or ";" not in summary_text:
        return summary_text, None
    head, tail = summary_text.rsplit(";", 1)
    tail = tail.strip()
    if not tail:
        return head, None
    try:
        interactions.resolve_when(tail, actor.timezone)
    except InvalidInput as err:
        if err.reason == "unparsed" and not any(ch.isdigit() for ch in tail):
            return summary_text, None
    return head, tail


def best_hit(query: str, hits: list[Hit]) -> Hit | None:
    """The one hit meant without asking: the only one, or the only one named exactly so."""
    if len(hits) == 1:
        return hits[0]
    key = search.normalise(query)
    exact = [hit for hit in hits if search.normalise(hit.title.split(",")[0]) == key]
    return exact[0] if len(exact) == 1 else None


async def find_subjects(uow: UnitOfWork, actor: Actor, query: str) -> list[Hit]:
    return await cards.find(
        uow, actor, query, kinds=(SearchKind.COMPANY, SearchKind.CONTACT), limit=WHO_RESULTS
    )


async def subject_title(uow: UnitOfWork, actor: Actor, kind: str, subject_id: int) -> str:
    """The name to show for a company or contact, read with the service's access check."""
    if kind == COMPANY:
        return (await cards.company_card(uow, actor, subject_id)).company.name
    if kind == CONTACT:
        card = await cards.contact_card(uow, actor, subject_id)
        return (
            f"{card.contact.name}, {card.company_name}" if card.company_name else card.contact.name
        )
    raise ValueError(kind)


async def log_and_report(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    subject: tuple[str, int, str],
    kind: str,
    direction: str,
    summary: str | None,
    at: datetime | None = None,
) -> Interaction:
    """Log one interaction with a company or contact and tell the user, with its card's button.

    `at` later than now plans it then (with its reminder); earlier logs it done then."""
    subject_kind, subject_id, title = subject
    what = _("{icon} {kind}, {direction} — {title}").format(
        icon=KIND_ICONS[kind], kind=_(KINDS[kind]), direction=_(DIRECTIONS[direction]), title=title
    )
    interaction = await interactions.log_at(
        uow,
        actor,
        InteractionInput(
            kind=kind,
            direction=direction,
            summary=summary,
            company_id=subject_id if subject_kind == COMPANY else None,
            contact_id=subject_id if subject_kind == CONTACT else None,
            reminder_title=f"{what}: {short(summary, 200)}" if summary else what,
        ),
        at,
    )
    params = {
        "icon": KIND_ICONS[kind],
        "kind": _(KINDS[kind]),
        "direction": _(DIRECTIONS[direction]),
        "title": h(title),
    }
    if interaction.status == InteractionStatus.PLANNED.value:
        text = _("🗓 Planned: {icon} {kind}, {direction} — {title}, {time}.").format(
            **params, time=resolved(actor, interaction.occurred_at)
        )
        text += "\n" + _("I will remind you at that time; it is also in /today on its day.")
    elif at is not None:
        text = _("✅ Logged: {icon} {kind}, {direction} — {title}, {time}.").format(
            **params, time=resolved(actor, interaction.occurred_at)
        )
    else:
        text = _("✅ Logged: {icon} {kind}, {direction} — {title}.").format(**params)
    if summary:
        text += "\n" + h(short(summary, 300))
    await message.answer(
        text,
        reply_markup=markup(
            [[button(_("Open the card"), CardCb(kind=subject_kind, id=subject_id))]]
        ),
    )
    return interaction


async def proceed(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext, data: dict[str, Any]
) -> None:
    """Everything known: log it, or ask the time again if it cannot be taken as written."""
    when_text = data.get("when_text")
    at: datetime | None = None
    if when_text:
        try:
            at = interactions.resolve_when(when_text, actor.timezone, utcnow())
        except InvalidInput as err:
            if err.field != "when":
                raise
            data = {k: v for k, v in data.items() if k not in ("when_text", "line")}
            await state.set_state(LogForm.when_text)
            await state.set_data(data)
            text, keyboard = ask_when_again(actor, err, when_text)
            await message.answer(text, reply_markup=keyboard)
            return
    subject = (data["subject"], int(data["id"]), data["title"])
    await log_and_report(
        message, uow, actor, subject, data["kind"], data["direction"], data.get("summary"), at
    )
    await state.clear()


def ask_when_again(actor: Actor, err: InvalidInput, typed: str) -> tuple[str, InlineKeyboardMarkup]:
    """The polite question back for a time that cannot be taken as written; nothing is logged."""
    rows: Rows = []
    options = err.params.get("options") or []
    if err.reason == "ambiguous" and options:
        text = _("“{text}” can mean more than one time. Which one?").format(text=h(typed))
        rows += [
            [button(resolved(actor, option), LogFormCb(action="at", id=int(option.timestamp())))]
            for option in options
        ]
    elif err.reason == "ambiguous":
        text = _("“{text}” can mean more than one time: write it more exactly, e.g. 17:00.")
        text = text.format(text=h(typed)) + "\n" + examples()
    else:
        text = _("I could not understand “{text}” as a date and time.").format(
            text=h(short(typed, 100))
        )
        text += "\n" + examples()
    rows.append([button(_("Just now"), LogFormCb(action="now"))])
    rows.append(nav_row())
    return text, markup(rows)


# --- one line -----------------------------------------------------------------------------


@router.message(Command("log"))
async def log_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    if not command.args or not command.args.strip():
        await ask_who(message, state)
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
    await state.set_state(LogForm.who)
    await state.set_data({**data, "line": True})
    await message.answer(
        _("Several match “{query}”. Which one?").format(query=h(who)),
        reply_markup=who_buttons(hits),
    )


def nobody_found(query: str) -> str:
    return _(
        "No contact or company like “{query}” among yours. Check the name, or add it: "
        "/contact or /company."
    ).format(query=h(query))


def who_buttons(hits: list[Hit]) -> Any:
    rows: Rows = [
        hit_button(hit, LogFormCb(action="who", value=KIND_OF_HIT[hit.kind], id=hit.entity_id))
        for hit in hits
    ]
    rows.append([cancel_button()])
    return markup(rows)


# --- the dialog -----------------------------------------------------------------------------


def nav_row(back: bool = True) -> list[Any]:
    row = [button(_("« Back"), LogFormCb(action="back"))] if back else []
    return [*row, cancel_button()]


async def ask_who(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(LogForm.who)
    await edit_or_answer(
        event,
        _("Who was it with? Send a part of the name of a contact or a company."),
        markup([[cancel_button()]]),
    )


async def ask_kind(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(LogForm.kind)
    title = (await state.get_data()).get("title", "")
    kinds = [
        button(f"{KIND_ICONS[k]} {_(label)}", LogFormCb(action="kind", value=k))
        for k, label in KINDS.items()
    ]
    await edit_or_answer(
        event,
        _("{title}: what was it?").format(title=f"<b>{h(title)}</b>"),
        markup([kinds[:3], kinds[3:], nav_row()]),
    )


async def ask_direction(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(LogForm.direction)
    await edit_or_answer(
        event,
        _("Who started it?"),
        markup(
            [
                [
                    button(_("⬅ Incoming (they did)"), LogFormCb(action="dir", value="in")),
                    button(_("➡ Outgoing (we did)"), LogFormCb(action="dir", value="out")),
                ],
                nav_row(),
            ]
        ),
    )


async def ask_summary(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(LogForm.summary)
    await edit_or_answer(
        event,
        _("Briefly, what was it about? Send the text, or press Skip."),
        markup([[button(_("Skip"), LogFormCb(action="skip"))], nav_row()]),
    )


@router.message(LogForm.who, F.text, ~F.text.startswith("/"))
async def typed_who(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    who = validation.text("name", message.text)
    hits = await find_subjects(uow, actor, who)
    if not hits:
        await message.answer(nobody_found(who), reply_markup=markup([[cancel_button()]]))
        return
    await message.answer(_("Which one?"), reply_markup=who_buttons(hits))


@router.callback_query(LogForm.who, LogFormCb.filter(F.action == "who"))
async def picked_who(
    callback: CallbackQuery,
    callback_data: LogFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    subject_kind, subject_id = callback_data.value, callback_data.id
    title = await subject_title(uow, actor, subject_kind, subject_id)
    data = await state.get_data()
    if data.get("line"):
        await callback.answer()
        assert isinstance(callback.message, Message)
        data.update(subject=subject_kind, id=subject_id, title=title)
        await proceed(callback.message, uow, actor, state, data)
        return
    await state.update_data(subject=subject_kind, id=subject_id, title=title)
    await ask_kind(callback, state)


@router.callback_query(LogCb.filter())
async def log_from_card(
    callback: CallbackQuery, callback_data: LogCb, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    title = await subject_title(uow, actor, callback_data.kind, callback_data.id)
    await state.clear()
    await state.set_data({"subject": callback_data.kind, "id": callback_data.id, "title": title})
    await callback.answer()
    assert isinstance(callback.message, Message)
    await ask_kind(callback.message, state)


@router.callback_query(LogForm.kind, LogFormCb.filter(F.action == "kind"))
async def picked_kind(callback: CallbackQuery, callback_data: LogFormCb, state: FSMContext) -> None:
    await state.update_data(kind=parse_kind(callback_data.value))
    await ask_direction(callback, state)


@router.callback_query(LogForm.direction, LogFormCb.filter(F.action == "dir"))
async def picked_direction(
    callback: CallbackQuery, callback_data: LogFormCb, state: FSMContext
) -> None:
    await state.update_data(direction=parse_direction(callback_data.value))
    await ask_summary(callback, state)


async def ask_when(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(LogForm.when)
    await edit_or_answer(
        event,
        _("When? Log it as just now, or plan it for later."),
        markup(
            [
                [button(_("Just now"), LogFormCb(action="now"))],
                [button(_("Plan for later…"), LogFormCb(action="later"))],
                nav_row(),
            ]
        ),
    )


async def ask_when_text(event: Message | CallbackQuery, state: FSMContext) -> None:
    await state.set_state(LogForm.when_text)
    await edit_or_answer(
        event,
        _("When is it planned? Send the date and time.") + "\n" + examples(),
        markup([nav_row()]),
    )


@router.message(LogForm.summary, F.text, ~F.text.startswith("/"))
async def typed_summary(message: Message, state: FSMContext) -> None:
    summary = validation.optional_text("summary", message.text, validation.TEXT_MAX)
    await state.update_data(summary=summary)
    await ask_when(message, state)


@router.callback_query(LogForm.summary, LogFormCb.filter(F.action == "skip"))
async def skipped_summary(callback: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(summary=None)
    await ask_when(callback, state)


@router.callback_query(LogForm.when, LogFormCb.filter(F.action == "later"))
async def plan_later(callback: CallbackQuery, state: FSMContext) -> None:
    await ask_when_text(callback, state)


@router.callback_query(LogForm.when, LogFormCb.filter(F.action == "now"))
@router.callback_query(LogForm.when_text, LogFormCb.filter(F.action == "now"))
async def just_now(
    callback: CallbackQuery, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await callback.answer()
    assert isinstance(callback.message, Message)
    data = {**(await state.get_data()), "when_text": None}
    await proceed(callback.message, uow, actor, state, data)


@router.message(LogForm.when_text, F.text, ~F.text.startswith("/"))
async def typed_when(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = {**(await state.get_data()), "when_text": (message.text or "").strip()}
    await proceed(message, uow, actor, state, data)


@router.callback_query(LogForm.when_text, LogFormCb.filter(F.action == "at"))
async def picked_when(
    callback: CallbackQuery,
    callback_data: LogFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await callback.answer()
    assert isinstance(callback.message, Message)
    data = await state.get_data()
    at = datetime.fromtimestamp(callback_data.id, UTC)
    subject = (data["subject"], int(data["id"]), data["title"])
    await log_and_report(
        callback.message,
        uow,
        actor,
        subject,
        data["kind"],
        data["direction"],
        data.get("summary"),
        at,
    )
    await state.clear()


@router.callback_query(LogFormCb.filter(F.action == "back"))
async def back(callback: CallbackQuery, state: FSMContext) -> None:
    current = await state.get_state()
    if current == LogForm.when_text.state:
        await ask_when(callback, state)
    elif current == LogForm.when.state:
        await ask_summary(callback, state)
    elif current == LogForm.summary.state:
        await ask_direction(callback, state)
    elif current == LogForm.direction.state:
        await ask_kind(callback, state)
    elif current == LogForm.kind.state:
        await ask_who(callback, state)
    else:
        await stale(callback)


@router.callback_query(LogFormCb.filter())
async def stale(callback: CallbackQuery) -> None:
    """A button of a step that is over (the dialog moved on, was cancelled or finished)."""
    await callback.answer(_("This step is over. Start again with /log."), show_alert=True)


# --- history --------------------------------------------------------------------------------


@router.callback_query(HistoryCb.filter())
async def history(
    callback: CallbackQuery, callback_data: HistoryCb, uow: UnitOfWork, actor: Actor
) -> None:
    kind, subject_id, offset = callback_data.kind, callback_data.id, max(0, callback_data.offset)
    subject = {COMPANY: "company_id", CONTACT: "contact_id", DEAL: "deal_id"}[kind]
    rows, total = await interactions.history(
        uow, actor, **{subject: subject_id}, offset=offset, limit=PAGE
    )
    lines = [_("<b>History</b> ({count})").format(count=total)]
    lines += [interaction_line(actor, item, 300) for item in rows] or [_("No interactions yet.")]
    keyboard: Rows = [
        pager_row(HistoryCb, offset, total, kind=kind, id=subject_id),
        [button(_("« Back to the card"), CardBackCb(kind=kind, id=subject_id))],
    ]
    await edit_or_answer(callback, "\n\n".join(lines), markup(keyboard))
