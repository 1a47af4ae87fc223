"""/log (one line or a dialog) and the paged interaction history of every card.

`/log who; kind; in|out; summary; when`: the optional `when` is natural language (as
/remind reads it); a time ahead plans the interaction then (with one reminder at that
time), a time gone by logs it done then. The dialog asks "When?" after the summary:
Just now, or Plan for later… (then the time in words).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
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
from handlers.dialog import Wizard, ask_when_again, stale, when_examples
from handlers.find import (
    COMPANY,
    CONTACT,
    DEAL,
    KIND_OF_HIT,
    CardBackCb,
    CardCb,
    HistoryCb,
    LogCb,
    Rows,
    cancel_button,
    hit_button,
    interaction_line,
)
from handlers.ui import PAGE, button, h, markup, pager_row, short, show, split_args
from handlers.words import DIRECTIONS, INTERACTION_ICONS, INTERACTION_KINDS, moment

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
        allowed = [_(name) for name in INTERACTION_KINDS.values()]
        raise InvalidInput("kind", "unknown_value", allowed=allowed)
    return kind


def parse_direction(text: str) -> str:
    direction = DIRECTION_WORDS.get(text.strip().lower().rstrip("."))
    if direction is None:
        allowed = [_(name) for name in DIRECTIONS.values()]
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
        icon=INTERACTION_ICONS[kind],
        kind=_(INTERACTION_KINDS[kind]),
        direction=_(DIRECTIONS[direction]),
        title=title,
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
        "icon": INTERACTION_ICONS[kind],
        "kind": _(INTERACTION_KINDS[kind]),
        "direction": _(DIRECTIONS[direction]),
        "title": h(title),
    }
    if interaction.status == InteractionStatus.PLANNED.value:
        text = _("🗓 Planned: {icon} {kind}, {direction} — {title}, {time}.").format(
            **params, time=moment(actor, interaction.occurred_at)
        )
        text += "\n" + _("I will remind you at that time; it is also in /today on its day.")
    elif at is not None:
        text = _("✅ Logged: {icon} {kind}, {direction} — {title}, {time}.").format(
            **params, time=moment(actor, interaction.occurred_at)
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
            await DIALOG.save(state, {**data, "later": True})
            text, keyboard = ask_when_again(
                actor,
                err,
                when_text,
                pick=lambda option: LogFormCb(action="at", id=int(option.timestamp())),
                rows=[[button(_("Just now"), LogFormCb(action="now"))], DIALOG.nav_buttons()],
            )
            await message.answer(text, reply_markup=keyboard)
            return
    subject = (data["subject"], int(data["id"]), data["title"])
    await log_and_report(
        message, uow, actor, subject, data["kind"], data["direction"], data.get("summary"), at
    )
    await state.clear()


# --- one line -----------------------------------------------------------------------------


@router.message(Command("log"))
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


def step_of(data: Mapping[str, Any]) -> str:
    for step, key in (("who", "subject"), ("kind", "kind"), ("direction", "direction")):
        if key not in data:
            return step
    if "summary" not in data:
        return "summary"
    return "when_text" if data.get("later") else "when"


DIALOG = Wizard(
    steps={
        "who": LogForm.who,
        "kind": LogForm.kind,
        "direction": LogForm.direction,
        "summary": LogForm.summary,
        "when": LogForm.when,
        "when_text": LogForm.when_text,
    },
    step_of=step_of,
    back_drops={
        "kind": ("subject", "id", "title"),
        "direction": ("kind",),
        "summary": ("direction",),
        "when": ("summary",),
        "when_text": ("later",),
    },
    nav=LogFormCb,
    restart="/log",
    cancel_button=cancel_button,
)


async def ask(event: Message | CallbackQuery, state: FSMContext, data: dict[str, Any]) -> None:
    """Keep the data and ask for what is missing next."""
    step = await DIALOG.save(state, data)
    nav = DIALOG.nav_buttons()
    if step == "who":
        text = _("Who was it with? Send a part of the name of a contact or a company.")
        rows = [[cancel_button()]]
    elif step == "kind":
        text = _("{title}: what was it?").format(title=f"<b>{h(data.get('title', ''))}</b>")
        kinds = [
            button(f"{INTERACTION_ICONS[k]} {_(name)}", LogFormCb(action="kind", value=k))
            for k, name in INTERACTION_KINDS.items()
        ]
        rows = [kinds[:3], kinds[3:], nav]
    elif step == "direction":
        text = _("Who started it?")
        rows = [
            [
                button(_("⬅ Incoming (they did)"), LogFormCb(action="dir", value="in")),
                button(_("➡ Outgoing (we did)"), LogFormCb(action="dir", value="out")),
            ],
            nav,
        ]
    elif step == "summary":
        text = _("Briefly, what was it about? Send the text, or press Skip.")
        rows = [[button(_("Skip"), LogFormCb(action="skip"))], nav]
    elif step == "when":
        text = _("When? Log it as just now, or plan it for later.")
        rows = [
            [button(_("Just now"), LogFormCb(action="now"))],
            [button(_("Plan for later…"), LogFormCb(action="later"))],
            nav,
        ]
    else:
        text = _("When is it planned? Send the date and time.") + "\n" + when_examples()
        rows = [nav]
    await show(event, text, markup(rows))


@router.message(LogForm.who, F.text, ~F.text.startswith("/"))
async def typed_who(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    who = validation.text("name", message.text)
    hits = await find_subjects(uow, actor, who)
    if not hits:
        await message.answer(nobody_found(who), reply_markup=markup([[cancel_button()]]))
        return
    await message.answer(_("Which one?"), reply_markup=who_buttons(hits))


@router.callback_query(LogCb.filter())
async def log_from_card(
    callback: CallbackQuery, callback_data: LogCb, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    title = await subject_title(uow, actor, callback_data.kind, callback_data.id)
    await state.clear()
    await callback.answer()
    assert isinstance(callback.message, Message)
    data = {"subject": callback_data.kind, "id": callback_data.id, "title": title}
    await ask(callback.message, state, data)


@router.message(LogForm.summary, F.text, ~F.text.startswith("/"))
async def typed_summary(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["summary"] = validation.optional_text("summary", message.text, validation.TEXT_MAX)
    await ask(message, state, data)


@router.message(LogForm.when_text, F.text, ~F.text.startswith("/"))
async def typed_when(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = {**(await state.get_data()), "when_text": (message.text or "").strip()}
    await proceed(message, uow, actor, state, data)


@router.callback_query(LogFormCb.filter())
async def dialog_button(
    callback: CallbackQuery,
    callback_data: LogFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    action, value = callback_data.action, callback_data.value
    data = await DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = step_of(data)
    if action == "back" and step != "who":
        await ask(callback, state, DIALOG.back(data))
    elif action == "who" and step == "who":
        title = await subject_title(uow, actor, value, callback_data.id)
        data.update(subject=value, id=callback_data.id, title=title)
        if data.get("line"):
            await callback.answer()
            assert isinstance(callback.message, Message)
            await proceed(callback.message, uow, actor, state, data)
            return
        await ask(callback, state, data)
    elif action == "kind" and step == "kind":
        await ask(callback, state, {**data, "kind": parse_kind(value)})
    elif action == "dir" and step == "direction":
        await ask(callback, state, {**data, "direction": parse_direction(value)})
    elif action == "skip" and step == "summary":
        await ask(callback, state, {**data, "summary": None})
    elif action == "later" and step == "when":
        await ask(callback, state, {**data, "later": True})
    elif action in ("now", "at") and step in ("when", "when_text"):
        await callback.answer()
        assert isinstance(callback.message, Message)
        at = datetime.fromtimestamp(callback_data.id, UTC) if action == "at" else None
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
        return
    else:
        await stale(callback)
        return
    await callback.answer()


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
    await show(callback, "\n\n".join(lines), markup(keyboard))
    await callback.answer()
