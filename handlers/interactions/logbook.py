"""Logging one interaction: the words /log reads, whom it was with, and the answer that
says what was logged (or planned), with its card's button.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from crm import search
from crm.access import Actor
from crm.errors import AccessDenied, InvalidInput
from crm.models import Interaction
from crm.models.enums import InteractionStatus, SearchKind
from crm.search import Hit
from crm.services import cards, interactions
from crm.services.interactions import InteractionInput
from crm.uow import UnitOfWork
from handlers.cards.callbacks import (
    COMPANY,
    CONTACT,
    DEAL,
    KIND_OF_HIT,
    CardCb,
    cancel_button,
    hit_button,
)
from handlers.cards.view import Rows
from handlers.interactions.callbacks import LogFormCb
from handlers.ui import button, h, markup, short
from handlers.words import DIRECTIONS, INTERACTION_ICONS, INTERACTION_KINDS, moment

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
    """The name to show for a company, contact or deal, read with the service's access check."""
    if kind == COMPANY:
        return (await cards.company_card(uow, actor, subject_id)).company.name
    if kind == CONTACT:
        card = await cards.contact_card(uow, actor, subject_id)
        return (
            f"{card.contact.name}, {card.company_name}" if card.company_name else card.contact.name
        )
    if kind == DEAL:
        deal = (await cards.deal_card(uow, actor, subject_id)).deal
        return f"{deal.title}, {deal.company.name}"
    raise AccessDenied(kind)  # a crafted kind (`logw:xx:1`): the same answer as a forged id


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
            deal_id=subject_id if subject_kind == DEAL else None,
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
