"""The client's side of an invitation: RSVP and unsubscribe pages.

    GET  /rsvp/{token}/yes|no    shows the event as it is now and a button to confirm the
                                 answer; changes nothing (mail scanners fetch every link,
                                 with GET and HEAD)
    POST /rsvp/{token}/yes|no    records the answer (until the event starts), with a link
                                 to change it
    GET  /unsubscribe/{token}    a confirmation page with a button
    POST /unsubscribe/{token}    unsubscribes; also RFC 8058 one-click (the email's
                                 List-Unsubscribe-Post header)

Pages are in the inviting manager's language. The token is the only key and is looked up
with a bound parameter; an unknown token gets the same 404 page whatever the reason.
The pages are not cached, not indexed and send no Referer (the URL holds the token).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import utcnow
from crm.services import events, mailings
from crm.services.events import RsvpView
from crm.services.mail import event_span, language_of, links
from crm.storage import Database

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "confirm_yes": "{name}, will you come?",
        "confirm_no": "{name}, you cannot come?",
        "button_yes": "Yes, I will come",
        "button_no": "No, I cannot come",
        "current": "Your answer now: {answer}.",
        "answer_accepted": "you will come",
        "answer_declined": "you will not come",
        "cancelled": "The event is cancelled",
        "cancelled_text": "There is nothing to answer any more. We are sorry.",
        "thanks": "Thank you, {name}!",
        "yes": "We have noted that you will come.",
        "no": "We have noted that you will not come.",
        "to_no": "Changed your mind? I cannot come",
        "to_yes": "Changed your mind? I will come",
        "started": "The event has already started",
        "started_text": "The answer can no longer be changed.",
        "unsubscribe": "Unsubscribe",
        "unsubscribe_ask": "{name}, do you want to receive no more emails from us?",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed": "You are unsubscribed",
        "unsubscribed_text": "We will send no more emails to this address.",
        "not_found": "Link not found",
        "not_found_text": "This link is not valid.",
        "bad_request": "This link is not valid.",
    },
    "ru": {
        "confirm_yes": "{name}, вы придёте?",
        "confirm_no": "{name}, вы не сможете прийти?",
        "button_yes": "Да, приду",
        "button_no": "Нет, не смогу",
        "current": "Ваш ответ сейчас: {answer}.",
        "answer_accepted": "придёте",
        "answer_declined": "не придёте",
        "cancelled": "Мероприятие отменено",
        "cancelled_text": "Отвечать больше не нужно. Приносим извинения.",
        "thanks": "Спасибо, {name}!",
        "yes": "Мы отметили, что вы придёте.",
        "no": "Мы отметили, что вы не сможете прийти.",
        "to_no": "Планы изменились? Не смогу прийти",
        "to_yes": "Планы изменились? Приду",
        "started": "Мероприятие уже началось",
        "started_text": "Ответ больше нельзя изменить.",
        "unsubscribe": "Отписка",
        "unsubscribe_ask": "{name}, отписаться от наших писем?",
        "unsubscribe_button": "Отписаться",
        "unsubscribed": "Вы отписались",
        "unsubscribed_text": "Мы больше не будем присылать письма на этот адрес.",
        "not_found": "Ссылка не найдена",
        "not_found_text": "Эта ссылка недействительна.",
        "bad_request": "Эта ссылка недействительна.",
    },
}
HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # the page is its own HTML and inline style, posting to itself; nobody may frame it
    # (a framed RSVP button is a clickjacking target)
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
}


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        undefined=StrictUndefined,
    )


def _page(lang: str, status: int = 200, **context: Any) -> web.Response:
    defaults: dict[str, Any] = {
        "message": "",
        "event": None,
        "change_url": "",
        "change_text": "",
        "form_action": "",
        "button": "",
        "button_kind": "",
        "cancelled": False,
    }
    html = _env().get_template("rsvp_page.html.j2").render(lang=lang, **{**defaults, **context})
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )


def _not_found(lang: str = "en") -> web.Response:
    t = TEXTS[lang]
    return _page(lang, 404, heading=t["not_found"], message=t["not_found_text"])


def _event(view: RsvpView) -> dict[str, str]:
    event = view.event
    return {
        "title": event.title,
        "when": event_span(event.starts_at, event.ends_at, view.timezone),
        "place": event.place or "",
    }


# what the pages need of the bot's HTTP server, handed over by `install`
DATABASE = web.AppKey("rsvp_database", Database)
BASE_URL = web.AppKey("rsvp_base_url", str)


def _base(request: web.Request) -> str:
    return request.app[BASE_URL]


def _database(request: web.Request) -> Database:
    return request.app[DATABASE]


def _closed(view: RsvpView) -> web.Response | None:
    """The page of an invitation that can no longer be answered, if it cannot."""
    lang = language_of(view.language)
    t = TEXTS[lang]
    if view.cancelled:
        return _page(
            lang,
            410,
            heading=t["cancelled"],
            message=t["cancelled_text"],
            event=_event(view),
            cancelled=True,
        )
    if view.event.starts_at <= utcnow() or view.invitee.status in events.ATTENDANCE:
        return _page(lang, 409, heading=t["started"], message=t["started_text"], event=_event(view))
    return None


async def rsvp_form(request: web.Request) -> web.Response:
    """GET (and HEAD): the current event and a button that confirms; nothing recorded."""
    token, answer = request.match_info["token"], request.match_info["answer"]
    try:
        view = await events.invitation(_database(request).uow(), token)
    except AccessDenied:
        return _not_found()
    closed = _closed(view)
    if closed is not None:
        return closed
    lang = language_of(view.language)
    t = TEXTS[lang]
    status = view.invitee.status
    current = (
        t["current"].format(answer=t[f"answer_{status}"])
        if status in ("accepted", "declined")
        else ""
    )
    return _page(
        lang,
        heading=t[f"confirm_{answer}"].format(name=view.contact_name),
        message=current,
        event=_event(view),
        form_action=f"/rsvp/{token}/{answer}",
        button=t[f"button_{answer}"],
        button_kind=answer,
    )


async def rsvp(request: web.Request) -> web.Response:
    """POST: the person pressed the button; the answer is recorded."""
    token, answer = request.match_info["token"], request.match_info["answer"]
    uow = _database(request).uow()
    try:
        view = await events.respond(uow, token, answer)
    except (AccessDenied, InvalidInput):
        return _not_found()
    except Conflict:
        try:
            view = await events.invitation(_database(request).uow(), token)
        except AccessDenied:
            return _not_found()
        return _closed(view) or _not_found()
    lang = language_of(view.language)
    t = TEXTS[lang]
    other = "no" if answer == "yes" else "yes"
    base = links(_base(request), token)
    return _page(
        lang,
        heading=t["thanks"].format(name=view.contact_name),
        message=t[answer],
        event=_event(view),
        change_url=base[f"{other}_url"],
        change_text=t[f"to_{other}"],
    )


async def _recipient(request: web.Request, token: str) -> tuple[str, str, bool]:
    """(name, language, opted out) of an invitation's or a mailing's token."""
    try:
        view = await events.invitation(_database(request).uow(), token)
        return view.contact_name, view.language, view.opted_out
    except AccessDenied:
        other = await mailings.recipient(_database(request).uow(), token)
        return other.contact_name, other.language, other.opted_out


async def unsubscribe_form(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    try:
        name, language, opted_out = await _recipient(request, token)
    except AccessDenied:
        return _not_found()
    lang = language_of(language)
    t = TEXTS[lang]
    if opted_out:
        return _page(lang, heading=t["unsubscribed"], message=t["unsubscribed_text"])
    return _page(
        lang,
        heading=t["unsubscribe"],
        message=t["unsubscribe_ask"].format(name=name),
        form_action=f"/unsubscribe/{token}",
        button=t["unsubscribe_button"],
    )


async def unsubscribe(request: web.Request) -> web.Response:
    """The confirmation button, and RFC 8058 one-click from a mail client."""
    token = request.match_info["token"]
    try:
        try:
            language = (await events.unsubscribe(_database(request).uow(), token)).language
        except AccessDenied:
            language = (await mailings.unsubscribe(_database(request).uow(), token)).language
    except AccessDenied:
        return _not_found()
    lang = language_of(language)
    t = TEXTS[lang]
    return _page(lang, heading=t["unsubscribed"], message=t["unsubscribed_text"])


def install(app: web.Application, database: Database, public_base_url: str) -> None:
    """Serve the pages from `app`; their links start with `public_base_url`."""
    app[DATABASE] = database
    app[BASE_URL] = public_base_url
    app.router.add_get(r"/rsvp/{token}/{answer:(yes|no)}", rsvp_form)
    app.router.add_post(r"/rsvp/{token}/{answer:(yes|no)}", rsvp)
    app.router.add_get("/unsubscribe/{token}", unsubscribe_form)
    app.router.add_post("/unsubscribe/{token}", unsubscribe)
