"""Marketing events: the event, its preparation plan, invitees by segment, RSVP, attendance.

An event is visible to whoever may see its responsible manager (the manager who created
it, their head, the directors). Invitees are contacts the actor may see, with an email
and no opt-out; each gets an unguessable token (secrets.token_urlsafe) that the RSVP and
unsubscribe links carry: the client never logs in, the token is the only key.

Preparation tasks come from the default event playbook (or a built-in plan). Event steps
count BACK from the start: a step "+N days" is due at 09:00 in the responsible
manager's timezone N local days before the event's day (N = 0: 09:00 of the event's day,
or the start itself if that is earlier); a due time already past when the event is
created becomes the creation time, so a late event gets its whole plan as due now.

Invitation emails go through the outbox (`crm.services.outbox`): one row per invitee
and per version of the event (its SEQUENCE), so pressing "send" twice sends nothing twice.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, case, cast, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from crm import search, validation, when
from crm.access import Actor, can_see_owner, visible_owner
from crm.analytics.events import Outcome
from crm.analytics.events import outcome as event_outcome
from crm.db import rowcount
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import (
    Company,
    Contact,
    Event,
    EventInvitee,
    Manager,
    OutboundEmail,
    Task,
    utcnow,
)
from crm.models.enums import CompanyStage, EmailStatus, InviteeStatus, PlaybookKind, TaskStatus
from crm.services import company_settings, outbox, playbooks
from crm.services.company_settings import MailIdentity
from crm.services.mail import Change, InvitationData, render_invitation
from crm.services.tasks import mark_done
from crm.uow import UnitOfWork

TITLE_MAX = 200
PLACE_MAX = 300
TOPIC_MAX = 4000
DEFAULT_DURATION = timedelta(hours=2)
MAX_DURATION = timedelta(days=31)
PLAN_KIND = playbooks.TASK_KIND[PlaybookKind.EVENT.value]
TOKEN_BYTES = 24  # 32 characters of urlsafe base64, 192 random bits

# Used when a director has set no default event playbook: (title en, title ru, days before).
DEFAULT_PLAN: tuple[tuple[str, str, int], ...] = (
    ("Book the venue", "Забронировать площадку", 14),
    ("Send the invitations", "Разослать приглашения", 10),
    ("Call the invitees who have not answered", "Обзвонить не ответивших приглашённых", 2),
    ("Prepare the materials and the room", "Подготовить материалы и зал", 1),
)

ANSWERS = {"yes": InviteeStatus.ACCEPTED.value, "no": InviteeStatus.DECLINED.value}
ATTENDANCE = (InviteeStatus.ATTENDED.value, InviteeStatus.NO_SHOW.value)
SEGMENT_KINDS = ("all", "stage", "industry", "territory", "company")
SEGMENT_STAGES = (
    CompanyStage.POTENTIAL.value,
    CompanyStage.ONE_TIME.value,
    CompanyStage.REGULAR.value,
)


@dataclass
class EventInput:
    title: str
    when: str | None = None  # natural language in the actor's timezone, or
    starts_at: datetime | None = None  # an aware moment (a button's choice)
    place: str | None = None
    ends_at: datetime | None = None
    topic: str | None = None
    budget: Decimal | str | None = None


@dataclass(frozen=True)
class Segment:
    """Whom to invite: all / stage (potential|one_time|regular) / industry / territory /
    company (value: the company id)."""

    kind: str = "all"
    value: str | int | None = None


@dataclass
class EventView:
    event: Event
    responsible: Manager
    counts: dict[str, int]
    plan: list[Task] = field(default_factory=list)
    # the invitees by the state of their latest email: queued | sent | failed
    emails: dict[str, int] = field(default_factory=dict)
    outcome: Outcome | None = None  # once the event has started

    @property
    def invited(self) -> int:
        return sum(self.counts.values())

    @property
    def answered(self) -> int:
        """Invitees who answered (accepted or declined; attendance marks come later)."""
        return self.counts.get(InviteeStatus.ACCEPTED, 0) + self.counts.get(
            InviteeStatus.DECLINED, 0
        )

    @property
    def cancelled(self) -> bool:
        return self.event.cancelled_at is not None

    @property
    def participation_rate(self) -> float | None:
        """attended / invited, None while nobody is invited."""
        return self.counts.get(InviteeStatus.ATTENDED, 0) / self.invited if self.invited else None


@dataclass(frozen=True)
class AddResult:
    added: int
    no_email: int
    opted_out: int
    already: int

    @property
    def skipped(self) -> int:
        return self.no_email + self.opted_out + self.already


@dataclass(frozen=True)
class SendResult:
    queued: int
    already: int  # invitees whose invitation of this version is already in the outbox
    skipped: int  # opted out or without an email since they were added
    # `already` by the state of that email: "queued" (waiting in the outbox), "sent", "failed"
    earlier: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class InviteeRow:
    invitee: EventInvitee
    contact_name: str
    email: str | None
    company_name: str | None


@dataclass(frozen=True)
class RsvpView:
    """What the RSVP and unsubscribe pages show (the client's side, no access check)."""

    event: Event
    invitee: EventInvitee
    contact_name: str
    language: str
    timezone: str
    opted_out: bool

    @property
    def cancelled(self) -> bool:
        return self.event.cancelled_at is not None


# ---------------------------------------------------------------- input checks


def _when(data: EventInput, actor: Actor, now: datetime) -> datetime:
    if data.starts_at is not None:
        if data.starts_at.tzinfo is None:
            raise InvalidInput("when", "unparsed")
        if data.starts_at <= now:
            raise InvalidInput("when", "past")
        return data.starts_at
    return when.parse_when(data.when or "", actor.timezone, now)


def clean(data: EventInput, actor: Actor, now: datetime) -> dict[str, Any]:
    """Validated values of a new event; raises InvalidInput before anything is written."""
    title = validation.text("title", data.title, max_len=TITLE_MAX)
    starts_at = _when(data, actor, now)
    ends_at = data.ends_at or starts_at + DEFAULT_DURATION
    if ends_at.tzinfo is None:
        raise InvalidInput("ends_at", "invalid")
    if not starts_at < ends_at <= starts_at + MAX_DURATION:
        raise InvalidInput("ends_at", "invalid")
    return {
        "title": title,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "place": validation.optional_text("place", data.place, max_len=PLACE_MAX),
        "topic": validation.optional_text("topic", data.topic, max_len=TOPIC_MAX),
        "budget": validation.money("budget", data.budget, allow_none=True),
    }


def clean_segment(segment: Segment) -> Segment:
    kind = str(segment.kind or "").strip().lower()
    if kind not in SEGMENT_KINDS:
        raise InvalidInput("segment", "unknown_value", allowed=list(SEGMENT_KINDS))
    value = segment.value
    if kind == "all":
        return Segment("all")
    if kind == "stage":
        value = str(value or "").strip().lower()
        if value not in SEGMENT_STAGES:
            raise InvalidInput("stage", "unknown_value", allowed=list(SEGMENT_STAGES))
        return Segment(kind, value)
    if kind == "company":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput("company", "empty")
        return Segment(kind, value)
    return Segment(kind, validation.text(kind, str(value or ""), max_len=validation.SHORT_MAX))


# ---------------------------------------------------------------- access and loading


def scope(actor: Actor) -> ColumnElement[bool]:
    return visible_owner(actor, Event.responsible_id)


async def _load(uow: UnitOfWork, actor: Actor, event_id: int, *, lock: bool = False) -> Event:
    event = await uow.session.get(Event, event_id, with_for_update=lock or None)
    if event is None:
        raise AccessDenied("event")
    responsible = await uow.session.get(Manager, event.responsible_id)
    if responsible is None or not can_see_owner(actor, responsible):
        raise AccessDenied("event")
    return event


async def _counts(uow: UnitOfWork, event_id: int) -> dict[str, int]:
    rows = await uow.session.execute(
        select(EventInvitee.status, func.count(EventInvitee.id))
        .where(EventInvitee.event_id == event_id)
        .group_by(EventInvitee.status)
    )
    return {status: int(n) for status, n in rows}


async def _plan(uow: UnitOfWork, event_id: int) -> list[Task]:
    rows = await uow.session.scalars(
        select(Task).where(Task.event_id == event_id).order_by(Task.due_at, Task.id)
    )
    return list(rows)


QUEUED = (EmailStatus.PENDING.value, EmailStatus.SENDING.value)
# an email's status as the user is told it: waiting in the outbox, sent, or failed
EMAIL_STATE = {
    EmailStatus.PENDING.value: "queued",
    EmailStatus.SENDING.value: "queued",
    EmailStatus.SENT.value: "sent",
    EmailStatus.FAILED.value: "failed",
}


async def email_counts(uow: UnitOfWork, event_id: int) -> dict[str, int]:
    """The invitees of an event by the state of their latest email: queued, sent, failed
    (emails superseded by a newer version of the event are not counted)."""
    latest = (
        select(func.max(OutboundEmail.id).label("id"))
        .where(
            OutboundEmail.event_id == event_id,
            OutboundEmail.invitee_id.is_not(None),
            OutboundEmail.status != EmailStatus.CANCELLED.value,
        )
        .group_by(OutboundEmail.invitee_id)
        .subquery()
    )
    rows = await uow.session.execute(
        select(OutboundEmail.status, func.count(OutboundEmail.id))
        .join(latest, latest.c.id == OutboundEmail.id)
        .group_by(OutboundEmail.status)
    )
    result = {"queued": 0, "sent": 0, "failed": 0}
    for status, n in rows:
        key = "queued" if status in QUEUED else status
        if key in result:
            result[key] += int(n)
    return result


async def _view(uow: UnitOfWork, event: Event) -> EventView:
    responsible = await uow.session.get(Manager, event.responsible_id)
    assert responsible is not None
    return EventView(
        event=event,
        responsible=responsible,
        counts=await _counts(uow, event.id),
        plan=await _plan(uow, event.id),
        emails=await email_counts(uow, event.id),
        outcome=await event_outcome(uow, event) if event.starts_at <= utcnow() else None,
    )


async def get(uow: UnitOfWork, actor: Actor, event_id: int) -> EventView:
    """The event card; AccessDenied alike if it is absent or out of the actor's reach."""
    async with uow.read_only():
        return await _view(uow, await _load(uow, actor, event_id))


async def list_upcoming(
    uow: UnitOfWork,
    actor: Actor,
    *,
    now: datetime | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[Event], int]:
    """A page of the events the actor sees that have not ended yet, soonest first."""
    moment = now or utcnow()
    conditions = [scope(actor), func.coalesce(Event.ends_at, Event.starts_at) > moment]
    async with uow.read_only():
        total = await uow.session.scalar(select(func.count(Event.id)).where(*conditions))
        rows = await uow.session.scalars(
            select(Event)
            .where(*conditions)
            .order_by(Event.starts_at, Event.id)
            .offset(max(offset, 0))
            .limit(max(min(limit, 100), 1))
        )
        return list(rows), int(total or 0)


RECENT_DAYS = 14


async def list_recent(
    uow: UnitOfWork,
    actor: Actor,
    *,
    now: datetime | None = None,
    days: int = RECENT_DAYS,
    limit: int = 5,
) -> list[Event]:
    """The events the actor sees that ended in the last `days` days, latest first: they
    drop out of `list_upcoming` but still need their attendance marked."""
    moment = now or utcnow()
    ended = func.coalesce(Event.ends_at, Event.starts_at)
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(Event)
            .where(scope(actor), ended <= moment, ended > moment - timedelta(days=days))
            .order_by(Event.starts_at.desc(), Event.id.desc())
            .limit(max(min(limit, 100), 1))
        )
        return list(rows)


# ---------------------------------------------------------------- creating


def plan_due(starts_at: datetime, days_before: int, tz: str, created: datetime) -> datetime:
    """09:00 local N days before the event's local day; never after the start. A step
    whose day has already gone by when the event is made falls due at the next working
    hour (never after the start): it is work to do now, not a task late from birth."""
    local_day = when.to_local(starts_at, tz).date() - timedelta(days=days_before)
    naive = datetime.combine(local_day, when.DEFAULT_TIME)
    try:
        due = when.localise(naive, when.zone_of(tz))
    except InvalidInput as err:  # 09:00 inside a DST change: take the later reading
        due = err.params["options"][-1]
    if due <= created:
        due = when.next_working_hour(created, tz)
    return min(due, starts_at)


def _default_steps(language: str) -> list[tuple[str, int]]:
    return [(ru if language == "ru" else en, days) for en, ru, days in DEFAULT_PLAN]


async def create(
    uow: UnitOfWork, actor: Actor, data: EventInput, *, now: datetime | None = None
) -> EventView:
    """Create an event (the actor is responsible) with its preparation tasks."""
    created = now or utcnow()
    values = clean(data, actor, created)
    async with uow:
        event = Event(
            **values,
            uid=f"{uuid.uuid4()}@chatcrm",
            sequence=0,
            responsible_id=actor.id,
            created_at=created,
        )
        uow.session.add(event)
        await uow.flush()
        uow.audit_created(actor.id, event)
        steps = await playbooks.plan_steps(uow, PlaybookKind.EVENT.value)
        if steps is None:  # no events playbook set up by a director: the built-in plan
            steps = _default_steps(actor.language)
        tasks = [
            Task(
                title=title,
                due_at=plan_due(event.starts_at, days, actor.timezone, created),
                assignee_id=actor.id,
                created_by_id=actor.id,
                status=TaskStatus.OPEN.value,
                kind=PLAN_KIND,
                event_id=event.id,
                reminded_late=False,
                snooze_count=0,
                created_at=created,
            )
            for title, days in steps
        ]
        uow.session.add_all(tasks)
        await uow.flush()
        for task in tasks:
            uow.audit_created(actor.id, task)
        view = await _view(uow, event)
        await uow.commit()
    return view


# ---------------------------------------------------------------- invitees


def _segment_filter(segment: Segment) -> ColumnElement[bool] | None:
    if segment.kind == "all":
        return None
    if segment.kind == "company":
        return Contact.company_id == segment.value
    column = {"stage": Company.stage, "industry": Company.industry, "territory": Company.territory}
    target = column[segment.kind]
    if segment.kind == "stage":
        return target == segment.value
    value = str(segment.value)
    # exact (a button's value, any script) or ASCII case-insensitive (SQLite's lower())
    return or_(target == value, func.lower(target) == value.lower())


def _has_email() -> ColumnElement[bool]:
    return and_(Contact.email.is_not(None), Contact.email != "")


def _invited_already(event_id: int) -> ColumnElement[bool]:
    return (
        select(EventInvitee.id)
        .where(EventInvitee.event_id == event_id, EventInvitee.contact_id == Contact.id)
        .exists()
    )


def _tokens_table(dialect: str, count: int) -> Any:
    """(rn, token): `count` fresh tokens as a table, passed as ONE JSON parameter."""
    tokens = json.dumps([secrets.token_urlsafe(TOKEN_BYTES) for _ in range(count)])
    if dialect == "postgresql":
        fn = func.json_array_elements_text(cast(literal(tokens, Text()), postgresql.JSON))
        table = fn.table_valued("value", with_ordinality="rn").render_derived(name="tokens")
        return select(table.c.rn.label("rn"), table.c.value.label("token")).subquery("tokens")
    each = func.json_each(tokens).table_valued("key", "value")
    return select((each.c.key + 1).label("rn"), each.c.value.label("token")).subquery("tokens")


async def add_invitees(
    uow: UnitOfWork,
    actor: Actor,
    event_id: int,
    segment: Segment,
    *,
    now: datetime | None = None,
) -> AddResult:
    """Invite the contacts of a segment the actor may see: with an email, not opted out,
    not invited yet. One INSERT … SELECT; adding again adds nobody twice."""
    segment = clean_segment(segment)
    moment = now or utcnow()
    async with uow:
        event = await _load(uow, actor, event_id, lock=True)
        _still_open(event, moment)
        if segment.kind == "company":
            company = await uow.session.get(Company, segment.value)
            if company is None or not can_see_owner(actor, company.curator):
                raise AccessDenied("company")
        conditions: list[ColumnElement[bool]] = [visible_owner(actor, Contact.curator_id)]
        extra = _segment_filter(segment)
        if extra is not None:
            conditions.append(extra)
        base = select(Contact.id).outerjoin(Company, Company.id == Contact.company_id)
        already = _invited_already(event.id)
        eligible = and_(_has_email(), Contact.email_opt_out.is_(False))
        totals = (
            await uow.session.execute(
                select(
                    func.count(Contact.id),
                    func.sum(case((~_has_email(), 1), else_=0)),
                    func.sum(
                        case((and_(_has_email(), Contact.email_opt_out.is_(True)), 1), else_=0)
                    ),
                    func.sum(case((and_(eligible, already), 1), else_=0)),
                )
                .select_from(Contact)
                .outerjoin(Company, Company.id == Contact.company_id)
                .where(*conditions)
            )
        ).one()
        total, no_email, opted_out, invited = (int(v or 0) for v in totals)
        wanted = total - no_email - opted_out - invited
        added = 0
        if wanted > 0:
            dialect = uow.session.get_bind().dialect.name
            candidates = (
                base.add_columns(func.row_number().over(order_by=Contact.id).label("rn"))
                .where(*conditions, eligible, ~already)
                .subquery("candidates")
            )
            tokens = _tokens_table(dialect, wanted)
            rows = select(
                literal(event.id, EventInvitee.event_id.type).label("event_id"),
                candidates.c.id,
                literal(InviteeStatus.INVITED.value, EventInvitee.status.type).label("status"),
                tokens.c.token,
                literal(moment, EventInvitee.invited_at.type).label("invited_at"),
            ).join_from(candidates, tokens, tokens.c.rn == candidates.c.rn)
            module: Any = postgresql if dialect == "postgresql" else sqlite
            stmt = (
                module.insert(EventInvitee)
                .from_select(["event_id", "contact_id", "status", "token", "invited_at"], rows)
                .on_conflict_do_nothing()
            )
            result = await uow.session.execute(stmt)
            added = max(rowcount(result), 0)
        if added:
            uow.audit(
                actor.id,
                event,
                "invite",
                {"invitees": [None, added], "segment": [None, f"{segment.kind}:{segment.value}"]},
            )
        await uow.commit()
    return AddResult(
        added=added,
        no_email=no_email,
        opted_out=opted_out,
        already=invited + (wanted - added if wanted > added else 0),
    )


async def segment_values(uow: UnitOfWork, actor: Actor, kind: str, limit: int = 50) -> list[str]:
    """The industries or territories of the companies the actor sees (for buttons)."""
    if kind not in ("industry", "territory"):
        raise InvalidInput("segment", "unknown_value", allowed=["industry", "territory"])
    column = Company.industry if kind == "industry" else Company.territory
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(column)
            .where(visible_owner(actor, Company.curator_id), column.is_not(None), column != "")
            .group_by(column)
            .order_by(column)
            .limit(max(min(limit, 100), 1))
        )
        return [str(v) for v in rows]


async def segment_companies(
    uow: UnitOfWork, actor: Actor, *, offset: int = 0, limit: int = 10, name: str = ""
) -> tuple[list[tuple[int, str]], int]:
    """A page of the companies the actor sees that have a contact with an email (whose
    name contains `name`, when given)."""
    with_email = select(Contact.id).where(Contact.company_id == Company.id, _has_email()).exists()
    conditions = [visible_owner(actor, Company.curator_id), with_email]
    key = search.normalise(name[:200]) if name else ""
    if key:
        conditions.append(Company.name_key.contains(key, autoescape=True))
    async with uow.read_only():
        total = await uow.session.scalar(select(func.count(Company.id)).where(*conditions))
        rows = await uow.session.execute(
            select(Company.id, Company.name)
            .where(*conditions)
            .order_by(Company.name_key, Company.id)
            .offset(max(offset, 0))
            .limit(max(min(limit, 100), 1))
        )
        return [(int(i), str(n)) for i, n in rows], int(total or 0)


async def list_invitees(
    uow: UnitOfWork,
    actor: Actor,
    event_id: int,
    *,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[InviteeRow], int]:
    async with uow.read_only():
        await _load(uow, actor, event_id)
        total = await uow.session.scalar(
            select(func.count(EventInvitee.id)).where(EventInvitee.event_id == event_id)
        )
        rows = await uow.session.execute(
            select(EventInvitee, Contact.name, Contact.email, Company.name)
            .join(Contact, Contact.id == EventInvitee.contact_id)
            .outerjoin(Company, Company.id == Contact.company_id)
            .where(EventInvitee.event_id == event_id)
            .order_by(Contact.name, EventInvitee.id)
            .offset(max(offset, 0))
            .limit(max(min(limit, 100), 1))
        )
        items = [
            InviteeRow(invitee=i, contact_name=n, email=e, company_name=c) for i, n, e, c in rows
        ]
    return items, int(total or 0)


# ---------------------------------------------------------------- invitations


def dedupe_key(event: Event, invitee_id: int, kind: str = "invitation") -> str:
    tag = {"invitation": "inv", "update": "upd", "cancel": "cxl"}[kind]
    return f"event:{event.id}:{tag}:{invitee_id}:seq:{event.sequence}"


def _still_open(event: Event, moment: datetime) -> None:
    if event.cancelled_at is not None:
        raise Conflict("event_cancelled")
    if event.starts_at <= moment:
        raise Conflict("event_started")


@dataclass(frozen=True)
class _Mailer:
    """What every email of one service call shares."""

    actor: Actor
    identity: MailIdentity
    base_url: str
    sender: str
    now: datetime


async def _queue_event_email(
    uow: UnitOfWork,
    mailer: _Mailer,
    event: Event,
    invitee: EventInvitee,
    contact: Contact,
    kind: str,
    changes: tuple[Change, ...] = (),
) -> bool:
    assert contact.email
    message = render_invitation(
        InvitationData(
            event=event,
            token=invitee.token,
            contact_name=contact.name,
            contact_email=contact.email,
            organizer_name=mailer.actor.name,
            sender=mailer.sender,
            language=mailer.actor.language,
            timezone=mailer.actor.timezone,
            base_url=mailer.base_url,
            now=mailer.now,
            company_name=mailer.identity.company_name,
            signature=mailer.identity.signature,
            kind=kind,
            changes=changes,
        )
    )
    return await outbox.queue(
        uow,
        dedupe_key=dedupe_key(event, invitee.id, kind),
        to_addr=contact.email,
        subject=message.subject,
        body_text=message.text,
        body_html=message.html,
        ics=message.ics,
        kind=kind,
        event_id=event.id,
        invitee_id=invitee.id,
        contact_id=contact.id,
        sender_name=mailer.identity.sender_name,
        domain=outbox.message_domain(mailer.sender),
        now=mailer.now,
    )


async def send_invitations(
    uow: UnitOfWork,
    actor: Actor,
    event_id: int,
    *,
    base_url: str,
    sender: str,
    now: datetime | None = None,
) -> SendResult:
    """Queue one invitation email per invitee not yet sent this version of the event.

    The texts are in the inviting manager's (the actor's) language and timezone.
    """
    moment = now or utcnow()
    async with uow:
        event = await _load(uow, actor, event_id, lock=True)
        _still_open(event, moment)
        mailer = _Mailer(
            actor, await company_settings.read_mail_identity(uow), base_url, sender, moment
        )
        prefix = f"event:{event.id}:inv:"
        sent_keys = {
            key: EMAIL_STATE.get(status, "queued")
            for key, status in await uow.session.execute(
                select(OutboundEmail.dedupe_key, OutboundEmail.status).where(
                    OutboundEmail.dedupe_key.like(f"{prefix}%")
                )
            )
        }
        rows = await uow.session.execute(
            select(EventInvitee, Contact)
            .join(Contact, Contact.id == EventInvitee.contact_id)
            .where(
                EventInvitee.event_id == event.id,
                EventInvitee.status.not_in(ATTENDANCE),
            )
            .order_by(EventInvitee.id)
        )
        queued = already = skipped = 0
        earlier = {"queued": 0, "sent": 0, "failed": 0}
        for invitee, contact in rows:
            state = sent_keys.get(dedupe_key(event, invitee.id))
            if state is not None:
                already += 1
                earlier[state] += 1
                continue
            if not contact.email or contact.email_opt_out:
                skipped += 1
                continue
            if await _queue_event_email(uow, mailer, event, invitee, contact, "invitation"):
                queued += 1
            else:  # queued meanwhile by another press
                already += 1
                earlier["queued"] += 1
        if queued:
            uow.audit(
                actor.id,
                event,
                "send",
                {"invitations": [None, queued], "sequence": [None, event.sequence]},
            )
            step = await _invitations_step(uow, event)
            if step is not None:
                mark_done(uow, actor, step, moment)
        await uow.commit()
    return SendResult(queued=queued, already=already, skipped=skipped, earlier=earlier)


async def _invitations_step(uow: UnitOfWork, event: Event) -> Task | None:
    """The event's open built-in plan step "Send the invitations" (in either language)."""
    en, ru, _days = DEFAULT_PLAN[1]  # ("Send the invitations", "Разослать приглашения")
    return (
        await uow.session.scalars(
            select(Task)
            .where(
                Task.event_id == event.id,
                Task.kind == PLAN_KIND,
                Task.status == TaskStatus.OPEN.value,
                Task.title.in_((en, ru)),
            )
            .order_by(Task.id)
            .limit(1)
            .with_for_update(of=Task)
        )
    ).first()


# ---------------------------------------------------------------- the client's answers


async def _by_token(uow: UnitOfWork, token: str, *, lock: bool = False) -> EventInvitee:
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise AccessDenied("invitation")
    stmt = select(EventInvitee).where(EventInvitee.token == token)
    if lock:
        stmt = stmt.with_for_update()
    invitee = (await uow.session.scalars(stmt)).first()
    if invitee is None:
        raise AccessDenied("invitation")
    return invitee


async def _rsvp_view(uow: UnitOfWork, invitee: EventInvitee) -> RsvpView:
    event = await uow.session.get(Event, invitee.event_id)
    contact = await uow.session.get(Contact, invitee.contact_id)
    assert event is not None and contact is not None
    inviter = await uow.session.get(Manager, event.responsible_id)
    assert inviter is not None
    return RsvpView(
        event=event,
        invitee=invitee,
        contact_name=contact.name,
        language=inviter.language,
        timezone=inviter.timezone,
        opted_out=contact.email_opt_out,
    )


async def invitation(uow: UnitOfWork, token: str) -> RsvpView:
    """The invitation a token opens, read only; AccessDenied for an unknown token."""
    async with uow.read_only():
        return await _rsvp_view(uow, await _by_token(uow, token))


async def respond(
    uow: UnitOfWork, token: str, answer: str, *, now: datetime | None = None
) -> RsvpView:
    """The client's one-click answer: "yes" → accepted, "no" → declined.

    The same answer again changes nothing; another answer replaces it until the event
    starts; afterwards, and for an unknown token, the answer is refused.
    """
    status = ANSWERS.get(str(answer).lower())
    if status is None:
        raise InvalidInput("answer", "unknown_value", allowed=list(ANSWERS))
    moment = now or utcnow()
    async with uow:
        invitee = await _by_token(uow, token, lock=True)
        event = await uow.session.get(Event, invitee.event_id)
        assert event is not None
        if event.cancelled_at is not None:
            raise Conflict("event_cancelled")
        if event.starts_at <= moment or invitee.status in ATTENDANCE:
            raise Conflict("event_started")
        if invitee.status != status:
            uow.apply(None, invitee, status=status, responded_at=moment)
        view = await _rsvp_view(uow, invitee)
        await uow.commit()
    return view


async def unsubscribe(uow: UnitOfWork, token: str) -> RsvpView:
    """The contact of this invitation gets no more emails (email_opt_out); idempotent."""
    async with uow:
        invitee = await _by_token(uow, token)
        contact = await uow.session.get(Contact, invitee.contact_id)
        assert contact is not None
        uow.apply(None, contact, email_opt_out=True)
        view = await _rsvp_view(uow, invitee)
        await uow.commit()
    return view


# ---------------------------------------------------------------- attendance


async def mark_attendance(
    uow: UnitOfWork,
    actor: Actor,
    event_id: int,
    invitee_id: int,
    attended: bool,
    *,
    now: datetime | None = None,
) -> EventInvitee:
    """After the start, the responsible manager (or their head, a director) marks an
    invitee attended or no-show; marking again corrects it."""
    moment = now or utcnow()
    async with uow:
        event = await _load(uow, actor, event_id)
        if event.starts_at > moment:
            raise Conflict("event_not_started")
        invitee = await uow.session.get(EventInvitee, invitee_id, with_for_update=True)
        if invitee is None or invitee.event_id != event.id:
            raise AccessDenied("invitee")
        target = InviteeStatus.ATTENDED.value if attended else InviteeStatus.NO_SHOW.value
        uow.apply(actor.id, invitee, status=target)
        await uow.commit()
    return invitee


__all__ = [
    "AddResult",
    "EventInput",
    "EventView",
    "InviteeRow",
    "RsvpView",
    "Segment",
    "SendResult",
    "add_invitees",
    "create",
    "get",
    "invitation",
    "list_invitees",
    "list_recent",
    "list_upcoming",
    "mark_attendance",
    "respond",
    "send_invitations",
    "unsubscribe",
]
