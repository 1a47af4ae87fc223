"""The invitation email: subject, text and HTML from Jinja2 templates, and its .ics.

Templates live in crm/templates/email, one per language (ru, en) and format; HTML is
autoescaped. Contacts have no language of their own: the caller passes the inviting
manager's language and timezone.
"""

from __future__ import annotations

from dataclasses import dataclass
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
SUBJECTS = {"en": "Invitation: {title}", "ru": "Приглашение: {title}"}
PRODID = "-//ChatCRM//Events//EN"


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


def links(base_url: str, token: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {
        "yes_url": f"{base}/rsvp/{token}/yes",
        "no_url": f"{base}/rsvp/{token}/no",
        "unsubscribe_url": f"{base}/unsubscribe/{token}",
    }


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


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    ics: str


def build_ics(data: InvitationData) -> str:
    """An iMIP REQUEST (RFC 5546/6047): one VEVENT keeping the event's UID and SEQUENCE."""
    event = data.event
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
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
    organizer.params["cn"] = vText(name or data.organizer_name)
    item.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{data.contact_email}")
    attendee.params["cn"] = vText(data.contact_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("TRUE")
    item.add("attendee", attendee)
    item.add("status", "CONFIRMED")
    calendar.add_component(item)
    return calendar.to_ical().decode("utf-8")


def render_invitation(data: InvitationData) -> RenderedEmail:
    language = language_of(data.language)
    event = data.event
    context = {
        "name": data.contact_name,
        "organizer": data.organizer_name,
        "title": event.title,
        "starts": local_time(event.starts_at, data.timezone),
        "ends": local_time(event.ends_at or event.starts_at, data.timezone),
        "timezone": data.timezone,
        "place": event.place or "",
        "topic": event.topic or "",
        **links(data.base_url, data.token),
    }
    env = environment()
    return RenderedEmail(
        subject=SUBJECTS[language].format(title=event.title)[:300],
        text=env.get_template(f"email/invitation.{language}.txt.j2").render(context),
        html=env.get_template(f"email/invitation.{language}.html.j2").render(context),
        ics=build_ics(data),
    )
