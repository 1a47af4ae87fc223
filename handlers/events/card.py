"""The event card: the time in the reader's timezone, the invitees by status and the
participation rate, with the buttons of what can be done now.
"""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.analytics.events import Outcome
from crm.models import Event
from crm.models.enums import TaskStatus
from crm.services import event_changes, events
from crm.services.events import EventView
from crm.uow import UnitOfWork
from handlers.events.callbacks import EventCb
from handlers.ui import button, h, short, show
from handlers.words import (
    INVITEE_ICONS,
    INVITEE_STATUSES,
    label,
    local_time,
    money,
    share,
)
from notifications.email_notices import EventFailuresCb


def status_name(status: str) -> str:
    return label(INVITEE_STATUSES, status)


def span(actor: Actor, event: Event) -> str:
    start = local_time(actor, event.starts_at)
    if event.ends_at is None:
        return start
    end = local_time(actor, event.ends_at)
    return f"{start} – {end[-5:] if end[:10] == start[:10] else end}"


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
    elif view.invited:  # nothing queued yet: the invitees are only on the list
        lines.append(_("Emails: none sent yet."))
    if view.invited:
        by_status = " · ".join(
            f"{INVITEE_ICONS[s]} {status_name(s)} {view.counts[s]}"
            for s in INVITEE_STATUSES
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
        rate=share(outcome.participation_rate),
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
    open_ = event_changes.can_change(view.event)
    kb = InlineKeyboardBuilder()
    if view.emails.get("failed"):
        kb.row(
            button(
                _("⚠ Undelivered ({count})").format(count=view.emails["failed"]),
                EventFailuresCb(event_id=event_id),
            )
        )
    if open_:
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
    if open_:
        kb.row(
            button(_("✏ Edit"), EventCb(action="edit", event_id=event_id)),
            button(_("✖ Cancel event"), EventCb(action="drop", event_id=event_id)),
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
