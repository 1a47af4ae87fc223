"""Tasks and reminders: create, reschedule, snooze, complete, reassign; the /today agenda;
the delivery claims the scheduler makes; tasks for forgotten clients.

Access: a task is visible to whoever may see its assignee (self, a head's team, a
director: everyone) or any record it is linked to. Acting on a task needs visibility;
reassigning it needs a head or director.

Delivery is claimed, then sent: `claim_due` / `mark_delivered` set `reminded_at` with a
conditional UPDATE (`reminded_at IS NULL AND status = 'open' AND due_at <= at`), so two
schedulers or two loops never both deliver one reminder. A reminder whose send fails
for good is handed back with `release_delivery`, and the next sweep tries again.
Rescheduling or snoozing clears `reminded_at`, so the new time is reminded again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import aliased

from crm import validation, when
from crm.access import Actor, can_see_owner, require_role, visible_owner
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import (
    AuditEntry,
    Claim,
    Company,
    Contact,
    Deal,
    Event,
    Interaction,
    Manager,
    Task,
    utcnow,
)
from crm.models.enums import OPEN_STAGES, InteractionStatus, Role, TaskStatus
from crm.uow import UnitOfWork

KIND_MANUAL = "manual"
KIND_FORGOTTEN = "forgotten_client"
TITLE_MAX = 500
SNOOZE_MAX_MINUTES = 60 * 24 * 30
LATE_AFTER = timedelta(minutes=2)  # a reminder sent later than this after due_at is "late"
PAST_TOLERANCE = timedelta(minutes=1)
AGENDA_LIMIT = 50
LINKS = ("company_id", "contact_id", "deal_id", "claim_id", "event_id")


@dataclass
class TaskInput:
    title: str
    due_at: datetime
    assignee_id: int | None = None  # None: the actor
    company_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    claim_id: int | None = None
    event_id: int | None = None
    kind: str = KIND_MANUAL


@dataclass(frozen=True, slots=True)
class TaskLine:
    """A task with the names a list or a reminder shows next to it."""

    task: Task
    company_name: str | None = None
    deal_title: str | None = None
    event_title: str | None = None


@dataclass(frozen=True, slots=True)
class InteractionLine:
    interaction: Interaction
    company_name: str | None = None
    contact_name: str | None = None


@dataclass(frozen=True, slots=True)
class Agenda:
    """What /today shows; each list holds at most `AGENDA_LIMIT`, the totals count all."""

    day: date  # the actor's local date
    due_today: list[TaskLine]
    overdue: list[TaskLine]
    planned: list[InteractionLine]
    stale_deals: list[Deal]  # open deals whose expected close date has passed
    totals: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One reminder the scheduler has claimed and must now send."""

    task_id: int
    title: str
    kind: str
    due_at: datetime
    late: bool
    assignee_id: int
    chat_id: int
    language: str
    timezone: str
    company_id: int | None = None
    company_name: str | None = None
    deal_id: int | None = None
    deal_title: str | None = None
    event_title: str | None = None


# ------------------------------------------------------------------ input checks


def _aware(field_name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(field_name, "invalid")
    return value


def _future(field_name: str, value: datetime, now: datetime) -> datetime:
    _aware(field_name, value)
    if value < now - PAST_TOLERANCE:
        raise InvalidInput(field_name, "past")
    return value


def clean(data: TaskInput, now: datetime) -> dict[str, Any]:
    """Validated column values; raises InvalidInput before anything is written."""
    kind = validation.text("kind", data.kind, max_len=32)
    return {
        "title": validation.text("title", data.title, max_len=TITLE_MAX),
        "due_at": _future("due_at", data.due_at, now),
        "kind": kind,
        **{name: getattr(data, name) for name in LINKS},
    }


# ------------------------------------------------------------------ access


def _linked_visible(actor: Actor) -> list[ColumnElement[bool]]:
    """Task is linked to a record the actor may see (one EXISTS per kind of link).

    Aliases keep the subqueries from correlating with a query that joins the same tables.
    """
    company, contact, deal = aliased(Company), aliased(Contact), aliased(Deal)
    claim, event = aliased(Claim), aliased(Event)
    return [
        exists().where(company.id == Task.company_id, visible_owner(actor, company.curator_id)),
        exists().where(contact.id == Task.contact_id, visible_owner(actor, contact.curator_id)),
        exists().where(deal.id == Task.deal_id, visible_owner(actor, deal.curator_id)),
        exists().where(claim.id == Task.claim_id, visible_owner(actor, claim.responsible_id)),
        exists().where(event.id == Task.event_id, visible_owner(actor, event.responsible_id)),
    ]


def visible(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause: the tasks the actor may see and act on."""
    if actor.role is Role.DIRECTOR:
        return true()
    return or_(visible_owner(actor, Task.assignee_id), *_linked_visible(actor))


async def get(uow: UnitOfWork, actor: Actor, task_id: int, *, lock: bool = False) -> Task:
    """The task if the actor may see it; AccessDenied alike if absent or someone else's."""
    stmt = (
        select(Task)
        .where(Task.id == task_id, visible(actor))
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update(of=Task)
    task = (await uow.session.scalars(stmt)).first()
    if task is None:
        raise AccessDenied("task")
    return task


async def _check_links(uow: UnitOfWork, actor: Actor, values: dict[str, Any]) -> None:
    """Every linked record exists and is visible to the actor; fills in the company."""
    s = uow.session
    checks: list[tuple[str, Any, Any]] = [
        ("company", Company, Company.curator_id),
        ("contact", Contact, Contact.curator_id),
        ("deal", Deal, Deal.curator_id),
        ("claim", Claim, Claim.responsible_id),
        ("event", Event, Event.responsible_id),
    ]
    for name, model, owner in checks:
        record_id = values.get(f"{name}_id")
        if record_id is None:
            continue
        if not isinstance(record_id, int):
            raise InvalidInput(f"{name}_id", "invalid")
        found = await s.scalar(
            select(model.id).where(model.id == record_id, visible_owner(actor, owner))
        )
        if found is None and name in ("deal", "claim"):
            # a deal or claim is also visible through its company's curator
            found = await s.scalar(
                select(model.id)
                .join(Company, Company.id == model.company_id)
                .where(model.id == record_id, visible_owner(actor, Company.curator_id))
            )
        if found is None:
            raise AccessDenied(name)
    if values.get("company_id") is None:
        for model, key in ((Deal, "deal_id"), (Claim, "claim_id"), (Contact, "contact_id")):
            if values.get(key) is not None:
                company_id = await s.scalar(select(model.company_id).where(model.id == values[key]))
                if company_id is not None:
                    values["company_id"] = company_id
                    break


async def _assignee(uow: UnitOfWork, actor: Actor, assignee_id: int | None) -> Manager:
    if assignee_id is None:
        assignee_id = actor.id
    manager = await uow.session.get(Manager, assignee_id)
    if manager is None or not manager.active or not can_see_owner(actor, manager):
        raise AccessDenied("manager")
    return manager


def _require_open(task: Task) -> None:
    if task.status != TaskStatus.OPEN.value:
        raise Conflict("task_closed", status=task.status)


# ------------------------------------------------------------------ writes


async def create(
    uow: UnitOfWork, actor: Actor, data: TaskInput, *, now: datetime | None = None
) -> Task:
    now = now or utcnow()
    values = clean(data, now)
    async with uow:
        assignee = await _assignee(uow, actor, data.assignee_id)
        await _check_links(uow, actor, values)
        task = Task(
            **values,
            assignee_id=assignee.id,
            created_by_id=actor.id,
            status=TaskStatus.OPEN.value,
            reminded_late=False,
            snooze_count=0,
            created_at=now,
        )
        uow.session.add(task)
        await uow.flush()
        uow.audit_created(actor.id, task)
        await uow.commit()
    return task


async def remind(
    uow: UnitOfWork,
    actor: Actor,
    when_text: str,
    title: str,
    *,
    now: datetime | None = None,
    company_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
) -> Task:
    """`/remind when; text`: `when` in natural language in the actor's timezone, linked to
    the company, contact or deal given.

    Raises InvalidInput("when", "unparsed" | "past" | "ambiguous") to be asked back;
    an ambiguous one carries `params["options"]` (aware UTC) to offer as buttons.
    """
    now = now or utcnow()
    validation.text("title", title, max_len=TITLE_MAX)
    due_at = when.parse_when(when_text, actor.timezone, now)
    data = TaskInput(
        title=title, due_at=due_at, company_id=company_id, contact_id=contact_id, deal_id=deal_id
    )
    return await create(uow, actor, data, now=now)


async def reschedule(
    uow: UnitOfWork, actor: Actor, task_id: int, due_at: datetime, *, now: datetime | None = None
) -> Task:
    now = now or utcnow()
    _future("due_at", due_at, now)
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        _require_open(task)
        uow.apply(actor.id, task, due_at=due_at, reminded_at=None, reminded_late=False)
        await uow.commit()
    return task


async def snooze(
    uow: UnitOfWork, actor: Actor, task_id: int, minutes: int, *, now: datetime | None = None
) -> Task:
    """Remind again `minutes` from now (the Snooze 15 min / 1 h buttons)."""
    now = now or utcnow()
    if not isinstance(minutes, int) or not 1 <= minutes <= SNOOZE_MAX_MINUTES:
        raise InvalidInput("minutes", "out_of_range", min=1, max=SNOOZE_MAX_MINUTES)
    return await _snooze_to(uow, actor, task_id, lambda _tz: now + timedelta(minutes=minutes))


async def snooze_until_tomorrow(
    uow: UnitOfWork, actor: Actor, task_id: int, *, now: datetime | None = None
) -> Task:
    """Remind again tomorrow at 09:00 in the assignee's timezone (the Tomorrow button)."""
    now = now or utcnow()

    def tomorrow(tz: str) -> datetime:
        local = when.to_local(now, tz)
        at = datetime.combine(local.date() + timedelta(days=1), when.DEFAULT_TIME)
        try:
            return when.localise(at, when.zone_of(tz))
        except InvalidInput as err:  # 09:00 never falls in a DST gap in practice; be safe
            return err.params["options"][-1]

    return await _snooze_to(uow, actor, task_id, tomorrow)


async def _snooze_to(uow: UnitOfWork, actor: Actor, task_id: int, due: Any) -> Task:
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        _require_open(task)
        tz = await uow.session.scalar(
            select(Manager.timezone).where(Manager.id == task.assignee_id)
        )
        uow.apply(
            actor.id,
            task,
            due_at=due(tz or actor.timezone),
            reminded_at=None,
            reminded_late=False,
            snooze_count=task.snooze_count + 1,
        )
        await uow.commit()
    return task


async def complete(
    uow: UnitOfWork, actor: Actor, task_id: int, *, now: datetime | None = None
) -> Task:
    """Mark done; pressing Done twice is harmless (the second press changes nothing)."""
    now = now or utcnow()
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        if task.status == TaskStatus.DONE.value:
            return task
        _require_open(task)
        uow.apply(actor.id, task, status=TaskStatus.DONE.value, done_at=now)
        await uow.commit()
    return task


def mark_done(uow: UnitOfWork, actor: Actor, task: Task, now: datetime) -> None:
    """Within the caller's open transaction: an open task done, audited (another service
    closing a step its own action fulfilled, e.g. invitations sent for an event)."""
    _require_open(task)
    uow.apply(actor.id, task, status=TaskStatus.DONE.value, done_at=now)


async def cancel(uow: UnitOfWork, actor: Actor, task_id: int) -> Task:
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        _require_open(task)
        uow.apply(actor.id, task, status=TaskStatus.CANCELLED.value)
        await uow.commit()
    return task


async def reassign(uow: UnitOfWork, actor: Actor, task_id: int, assignee_id: int) -> Task:
    """Hand a task to another manager within a head's or director's reach.

    An open task that was already reminded is reminded again to its new assignee.
    """
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="task")
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        _require_open(task)
        assignee = await _assignee(uow, actor, assignee_id)
        if assignee.id != task.assignee_id:
            uow.apply(
                actor.id, task, assignee_id=assignee.id, reminded_at=None, reminded_late=False
            )
        await uow.commit()
    return task


# ------------------------------------------------------------------ reads


def _lines_query() -> Any:
    return (
        select(Task, Company.name, Deal.title, Event.title)
        .outerjoin(Company, Company.id == Task.company_id)
        .outerjoin(Deal, Deal.id == Task.deal_id)
        .outerjoin(Event, Event.id == Task.event_id)
    )


def _day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC (23 or 25 hours long across DST)."""
    zone = when.zone_of(tz)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


async def agenda(
    uow: UnitOfWork, actor: Actor, now: datetime | None = None, limit: int = AGENDA_LIMIT
) -> Agenda:
    """/today for the actor: their open tasks due today (their timezone) and overdue,
    interactions they planned for today, their open deals whose expected close passed."""
    now = now or utcnow()
    day = when.to_local(now, actor.timezone).date()
    start, end = _day_bounds(day, actor.timezone)
    async with uow.read_only():
        s = uow.session
        mine_open = and_(
            Task.assignee_id == actor.id,
            Task.status == TaskStatus.OPEN.value,
            # the reminder of an interaction planned for today: its planned row stands for it
            ~and_(Task.interaction_id.is_not(None), Task.due_at >= start),
        )
        today_cond = and_(mine_open, Task.due_at >= now, Task.due_at < end)
        # "overdue" is everything due before now; what fell due earlier today counts too
        overdue_cond = and_(mine_open, Task.due_at < now)
        planned_cond = and_(
            Interaction.manager_id == actor.id,
            Interaction.status == InteractionStatus.PLANNED.value,
            Interaction.occurred_at >= start,
            Interaction.occurred_at < end,
        )
        stale_cond = and_(
            Deal.curator_id == actor.id,
            Deal.stage.in_([s_.value for s_ in OPEN_STAGES]),
            Deal.expected_close.is_not(None),
            Deal.expected_close < day,
        )
        due_today = [
            TaskLine(t, c, d, e)
            for t, c, d, e in await s.execute(
                _lines_query().where(today_cond).order_by(Task.due_at, Task.id).limit(limit)
            )
        ]
        overdue = [
            TaskLine(t, c, d, e)
            for t, c, d, e in await s.execute(
                _lines_query().where(overdue_cond).order_by(Task.due_at, Task.id).limit(limit)
            )
        ]
        planned = [
            InteractionLine(i, c, p)
            for i, c, p in await s.execute(
                select(Interaction, Company.name, Contact.name)
                .outerjoin(Company, Company.id == Interaction.company_id)
                .outerjoin(Contact, Contact.id == Interaction.contact_id)
                .where(planned_cond)
                .order_by(Interaction.occurred_at, Interaction.id)
                .limit(limit)
            )
        ]
        stale = list(
            await s.scalars(
                select(Deal).where(stale_cond).order_by(Deal.expected_close, Deal.id).limit(limit)
            )
        )
        totals = {
            "due_today": await _count(uow, select(Task.id).where(today_cond)),
            "overdue": await _count(uow, select(Task.id).where(overdue_cond)),
            "planned": await _count(uow, select(Interaction.id).where(planned_cond)),
            "stale_deals": await _count(uow, select(Deal.id).where(stale_cond)),
        }
    return Agenda(day, due_today, overdue, planned, stale, totals)


async def _count(uow: UnitOfWork, stmt: Any) -> int:
    return int(await uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


async def list_open(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10
) -> tuple[list[TaskLine], int]:
    """A page of the open tasks the actor may see (their own first), by due time."""
    async with uow.read_only():
        scope = and_(Task.status == TaskStatus.OPEN.value, visible(actor))
        total = await _count(uow, select(Task.id).where(scope))
        rows = await uow.session.execute(
            _lines_query()
            .where(scope)
            .order_by(case((Task.assignee_id == actor.id, 0), else_=1), Task.due_at, Task.id)
            .offset(offset)
            .limit(limit)
        )
        return [TaskLine(t, c, d, e) for t, c, d, e in rows], total


async def get_line(uow: UnitOfWork, actor: Actor, task_id: int) -> TaskLine:
    async with uow.read_only():
        row = (
            await uow.session.execute(_lines_query().where(Task.id == task_id, visible(actor)))
        ).first()
    if row is None:
        raise AccessDenied("task")
    return TaskLine(row[0], row[1], row[2], row[3])


# ------------------------------------------------------------------ delivery (scheduler)


def _deliverable(now: datetime) -> ColumnElement[bool]:
    return and_(
        Task.status == TaskStatus.OPEN.value,
        Task.reminded_at.is_(None),
        Task.due_at <= now,
    )


def _delivery_query() -> Any:
    return (
        select(
            Task.id,
            Task.title,
            Task.kind,
            Task.due_at,
            Task.reminded_at,
            Task.reminded_late,
            Task.assignee_id,
            Manager.tg_id,
            Manager.language,
            Manager.timezone,
            Task.company_id,
            Company.name,
            Task.deal_id,
            Deal.title,
            Event.title,
        )
        .join(Manager, Manager.id == Task.assignee_id)
        .outerjoin(Company, Company.id == Task.company_id)
        .outerjoin(Deal, Deal.id == Task.deal_id)
        .outerjoin(Event, Event.id == Task.event_id)
    )


def _delivery(row: Any, late: bool | None = None) -> Delivery:
    return Delivery(
        task_id=row[0],
        title=row[1],
        kind=row[2],
        due_at=row[3],
        late=row[5] if late is None else late,
        assignee_id=row[6],
        chat_id=row[7],
        language=row[8],
        timezone=row[9],
        company_id=row[10],
        company_name=row[11],
        deal_id=row[12],
        deal_title=row[13],
        event_title=row[14],
    )


def _reachable() -> ColumnElement[bool]:
    return and_(Manager.active.is_(True), Manager.bot_blocked.is_(False))


async def due_for_delivery(uow: UnitOfWork, now: datetime, limit: int = 500) -> list[Delivery]:
    """Unclaimed reminders due by `now` of reachable managers, oldest first (no claim made)."""
    async with uow.read_only():
        rows = await uow.session.execute(
            _delivery_query()
            .where(_deliverable(now), _reachable())
            .order_by(Task.due_at, Task.id)
            .limit(limit)
        )
        return [_delivery(r, late=now - r[3] > LATE_AFTER) for r in rows]


async def mark_delivered(uow: UnitOfWork, task_id: int, at: datetime, late: bool) -> bool:
    """Claim one reminder for sending; True for exactly one caller, however many race."""
    async with uow:
        result = await uow.session.execute(
            update(Task)
            .where(Task.id == task_id, _deliverable(at))
            .values(reminded_at=at, reminded_late=late)
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


async def claim(uow: UnitOfWork, task_id: int, at: datetime) -> Delivery | None:
    """Claim one reminder (late if `at` is past due by more than LATE_AFTER) and return
    what to send, or None if it is not due, already claimed, closed or unreachable."""
    async with uow:
        result = await uow.session.execute(
            update(Task)
            .where(
                Task.id == task_id,
                _deliverable(at),
                exists().where(Manager.id == Task.assignee_id, _reachable()),
            )
            .values(
                reminded_at=at,
                reminded_late=case((Task.due_at < at - LATE_AFTER, true()), else_=false()),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = (await uow.session.execute(_delivery_query().where(Task.id == task_id))).one()
        await uow.commit()
    return _delivery(row)


async def claim_due(uow: UnitOfWork, now: datetime, limit: int = 500) -> list[Delivery]:
    """Claim up to `limit` due reminders at once (the sweep): one UPDATE ... RETURNING."""
    async with uow:
        candidates = (
            select(Task.id)
            .join(Manager, Manager.id == Task.assignee_id)
            .where(_deliverable(now), _reachable())
            .order_by(Task.due_at, Task.id)
            .limit(limit)
            # PostgreSQL: a concurrent sweep takes the next rows instead of waiting for
            # these and then finding them claimed (SQLite serialises writers anyway)
            .with_for_update(of=Task, skip_locked=True)
        )
        claimed = list(
            await uow.session.scalars(
                update(Task)
                .where(Task.id.in_(candidates.scalar_subquery()), _deliverable(now))
                .values(
                    reminded_at=now,
                    reminded_late=case((Task.due_at < now - LATE_AFTER, true()), else_=false()),
                )
                .returning(Task.id)
                .execution_options(synchronize_session=False)
            )
        )
        if not claimed:
            await uow.commit()
            return []
        rows = await uow.session.execute(
            _delivery_query().where(Task.id.in_(claimed)).order_by(Task.due_at, Task.id)
        )
        deliveries = [_delivery(r) for r in rows]
        await uow.commit()
    return deliveries


async def release_delivery(uow: UnitOfWork, task_id: int, claimed_at: datetime) -> bool:
    """Hand back a claimed reminder whose send failed, so that a later sweep retries it."""
    async with uow:
        result = await uow.session.execute(
            update(Task)
            .where(Task.id == task_id, Task.reminded_at == claimed_at)
            .values(reminded_at=None, reminded_late=False)
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


async def upcoming(
    uow: UnitOfWork, now: datetime, until: datetime, limit: int = 10_000
) -> list[tuple[int, datetime]]:
    """(task id, due_at) of unclaimed open reminders due in (now, until], to schedule."""
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Task.id, Task.due_at)
            .where(
                Task.status == TaskStatus.OPEN.value,
                Task.reminded_at.is_(None),
                Task.due_at > now,
                Task.due_at <= until,
            )
            .order_by(Task.due_at, Task.id)
            .limit(limit)
        )
        return [(r[0], r[1]) for r in rows]


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    pending: int  # open, not yet reminded, due in the future
    overdue_undelivered: int  # open, not yet reminded, already due (to a reachable manager)


async def delivery_stats(uow: UnitOfWork, now: datetime) -> DeliveryStats:
    async with uow.read_only():
        undelivered = and_(Task.status == TaskStatus.OPEN.value, Task.reminded_at.is_(None))
        pending = await _count(uow, select(Task.id).where(undelivered, Task.due_at > now))
        overdue = await _count(
            uow,
            select(Task.id)
            .join(Manager, Manager.id == Task.assignee_id)
            .where(undelivered, Task.due_at <= now, _reachable()),
        )
    return DeliveryStats(pending=pending, overdue_undelivered=overdue)


async def last_reminded_at(uow: UnitOfWork) -> datetime | None:
    """When the newest reminder went out (None: never)."""
    async with uow.read_only():
        return await uow.session.scalar(select(func.max(Task.reminded_at)))


# ------------------------------------------------------------------ forgotten clients


async def create_forgotten_client_tasks(uow: UnitOfWork, now: datetime, days: int = 30) -> int:
    """One task for the curator of each client with no interaction for `days` days.

    Silence is counted from `Company.last_interaction_at`, or `created_at` for a client
    never contacted; lost clients are left alone. A client gets no new task while one is
    open or one was created in the last `days` days, so it is once, not every day.
    One INSERT ... SELECT; audited in the same transaction. Returns how many were made.
    """
    if not 1 <= days <= 3650:
        raise InvalidInput("days", "out_of_range", min=1, max=3650)
    cutoff = now - timedelta(days=days)
    recent_or_open = exists().where(
        Task.company_id == Company.id,
        Task.kind == KIND_FORGOTTEN,
        or_(Task.status == TaskStatus.OPEN.value, Task.created_at > cutoff),
    )
    source = (
        select(
            Company.name,
            literal(now, Task.due_at.type),
            Company.curator_id,
            literal(TaskStatus.OPEN.value),
            literal(KIND_FORGOTTEN),
            Company.id,
            literal(False),
            literal(0),
            literal(now, Task.created_at.type),
        )
        .join(Manager, Manager.id == Company.curator_id)
        .where(
            func.coalesce(Company.last_interaction_at, Company.created_at) < cutoff,
            Company.stage != "lost",
            Manager.active.is_(True),
            ~recent_or_open,
        )
    )
    async with uow:
        created = list(
            await uow.session.execute(
                insert(Task)
                .from_select(
                    [
                        "title",
                        "due_at",
                        "assignee_id",
                        "status",
                        "kind",
                        "company_id",
                        "reminded_late",
                        "snooze_count",
                        "created_at",
                    ],
                    source,
                )
                .returning(Task.id, Task.company_id, Task.assignee_id)
            )
        )
        if created:
            await uow.session.execute(
                insert(AuditEntry),
                [
                    {
                        "actor_id": None,
                        "entity": Task.__tablename__,
                        "entity_id": task_id,
                        "action": "create",
                        "changes": {
                            "kind": [None, KIND_FORGOTTEN],
                            "company_id": [None, company_id],
                            "assignee_id": [None, assignee_id],
                            "due_at": [None, now.isoformat()],
                        },
                        "at": now,
                    }
                    for task_id, company_id, assignee_id in created
                ],
            )
        await uow.commit()
    return len(created)
