"""Interactions: the history of calls, meetings, emails, messages and visits.

An interaction is about a company, a contact or a deal (any of them); the company
is taken from the contact or the deal when not given, so that the company's
history is complete whatever was named. The whole history of a company stays
readable by whoever curates it now, whoever logged each entry.

Planning: `log_at` takes the moment the user named (`resolve_when` reads it in natural
language): a moment in the future makes the interaction PLANNED then, one in the past logs
it DONE then (backdating). A planned interaction gets ONE reminder at its time: an open
Task of kind "interaction" for its manager, pointing at it (`Task.interaction_id`) and
linked to its company/contact/deal, created in the same transaction. Marking the
interaction done closes that reminder; moving it moves the reminder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from crm import validation, when
from crm.access import Actor, visible_owner
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import Company, Deal, Interaction, Task, utcnow
from crm.models.enums import Direction, InteractionKind, InteractionStatus, TaskStatus
from crm.services import companies, contacts
from crm.uow import UnitOfWork

FUTURE_TOLERANCE = timedelta(minutes=10)
PLANNED_MAX = 100
REMINDER_KIND = "interaction"
REMINDER_TITLE_MAX = 500


@dataclass
class InteractionInput:
    kind: str
    direction: str
    status: str = InteractionStatus.DONE.value
    occurred_at: datetime | None = None
    summary: str | None = None
    company_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    reminder_title: str | None = None  # the planned one's reminder, in the user's language


def resolve_when(text: str, tz: str, now: datetime | None = None) -> datetime:
    """The moment `text` names in natural language (crm.when), in the past as well.

    Raises InvalidInput("when", "unparsed") or InvalidInput("when", "ambiguous") (with
    `options` when crm.when offers some) to be asked back."""
    now = now or utcnow()
    try:
        return when.parse_when(text, tz, now)
    except InvalidInput as err:
        if err.field != "when" or err.reason != "past":
            raise
        at = err.params.get("at")
        if not isinstance(at, datetime):
            # every reading passed ("в 5" in the evening: 05:00 or 17:00?): ask back
            raise InvalidInput("when", "ambiguous") from None
        if at <= now:
            return at
        # a day and month without a year rolled a year ahead ("20.11" said on 23.11)
        zone = when.zone_of(tz)
        local = at.astimezone(zone).replace(tzinfo=None)
        try:
            back = when.localise(local.replace(year=local.year - 1), zone)
        except ValueError:  # 29.02
            raise InvalidInput("when", "unparsed") from None
        if back > now:
            raise InvalidInput("when", "ambiguous") from None
        return back


def aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(field, "naive_datetime")
    return value.astimezone(UTC)


def clean(data: InteractionInput, now: datetime) -> dict[str, object]:
    """Validated column values; raises InvalidInput before anything is written."""
    kind = validation.choice("kind", data.kind, InteractionKind)
    direction = validation.choice("direction", data.direction, Direction)
    status = validation.choice("status", data.status, InteractionStatus)
    occurred_at = now if data.occurred_at is None else aware("occurred_at", data.occurred_at)
    if status is InteractionStatus.DONE and occurred_at > now + FUTURE_TOLERANCE:
        raise InvalidInput("occurred_at", "in_future")
    summary = validation.optional_text("summary", data.summary, validation.TEXT_MAX)
    if data.company_id is None and data.contact_id is None and data.deal_id is None:
        raise InvalidInput("subject", "empty")
    return {
        "kind": kind.value,
        "direction": direction.value,
        "status": status.value,
        "occurred_at": occurred_at,
        "summary": summary or "",
    }


async def visible_deal(uow: UnitOfWork, actor: Actor, deal_id: int) -> Deal:
    deal = await uow.session.scalar(
        select(Deal).where(Deal.id == deal_id, visible_owner(actor, Deal.curator_id))
    )
    if deal is None:
        raise AccessDenied("deal")
    return deal


async def _subjects(
    uow: UnitOfWork,
    actor: Actor,
    company_id: int | None,
    contact_id: int | None,
    deal_id: int | None,
) -> dict[str, int | None]:
    """Check every subject named is visible and that they agree on the company."""
    derived: int | None = None
    if deal_id is not None:
        derived = (await visible_deal(uow, actor, deal_id)).company_id
    if contact_id is not None:
        contact = await contacts.get(uow, actor, contact_id)
        if derived is None:
            derived = contact.company_id
        elif contact.company_id not in (None, derived):
            raise InvalidInput("contact_id", "other_company")
    if company_id is not None:
        await companies.get(uow, actor, company_id)
        if derived is not None and derived != company_id:
            raise InvalidInput("company_id", "other_company")
        derived = company_id
    return {"company_id": derived, "contact_id": contact_id, "deal_id": deal_id}


async def _touch_company(uow: UnitOfWork, company_id: int | None, at: datetime) -> None:
    """Company.last_interaction_at = max(itself, at), in SQL so that concurrent logs agree."""
    if company_id is None:
        return
    await uow.session.execute(
        update(Company)
        .where(
            Company.id == company_id,
            or_(Company.last_interaction_at.is_(None), Company.last_interaction_at < at),
        )
        .values(last_interaction_at=at)
        .execution_options(synchronize_session="fetch")
    )


async def log(uow: UnitOfWork, actor: Actor, data: InteractionInput) -> Interaction:
    values = clean(data, utcnow())
    async with uow:
        subjects = await _subjects(uow, actor, data.company_id, data.contact_id, data.deal_id)
        interaction = Interaction(**values, **subjects, manager_id=actor.id)
        uow.session.add(interaction)
        await uow.flush()
        uow.audit_created(actor.id, interaction)
        if interaction.status == InteractionStatus.DONE:
            await _touch_company(uow, interaction.company_id, interaction.occurred_at)
        else:
            await _add_reminder(uow, actor, interaction, data.reminder_title)
        await uow.commit()
    return interaction


async def log_at(
    uow: UnitOfWork,
    actor: Actor,
    data: InteractionInput,
    at: datetime | None,
    *,
    now: datetime | None = None,
) -> Interaction:
    """Log at the moment the user named: later than now is PLANNED then (with its
    reminder), else DONE then; None is done now."""
    now = now or utcnow()
    if at is None:
        data.status, data.occurred_at = InteractionStatus.DONE.value, None
    else:
        moment = aware("occurred_at", at)
        planned = moment > now
        data.status = (InteractionStatus.PLANNED if planned else InteractionStatus.DONE).value
        data.occurred_at = moment
    return await log(uow, actor, data)


async def log_when(
    uow: UnitOfWork,
    actor: Actor,
    data: InteractionInput,
    when_text: str | None,
    *,
    now: datetime | None = None,
) -> Interaction:
    """`log_at` with the moment in natural language in the actor's timezone (None: now).

    A time that cannot be read raises InvalidInput("when", ...) and writes nothing."""
    now = now or utcnow()
    at = None if when_text is None else resolve_when(when_text, actor.timezone, now)
    return await log_at(uow, actor, data, at, now=now)


def _default_reminder_title(interaction: Interaction) -> str:
    head = f"{interaction.kind} ({interaction.direction})"
    return f"{head}: {interaction.summary}" if interaction.summary else head


async def _add_reminder(
    uow: UnitOfWork, actor: Actor, interaction: Interaction, title: str | None
) -> Task:
    """Within the open transaction: the one reminder of a planned interaction, audited."""
    text = " ".join((title or "").split()) or _default_reminder_title(interaction)
    if len(text) > REMINDER_TITLE_MAX:
        text = text[: REMINDER_TITLE_MAX - 1] + "…"
    task = Task(
        title=text,
        due_at=interaction.occurred_at,
        assignee_id=actor.id,
        created_by_id=actor.id,
        status=TaskStatus.OPEN.value,
        kind=REMINDER_KIND,
        interaction_id=interaction.id,
        company_id=interaction.company_id,
        contact_id=interaction.contact_id,
        deal_id=interaction.deal_id,
        reminded_late=False,
        snooze_count=0,
        created_at=utcnow(),
    )
    uow.session.add(task)
    await uow.flush()
    uow.audit_created(actor.id, task)
    return task


async def _open_reminders(uow: UnitOfWork, interaction: Interaction) -> list[Task]:
    rows = await uow.session.scalars(
        select(Task).where(
            Task.interaction_id == interaction.id, Task.status == TaskStatus.OPEN.value
        )
    )
    return list(rows)


async def _visible(uow: UnitOfWork, actor: Actor, interaction_id: int) -> Interaction:
    """The interaction if the actor may see whoever logged it; else AccessDenied, as if
    it did not exist."""
    interaction = await uow.session.scalar(
        select(Interaction).where(
            Interaction.id == interaction_id, visible_owner(actor, Interaction.manager_id)
        )
    )
    if interaction is None:
        raise AccessDenied("interaction")
    return interaction


def _require_planned(interaction: Interaction) -> None:
    if interaction.status != InteractionStatus.PLANNED.value:
        raise Conflict("interaction_not_planned")


async def get(uow: UnitOfWork, actor: Actor, interaction_id: int) -> Interaction:
    """One interaction, to show it or its card; someone else's raises AccessDenied."""
    async with uow.read_only():
        return await _visible(uow, actor, interaction_id)


async def complete(
    uow: UnitOfWork,
    actor: Actor,
    interaction_id: int,
    summary: str | None = None,
    occurred_at: datetime | None = None,
) -> Interaction:
    """Mark a planned interaction done (at the time given, else the planned time if past).

    One already done raises Conflict("interaction_not_planned") and changes nothing."""
    now = utcnow()
    when = None if occurred_at is None else aware("occurred_at", occurred_at)
    if when is not None and when > now + FUTURE_TOLERANCE:
        raise InvalidInput("occurred_at", "in_future")
    text = validation.optional_text("summary", summary, validation.TEXT_MAX)
    async with uow:
        interaction = await _visible(uow, actor, interaction_id)
        _require_planned(interaction)
        values: dict[str, object] = {
            "status": InteractionStatus.DONE.value,
            "occurred_at": when or min(interaction.occurred_at, now),
        }
        if text is not None:
            values["summary"] = text
        if uow.apply(actor.id, interaction, **values):
            await _touch_company(uow, interaction.company_id, interaction.occurred_at)
        for task in await _open_reminders(uow, interaction):  # it took place: no reminder
            uow.apply(actor.id, task, status=TaskStatus.DONE.value, done_at=now)
        await uow.commit()
    return interaction


async def reschedule(
    uow: UnitOfWork,
    actor: Actor,
    interaction_id: int,
    at: datetime,
    *,
    now: datetime | None = None,
) -> Interaction:
    """Move a planned interaction to another time (not in the past); audited.

    Someone else's raises AccessDenied, one already done Conflict; nothing is written."""
    moment = aware("when", at)
    if moment < (now or utcnow()):
        raise InvalidInput("when", "past", at=moment)
    async with uow:
        interaction = await _visible(uow, actor, interaction_id)
        _require_planned(interaction)
        uow.apply(actor.id, interaction, occurred_at=moment)
        for task in await _open_reminders(uow, interaction):  # the reminder moves along
            uow.apply(actor.id, task, due_at=moment, reminded_at=None, reminded_late=False)
        await uow.commit()
    return interaction


async def history(
    uow: UnitOfWork,
    actor: Actor,
    company_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    offset: int = 0,
    limit: int = 5,
) -> tuple[list[Interaction], int]:
    """Interactions of the subjects named (all of them at once), newest first, and their count."""
    if company_id is None and contact_id is None and deal_id is None:
        raise InvalidInput("subject", "empty")
    async with uow.read_only():
        where: list[ColumnElement[bool]] = []
        if company_id is not None:
            await companies.get(uow, actor, company_id)
            where.append(Interaction.company_id == company_id)
        if contact_id is not None:
            await contacts.get(uow, actor, contact_id)
            where.append(Interaction.contact_id == contact_id)
        if deal_id is not None:
            await visible_deal(uow, actor, deal_id)
            where.append(Interaction.deal_id == deal_id)
        scope = and_(*where)
        total = await uow.session.scalar(select(func.count()).select_from(Interaction).where(scope))
        rows = await uow.session.scalars(
            select(Interaction)
            .where(scope)
            .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return list(rows), int(total or 0)


async def planned_for(
    uow: UnitOfWork, actor: Actor, start: datetime, end: datetime
) -> list[Interaction]:
    """The actor's own planned interactions with start <= occurred_at < end, earliest first."""
    start, end = aware("start", start), aware("end", end)
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(Interaction)
            .where(
                Interaction.manager_id == actor.id,
                Interaction.status == InteractionStatus.PLANNED.value,
                Interaction.occurred_at >= start,
                Interaction.occurred_at < end,
            )
            .order_by(Interaction.occurred_at, Interaction.id)
            .limit(PLANNED_MAX)
        )
        return list(rows)
