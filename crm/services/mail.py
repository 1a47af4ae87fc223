"""Event emails: the invitation, its update and its cancellation, with their .ics.

One HTML template and one text template (crm/templates/email/event.*.j2) for the three
kinds; the words come from TEXTS in the language given (contacts have no language of
their own: the caller passes the inviting manager's language and timezone). The HTML is
built for mail clients: a table layout with inline styles, the organiser's company name
on top, the event block, two buttons (Yes / No) as links in coloured table cells.

Calendar replies: the .ics is an iTIP REQUEST (CANCEL for a cancellation) whose attendee
has RSVP=FALSE, and the email says that the buttons are the way to answer. Reading the
replies a calendar app sends would need a mailbox to read (IMAP credentials, a polling
job) and the matching of whatever address and iTIP dialect each client answers with; the
links are uniform and already tell a person from a mail scanner (see
notifications/rsvp_web.py). An update keeps the UID and raises SEQUENCE (RFC 5546).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path

from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as ICalEvent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from crm import when
from crm.models import Event

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("ru", "en")
PRODID = "-//ChatCRM//Events//EN"
KINDS = ("invitation", "update", "cancel")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "subject_invitation": "Invitation: {title}",
        "subject_update": "Changed: {title}",
        "subject_cancel": "Cancelled: {title}",
        "hello": "Hello, {name}!",
        "lead_invitation": "{organizer} invites you to an event.",
        "lead_update": "The event you were invited to has changed.",
        "lead_cancel": "We are sorry: the event you were invited to is cancelled.",
        "what_changed": "What changed:",
        "field_title": "Title",
        "field_when": "When",
        "field_place": "Place",
        "when": "When",
        "where": "Where",
        "question": "Will you come?",
        "yes": "Yes, I will come",
        "no": "No, I cannot come",
        "how_to_answer": "Please answer with these buttons: a reply from your calendar "
        "app does not reach us. You can change your answer until the event starts.",
        "calendar": "The event is attached as a calendar file (.ics).",
        "calendar_cancel": "The attached calendar file (.ics) removes it from your calendar.",
        "unsubscribe_lead": "To receive no more emails from us,",
        "unsubscribe_link": "unsubscribe",
        "unsubscribe_text": "To receive no more emails from us: {url}",
        "organizer": "Organiser: {organizer}",
    },
    "ru": {
        "subject_invitation": "Приглашение: {title}",
        "subject_update": "Изменения: {title}",
        "subject_cancel": "Отменено: {title}",
        "hello": "Здравствуйте, {name}!",
        "lead_invitation": "{organizer} приглашает вас на мероприятие.",
        "lead_update": "Мероприятие, на которое вы приглашены, изменилось.",
        "lead_cancel": "К сожалению, мероприятие, на которое вы приглашены, отменено.",
        "what_changed": "Что изменилось:",
        "field_title": "Название",
        "field_when": "Когда",
        "field_place": "Место",
        "when": "Когда",
        "where": "Где",
        "question": "Вы придёте?",
        "yes": "Да, приду",
        "no": "Нет, не смогу",
        "how_to_answer": "Пожалуйста, ответьте этими кнопками: ответ из приложения "
        "календаря до нас не доходит. Ответ можно изменить до начала мероприятия.",
        "calendar": "Мероприятие приложено файлом календаря (.ics).",
        "calendar_cancel": "Приложенный файл календаря (.ics) уберёт его из вашего календаря.",
        "unsubscribe_lead": "Чтобы больше не получать от нас писем,",
        "unsubscribe_link": "отпишитесь",
        "unsubscribe_text": "Чтобы больше не получать от нас писем: {url}",
        "organizer": "Организатор: {organizer}",
    },
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else "en"


def local_time(moment: datetime, tz: str) -> str:
    return when.to_local(moment, tz).strftime("%d.%m.%Y %H:%M")


def event_span(starts_at: datetime, ends_at: datetime | None, tz: str) -> str:
    start = local_time(starts_at, tz)
    if ends_at is None:
        return f"{start} ({tz})"
    end = local_time(ends_at, tz)
    return f"{start} – {end[-5:] if end[:10] == start[:10] else end} ({tz})"


def links(base_url: str, token: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {
        "yes_url": f"{base}/rsvp/{token}/yes",
        "no_url": f"{base}/rsvp/{token}/no",
        "unsubscribe_url": f"{base}/unsubscribe/{token}",
    }


@dataclass(frozen=True)
class Change:
    """One changed field of an event as the email shows it: field is title|when|place."""

    field: str
    old: str
    new: str


@dataclass(frozen=True)
class InvitationData:
    event: Event
    token: str
    contact_name: str
    contact_email: str
    organizer_name: str
    sender: str  # SMTP_FROM, "Name <addr>" or "addr": the ORGANIZER of the .ics
    language: str
    timezone: str
    base_url: str
    now: datetime
    company_name: str = ""
    signature: str = ""
    kind: str = "invitation"  # invitation | update | cancel
    changes: Sequence[Change] = field(default_factory=tuple)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    ics: str


def build_ics(data: InvitationData) -> str:
    """An iTIP REQUEST (CANCEL for a cancellation): one VEVENT with the event's UID and
    SEQUENCE; the attendee is asked for no calendar reply (RSVP=FALSE)."""
    event = data.event
    cancel = data.kind == "cancel"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    item = ICalEvent()
    item.add("uid", event.uid)
    item.add("sequence", event.sequence)
    item.add("dtstamp", data.now.astimezone(UTC))
    item.add("dtstart", event.starts_at.astimezone(UTC))
    if event.ends_at is not None:
        item.add("dtend", event.ends_at.astimezone(UTC))
    item.add("summary", event.title)
    if event.place:
        item.add("location", event.place)
    if event.topic:
        item.add("description", event.topic)
    name, address = parseaddr(data.sender)
    organizer = vCalAddress(f"mailto:{address or data.sender}")
    organizer.params["cn"] = vText(data.company_name or name or data.organizer_name)
    item.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{data.contact_email}")
    attendee.params["cn"] = vText(data.contact_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("FALSE")
    item.add("attendee", attendee)
    item.add("status", "CANCELLED" if cancel else "CONFIRMED")
    calendar.add_component(item)
    return calendar.to_ical().decode("utf-8")


def render_invitation(data: InvitationData) -> RenderedEmail:
    """The email of `data.kind` for one invitee: subject, text, HTML and .ics."""
    if data.kind not in KINDS:
        raise ValueError(f"unknown event email kind {data.kind!r}")
    language = language_of(data.language)
    t = TEXTS[language]
    event = data.event
    organizer = data.company_name or data.organizer_name
    context = {
        "t": t,
        "lang": language,
        "kind": data.kind,
        "hello": t["hello"].format(name=data.contact_name),
        "lead": t[f"lead_{data.kind}"].format(organizer=organizer),
        "company": data.company_name,
        "organizer_line": t["organizer"].format(organizer=data.organizer_name),
        "title": event.title,
        "when": event_span(event.starts_at, event.ends_at, data.timezone),
        "place": event.place or "",
        "topic": event.topic or "",
        "changes": [
            {"label": t[f"field_{c.field}"], "old": c.old, "new": c.new} for c in data.changes
        ],
        "signature": data.signature,
        "unsubscribe_text": t["unsubscribe_text"].format(
            url=links(data.base_url, data.token)["unsubscribe_url"]
        ),
        **links(data.base_url, data.token),
    }
    env = environment()
    return RenderedEmail(
        subject=t[f"subject_{data.kind}"].format(title=event.title)[:300],
        text=env.get_template("email/event.txt.j2").render(context),
        html=env.get_template("email/event.html.j2").render(context),
        ics=build_ics(data),
    )
