"""Mailings: a personalised email to a segment of clients, through the outbox.

The segment is chosen as for event invitees (crm.services.events.Segment: all / stage /
industry / territory / company), among the contacts the actor sees, with an email and
not opted out. The subject and the body are Jinja2 templates rendered in a SANDBOXED
environment (a template is user input: no attribute of a Python object is reachable)
with plain dicts:

    contact.name, contact.first_name, contact.position, contact.email, contact.phone
    company.name, company.industry, company.territory
    manager.name

An unknown field or a syntax error is refused before anything is written
(InvalidInput "template"). `preview` renders for the first recipient; `send_test` queues
one email to an address of the actor's choice; `send` writes the mailing, one outbox row
per recipient (its own unsubscribe link, the company's sender name and signature) and one
outgoing email interaction per contact, in one transaction. The outbox sends them at
`SMTP_RATE` like every other email.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from html import escape
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import and_, select

from crm import validation
from crm.access import Actor, can_see_owner, visible_owner
from crm.errors import AccessDenied, InvalidInput
from crm.models import Company, Contact, Interaction, Mailing, Manager, OutboundEmail, utcnow
from crm.models.enums import Direction, InteractionKind, InteractionStatus
from crm.services import company_settings, outbox
from crm.services.company_settings import MailIdentity
from crm.services.events import Segment, clean_segment
from crm.services.events.invitees import _has_email, _segment_filter
from crm.services.mail import environment, language_of, links
from crm.uow import UnitOfWork

SUBJECT_MAX = 300
BODY_MAX = 20_000
MAX_RECIPIENTS = 5_000
UNSUBSCRIBE = {
    "en": "To receive no more emails from us: {url}",
    "ru": "Чтобы больше не получать от нас писем: {url}",
}
UNSUBSCRIBE_HTML = {
    "en": ("To receive no more emails from us,", "unsubscribe"),
    "ru": ("Чтобы больше не получать от нас писем,", "отпишитесь"),
}


@dataclass(frozen=True)
class MailingInput:
    subject: str
    body: str
    segment: Segment = field(default_factory=Segment)


@dataclass(frozen=True)
class Preview:
    subject: str
    text: str
    recipients: int
    sample: str | None  # whose fields the preview shows (None: made-up fields)


@dataclass(frozen=True)
class MailingResult:
    mailing_id: int
    queued: int


@dataclass(frozen=True)
class RecipientView:
    """What the unsubscribe page of a mailing shows."""

    contact_name: str
    language: str
    opted_out: bool


@lru_cache(maxsize=1)
def sandbox() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


@dataclass(frozen=True)
class _Templates:
    subject: Any
    body: Any


def _compile(data: MailingInput) -> _Templates:
    subject = validation.text("subject", data.subject, max_len=SUBJECT_MAX)
    body = validation.text("body", data.body, max_len=BODY_MAX)
    try:
        return _Templates(sandbox().from_string(subject), sandbox().from_string(body))
    except TemplateSyntaxError as err:
        raise InvalidInput("template", "syntax", line=err.lineno, detail=err.message) from err


def check(subject: str, body: str = "{{ contact.name }}") -> None:
    """A subject (and body) as a dialog takes them, one step at a time: InvalidInput when
    too long, not parsed, or naming a field that does not exist (rendered with made-up
    fields); nothing is read or written."""
    _render(_compile(MailingInput(subject, body)), {**SAMPLE, "manager": {"name": "-"}})


def _fields(contact: Contact, company: Company | None, manager: Manager) -> dict[str, Any]:
    first = contact.name.split()[0] if contact.name.split() else contact.name
    return {
        "contact": {
            "name": contact.name,
            "first_name": first,
            "position": contact.position or "",
            "email": contact.email or "",
            "phone": contact.phone or "",
        },
        "company": {
            "name": company.name if company else "",
            "industry": (company.industry or "") if company else "",
            "territory": (company.territory or "") if company else "",
        },
        "manager": {"name": manager.name},
    }


SAMPLE = {
    "contact": {
        "name": "Ivan Petrov",
        "first_name": "Ivan",
        "position": "Director",
        "email": "ivan@example.com",
        "phone": "+79120000000",
    },
    "company": {"name": "Romashka LLC", "industry": "Retail", "territory": "Moscow"},
}


def _render(templates: _Templates, fields: dict[str, Any]) -> tuple[str, str]:
    try:
        subject = " ".join(templates.subject.render(fields).split())
        body = templates.body.render(fields)
    except UndefinedError as err:
        raise InvalidInput("template", "unknown_field", detail=err.message) from err
    except (SecurityError, TemplateError) as err:
        raise InvalidInput("template", "invalid", detail=str(err)) from err
    if not subject:
        raise InvalidInput("subject", "empty")
    return subject[:SUBJECT_MAX], body


def _compose(
    body: str, identity: MailIdentity, language: str, unsubscribe_url: str
) -> tuple[str, str]:
    """The text and HTML of one recipient's email: the body, the signature, the
    unsubscribe link."""
    footer = UNSUBSCRIBE[language_of(language)].format(url=unsubscribe_url)
    parts = [body.rstrip()]
    if identity.signature:
        parts.append(identity.signature)
    text = "\n\n".join([*parts, footer]) + "\n"
    html = (
        environment()
        .get_template("email/mailing.html.j2")
        .render(
            lang=language_of(language),
            company=identity.company_name,
            paragraphs=[p for p in (escape(x).replace("\n", "<br>") for x in parts) if p],
            footer=UNSUBSCRIBE_HTML[language_of(language)][0],
            link=UNSUBSCRIBE_HTML[language_of(language)][1],
            unsubscribe_url=unsubscribe_url,
        )
    )
    return text, html


def _recipients(actor: Actor, segment: Segment) -> Any:
    conditions = [
        visible_owner(actor, Contact.curator_id),
        _has_email(),
        Contact.email_opt_out.is_(False),
    ]
    extra = _segment_filter(segment)
    if extra is not None:
        conditions.append(extra)
    return (
        select(Contact, Company)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(and_(*conditions))
        .order_by(Contact.id)
    )


async def _check_segment(uow: UnitOfWork, actor: Actor, segment: Segment) -> Segment:
    segment = clean_segment(segment)
    if segment.kind == "company":
        company = await uow.session.get(Company, segment.value)
        if company is None or not can_see_owner(actor, company.curator):
            raise AccessDenied("company")
    return segment


async def preview(uow: UnitOfWork, actor: Actor, data: MailingInput) -> Preview:
    """The email as its first recipient would read it, and how many would receive it."""
    templates = _compile(data)
    async with uow.read_only():
        segment = await _check_segment(uow, actor, data.segment)
        manager = await uow.session.get(Manager, actor.id)
        assert manager is not None
        rows = list((await uow.session.execute(_recipients(actor, segment).limit(1))).all())
        count = len(
            list(
                await uow.session.scalars(_recipients(actor, segment).with_only_columns(Contact.id))
            )
        )
        identity = await company_settings.read_mail_identity(uow)
    if rows:
        contact, company = rows[0]
        fields, sample = _fields(contact, company, manager), contact.name
    else:
        fields, sample = {**SAMPLE, "manager": {"name": manager.name}}, None
    subject, body = _render(templates, fields)
    text, _html = _compose(body, identity, actor.language, "https://…/unsubscribe/…")
    return Preview(subject=subject, text=text, recipients=count, sample=sample)


async def send_test(
    uow: UnitOfWork,
    actor: Actor,
    data: MailingInput,
    to_addr: str,
    *,
    base_url: str,
    sender: str,
    now: datetime | None = None,
) -> bool:
    """One email to the actor's own address, rendered for the first recipient (or
    made-up fields), through the outbox; nothing is logged on any contact."""
    address = validation.email(to_addr)
    if not address:
        raise InvalidInput("email", "empty")
    templates = _compile(data)
    moment = now or utcnow()
    async with uow:
        segment = await _check_segment(uow, actor, data.segment)
        manager = await uow.session.get(Manager, actor.id)
        assert manager is not None
        row = (await uow.session.execute(_recipients(actor, segment).limit(1))).first()
        fields = (
            _fields(row[0], row[1], manager)
            if row
            else {**SAMPLE, "manager": {"name": manager.name}}
        )
        subject, body = _render(templates, fields)
        identity = await company_settings.read_mail_identity(uow)
        text, html = _compose(body, identity, actor.language, f"{base_url.rstrip('/')}/")
        queued = await outbox.queue(
            uow,
            dedupe_key=f"test:{actor.id}:{outbox.new_token()}",
            to_addr=address,
            subject=subject,
            body_text=text,
            body_html=html,
            kind="test",
            sender_name=identity.sender_name,
            domain=outbox.message_domain(sender),
            now=moment,
        )
        await uow.commit()
    return queued


async def send(
    uow: UnitOfWork,
    actor: Actor,
    data: MailingInput,
    *,
    base_url: str,
    sender: str,
    now: datetime | None = None,
) -> MailingResult:
    """Queue the mailing to every recipient of the segment and log it on each contact."""
    templates = _compile(data)
    moment = now or utcnow()
    async with uow:
        segment = await _check_segment(uow, actor, data.segment)
        manager = await uow.session.get(Manager, actor.id)
        assert manager is not None
        identity = await company_settings.read_mail_identity(uow)
        recipients = list(
            (await uow.session.execute(_recipients(actor, segment).limit(MAX_RECIPIENTS + 1))).all()
        )
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidInput("segment", "too_many", max=MAX_RECIPIENTS)
        rendered = [
            (contact, company, *_render(templates, _fields(contact, company, manager)))
            for contact, company in recipients
        ]
        mailing = Mailing(
            author_id=actor.id,
            subject=data.subject[:SUBJECT_MAX],
            body=data.body,
            segment=f"{segment.kind}:{segment.value if segment.value is not None else ''}",
            queued=0,
            created_at=moment,
        )
        uow.session.add(mailing)
        await uow.flush()
        queued = 0
        for contact, company, subject, body in rendered:
            token = outbox.new_token()
            url = links(base_url, token)["unsubscribe_url"]
            text, html = _compose(body, identity, actor.language, url)
            if not await outbox.queue(
                uow,
                dedupe_key=f"mailing:{mailing.id}:{contact.id}",
                to_addr=contact.email or "",
                subject=subject,
                body_text=text,
                body_html=html,
                kind="mailing",
                contact_id=contact.id,
                mailing_id=mailing.id,
                unsubscribe_token=token,
                sender_name=identity.sender_name,
                domain=outbox.message_domain(sender),
                now=moment,
            ):
                continue
            queued += 1
            interaction = Interaction(
                kind=InteractionKind.EMAIL.value,
                direction=Direction.OUT.value,
                status=InteractionStatus.DONE.value,
                occurred_at=moment,
                summary=subject,
                company_id=company.id if company else None,
                contact_id=contact.id,
                manager_id=actor.id,
                created_at=moment,
            )
            uow.session.add(interaction)
            await uow.flush()
            uow.audit_created(actor.id, interaction)
        mailing.queued = queued
        uow.audit_created(actor.id, mailing)
        await uow.commit()
    return MailingResult(mailing_id=mailing.id, queued=queued)


# ---------------------------------------------------------------- the client's side


async def _by_token(uow: UnitOfWork, token: str) -> tuple[Contact, Manager | None]:
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise AccessDenied("mailing")
    row = (
        await uow.session.execute(
            select(Contact, Manager)
            .join(OutboundEmail, OutboundEmail.contact_id == Contact.id)
            .outerjoin(Mailing, Mailing.id == OutboundEmail.mailing_id)
            .outerjoin(Manager, Manager.id == Mailing.author_id)
            .where(OutboundEmail.unsubscribe_token == token)
        )
    ).first()
    if row is None:
        raise AccessDenied("mailing")
    return row[0], row[1]


async def recipient(uow: UnitOfWork, token: str) -> RecipientView:
    async with uow.read_only():
        contact, author = await _by_token(uow, token)
        return RecipientView(
            contact.name, author.language if author else "en", contact.email_opt_out
        )


async def unsubscribe(uow: UnitOfWork, token: str) -> RecipientView:
    """The contact of this mailing gets no more emails (email_opt_out); idempotent."""
    async with uow:
        contact, author = await _by_token(uow, token)
        uow.apply(None, contact, email_opt_out=True)
        view = RecipientView(contact.name, author.language if author else "en", True)
        await uow.commit()
    return view
