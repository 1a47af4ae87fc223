"""Claims (client complaints): filing, the investigation plan, the status machine, escalation.

A claim is visible to whoever may see its responsible manager OR the curator of its
company, so a head sees the claims of the clients of their team even when a claim was
handed to someone else, and the curator keeps seeing the claims of their client.

SLA: `due_at = created_at + N days` of elapsed time, computed in UTC; a user's
timezone only changes how it is shown (across a DST change the wall-clock hour moves).

Escalation: an open claim past `due_at` rises to level 1 (the heads of the responsible
manager's department; the directors if that department has no head), and once as long
again has passed (`due_at + (due_at - created_at)`) to level 2 (the directors). Each
level is recorded with a conditional UPDATE, so it happens once however many schedulers
race for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crm import validation
from crm.access import Actor, can_see_owner, require_role, visible_owner
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import (
    AppSetting,
    Claim,
    ClaimAttachment,
    ClaimCause,
    Company,
    Contact,
    Deal,
    Manager,
    Task,
    utcnow,
)
from crm.models.enums import ClaimPriority, ClaimStatus, PlaybookKind, Role, TaskStatus
from crm.services import playbooks
from crm.uow import UnitOfWork

DEFAULT_CAUSES: dict[str, str] = {
    "quality": "Quality",
    "delivery": "Delivery",
    "billing": "Billing",
    "service": "Service",
    "other": "Other",
}
SLA_SETTING = "claim_sla_days"
DEFAULT_SLA_DAYS: dict[str, int] = {
    ClaimPriority.CRITICAL: 1,
    ClaimPriority.HIGH: 3,
    ClaimPriority.NORMAL: 7,
    ClaimPriority.LOW: 14,
}
SLA_MAX_DAYS = 365
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # what a bot may download through the Bot API
MAX_ATTACHMENTS = 30
ATTACHMENT_KINDS = ("photo", "document")
PLAN_KIND = "claim_plan"
PLAN_TITLE_MAX = 200
PAST_TOLERANCE = timedelta(minutes=1)  # a step due "now" typed a moment ago is not refused

# Used when a director has set no default claims playbook: (title en, title ru, day offset).
DEFAULT_PLAN: tuple[tuple[str, str, int], ...] = (
    ("Contact the client", "Связаться с клиентом", 0),
    ("Investigate the cause", "Выяснить причину", 1),
    ("Propose a resolution", "Предложить решение", 2),
)

OPEN_STATUSES = (ClaimStatus.NEW.value, ClaimStatus.INVESTIGATING.value)
CLOSED_STATUSES = (ClaimStatus.RESOLVED.value, ClaimStatus.REJECTED.value)
URGENT = (ClaimPriority.HIGH.value, ClaimPriority.CRITICAL.value)

# from -> allowed targets; reopening a closed claim is for heads and directors only.
TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimStatus.NEW: frozenset({ClaimStatus.INVESTIGATING, ClaimStatus.REJECTED}),
    ClaimStatus.INVESTIGATING: frozenset({ClaimStatus.RESOLVED, ClaimStatus.REJECTED}),
    ClaimStatus.RESOLVED: frozenset({ClaimStatus.INVESTIGATING}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.INVESTIGATING}),
}
REOPEN_ROLES = (Role.HEAD, Role.DIRECTOR)

_CAUSE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass
class AttachmentInput:
    file_id: str
    kind: str = "photo"
    file_size: int | None = None


@dataclass
class ClaimInput:
    company_id: int
    text: str
    contact_id: int | None = None
    deal_id: int | None = None
    cause: str = "other"
    priority: str = ClaimPriority.NORMAL.value
    responsible_id: int | None = None
    compensation: Decimal | str | None = None
    attachments: list[AttachmentInput] = field(default_factory=list)


@dataclass
class PlanTaskInput:
    """A step to add: due at 09:00 of the `offset_days`-th local day, or exactly at `due_at`
    (an aware moment, e.g. from crm.when.parse_when) when that is given."""

    title: str
    offset_days: int = 0
    due_at: datetime | None = None


@dataclass
class ClaimView:
    """A claim with what its card shows, all loaded."""

    claim: Claim
    company: Company
    responsible: Manager
    contact: Contact | None
    attachments: list[ClaimAttachment]
    plan: list[Task]
    cause_title: str | None = None  # the cause's title as the directors named it

    @property
    def open_plan_tasks(self) -> list[Task]:
        return [t for t in self.plan if t.status == TaskStatus.OPEN]


@dataclass(frozen=True)
class ClaimRow:
    """One line of a claims list."""

    claim: Claim
    company_name: str
    responsible_name: str


@dataclass(frozen=True)
class EscalationDue:
    claim_id: int
    level: int
    current_level: int
    responsible_id: int


# ---------------------------------------------------------------- input checks


def clean_attachment(data: AttachmentInput) -> dict[str, Any]:
    file_id = validation.text("attachment", data.file_id, max_len=256)
    kind = str(data.kind or "").strip().lower()
    if kind not in ATTACHMENT_KINDS:
        raise InvalidInput("attachment", "unknown_value", allowed=list(ATTACHMENT_KINDS))
    size = data.file_size
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInput("attachment", "invalid")
        if size > MAX_ATTACHMENT_BYTES:
            raise InvalidInput("attachment", "too_large", max_mb=MAX_ATTACHMENT_BYTES // 2**20)
    return {"file_id": file_id, "kind": kind, "file_size": size}


def clean(data: ClaimInput) -> dict[str, Any]:
    """Validated values of a new claim; raises InvalidInput before anything is written."""
    if not isinstance(data.company_id, int) or isinstance(data.company_id, bool):
        raise InvalidInput("company", "empty")
    if len(data.attachments) > MAX_ATTACHMENTS:
        raise InvalidInput("attachment", "too_many", max=MAX_ATTACHMENTS)
    return {
        "company_id": data.company_id,
        "text": validation.text("text", data.text, max_len=validation.TEXT_MAX),
        "contact_id": data.contact_id,
        "deal_id": data.deal_id,
        "cause": validation.text("cause", data.cause or "other", max_len=32).lower(),
        "priority": validation.choice("priority", data.priority, ClaimPriority).value,
        "compensation": validation.money("compensation", data.compensation, allow_none=True),
        "attachments": [clean_attachment(a) for a in data.attachments],
    }


def _plan_title(value: str) -> str:
    return validation.text("title", value, max_len=PLAN_TITLE_MAX)


def _offset(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SLA_MAX_DAYS:
        raise InvalidInput("offset_days", "out_of_range", min=0, max=SLA_MAX_DAYS)
    return value


def _step_due(value: datetime | None, now: datetime) -> datetime | None:
    """An explicit due time of a step: aware, not in the past, within the SLA horizon."""
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("due_at", "invalid")
    if value < now - PAST_TOLERANCE:
        raise InvalidInput("due_at", "past")
    if value > now + timedelta(days=SLA_MAX_DAYS):
        raise InvalidInput("due_at", "out_of_range", min=0, max=SLA_MAX_DAYS)
    return value


# ---------------------------------------------------------------- causes and settings


def _insert_ignoring_duplicates(uow: UnitOfWork, rows: list[dict[str, Any]]) -> Any:
    dialect = uow.session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(ClaimCause).values(rows).on_conflict_do_nothing(index_elements=["code"])


async def ensure_default_causes(uow: UnitOfWork) -> None:
    """Insert the default causes that are missing; safe to call any number of times.

    Runs inside the caller's open unit of work (it is part of the caller's transaction).
    """
    rows = [{"code": code, "title": title} for code, title in DEFAULT_CAUSES.items()]
    await uow.session.execute(_insert_ignoring_duplicates(uow, rows))


def _other_last(causes: list[ClaimCause]) -> list[ClaimCause]:
    """By code, with "other" (the catch-all) at the end of every list and picker."""
    return sorted(causes, key=lambda cause: (cause.code == "other", cause.code))


async def list_causes(uow: UnitOfWork) -> list[ClaimCause]:
    """Every cause, the defaults included (seeded on first use); "other" last."""
    async with uow.read_only():
        causes = list(await uow.session.scalars(select(ClaimCause).order_by(ClaimCause.code)))
    if set(DEFAULT_CAUSES) <= {c.code for c in causes}:
        return _other_last(causes)
    async with uow:
        await ensure_default_causes(uow)
        causes = list(await uow.session.scalars(select(ClaimCause).order_by(ClaimCause.code)))
        await uow.commit()
    return _other_last(causes)


async def add_cause(uow: UnitOfWork, actor: Actor, code: str, title: str) -> ClaimCause:
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    code = validation.text("code", code, max_len=32).lower()
    if not _CAUSE_CODE.match(code):
        raise InvalidInput("code", "invalid")
    title = validation.text("title", title, max_len=validation.SHORT_MAX)
    async with uow:
        await ensure_default_causes(uow)
        if await uow.session.get(ClaimCause, code) is not None:
            raise Conflict("duplicate", field="code", value=code)
        cause = ClaimCause(code=code, title=title)
        uow.session.add(cause)
        await uow.flush()
        uow.audit(
            actor.id, ("claim_causes", 0), "create", {"code": [None, code], "title": [None, title]}
        )
        await uow.commit()
    return cause


async def _cause(uow: UnitOfWork, code: str) -> ClaimCause:
    await ensure_default_causes(uow)
    cause = await uow.session.get(
        ClaimCause, str(code or "").strip().lower()[:32], with_for_update=True
    )
    if cause is None:
        raise InvalidInput("cause", "not_found")
    return cause


async def claims_with_cause(uow: UnitOfWork, actor: Actor, code: str) -> int:
    """How many claims (open or closed) carry this cause; for the directors."""
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    async with uow.read_only():
        count = await uow.session.scalar(select(func.count(Claim.id)).where(Claim.cause == code))
    return int(count or 0)


async def rename_cause(uow: UnitOfWork, actor: Actor, code: str, title: str) -> ClaimCause:
    """A director renames a cause; its code stays, so the claims keep pointing at it."""
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    title = validation.text("title", title, max_len=validation.SHORT_MAX)
    async with uow:
        cause = await _cause(uow, code)
        others = await uow.session.scalars(
            select(ClaimCause.title).where(ClaimCause.code != cause.code)
        )
        if title.casefold() in {t.casefold() for t in others}:
            raise InvalidInput("title", "duplicate")
        if cause.title != title:
            uow.audit(
                actor.id,
                ("claim_causes", 0),
                "update",
                {"code": [cause.code, cause.code], "title": [cause.title, title]},
            )
            cause.title = title
        await uow.commit()
    return cause


async def remove_cause(uow: UnitOfWork, actor: Actor, code: str) -> str:
    """A director removes a cause no claim uses; returns its title.

    A cause that claims use is refused (`Conflict("cause_in_use", count=N)`) rather than
    deleted, so old claims never lose it; the built-in ones come back on their own and are
    refused too (`Conflict("cause_builtin")`): rename them instead.
    """
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    async with uow:
        cause = await _cause(uow, code)
        if cause.code in DEFAULT_CAUSES:
            raise Conflict("cause_builtin", code=cause.code)
        used = await uow.session.scalar(
            select(func.count(Claim.id)).where(Claim.cause == cause.code)
        )
        if used:
            raise Conflict("cause_in_use", code=cause.code, count=int(used))
        title = cause.title
        uow.audit(
            actor.id,
            ("claim_causes", 0),
            "delete",
            {"code": [cause.code, None], "title": [title, None]},
        )
        await uow.session.delete(cause)
        await uow.commit()
    return title


async def _read_sla(uow: UnitOfWork) -> dict[str, int]:
    setting = await uow.session.get(AppSetting, SLA_SETTING)
    days = {str(k): v for k, v in DEFAULT_SLA_DAYS.items()}
    if setting is not None and isinstance(setting.value, dict):
        for key, value in setting.value.items():
            if key in days and isinstance(value, int) and 0 < value <= SLA_MAX_DAYS:
                days[key] = value
    return days


async def sla_days(uow: UnitOfWork) -> dict[str, int]:
    """The SLA in days per priority: the defaults overridden by the director's setting."""
    async with uow.read_only():
        return await _read_sla(uow)


async def set_sla_days(uow: UnitOfWork, actor: Actor, days: dict[str, int]) -> dict[str, int]:
    """A director changes the SLA of some priorities; claims filed later use it."""
    require_role(actor, Role.DIRECTOR, entity="settings")
    cleaned: dict[str, int] = {}
    for key, value in days.items():
        priority = validation.choice("priority", key, ClaimPriority).value
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= SLA_MAX_DAYS:
            raise InvalidInput("sla_days", "out_of_range", min=1, max=SLA_MAX_DAYS)
        cleaned[priority] = value
    async with uow:
        current = await _read_sla(uow)
        new = {**current, **cleaned}
        setting = await uow.session.get(AppSetting, SLA_SETTING)
        if setting is None:
            uow.session.add(AppSetting(key=SLA_SETTING, value=new))
        else:
            setting.value = new
        if new != current:
            uow.audit(actor.id, ("app_settings", 0), "update", {SLA_SETTING: [current, new]})
        await uow.commit()
    return new


# ---------------------------------------------------------------- access and loading


def _scope(actor: Actor) -> ColumnElement[bool]:
    """Claims the actor sees: by responsible manager or by the company's curator."""
    return or_(visible_owner(actor, Claim.responsible_id), visible_owner(actor, Company.curator_id))


async def _load(uow: UnitOfWork, actor: Actor, claim_id: int, *, lock: bool = False) -> Claim:
    claim = await uow.session.get(Claim, claim_id, with_for_update=lock or None)
    if claim is None:
        raise AccessDenied("claim")
    company = await uow.session.get(Company, claim.company_id)
    responsible = await uow.session.get(Manager, claim.responsible_id)
    assert company is not None and responsible is not None
    if not (can_see_owner(actor, responsible) or can_see_owner(actor, company.curator)):
        raise AccessDenied("claim")
    return claim


async def _plan(uow: UnitOfWork, claim_id: int) -> list[Task]:
    rows = await uow.session.scalars(
        select(Task).where(Task.claim_id == claim_id).order_by(Task.due_at, Task.id)
    )
    return list(rows)


async def _view(uow: UnitOfWork, claim: Claim) -> ClaimView:
    company = await uow.session.get(Company, claim.company_id)
    responsible = await uow.session.get(Manager, claim.responsible_id)
    contact = await uow.session.get(Contact, claim.contact_id) if claim.contact_id else None
    attachments = await uow.session.scalars(
        select(ClaimAttachment)
        .where(ClaimAttachment.claim_id == claim.id)
        .order_by(ClaimAttachment.id)
    )
    assert company is not None and responsible is not None
    cause = await uow.session.get(ClaimCause, claim.cause)
    return ClaimView(
        claim=claim,
        company=company,
        responsible=responsible,
        contact=contact,
        attachments=list(attachments),
        plan=await _plan(uow, claim.id),
        cause_title=cause.title if cause is not None else None,
    )


async def get(uow: UnitOfWork, actor: Actor, claim_id: int) -> ClaimView:
    """The claim card; AccessDenied alike if it is absent or out of the actor's reach."""
    async with uow.read_only():
        return await _view(uow, await _load(uow, actor, claim_id))


async def list_claims(
    uow: UnitOfWork,
    actor: Actor,
    status: str | None = None,
    priority: str | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[ClaimRow], int]:
    """A page of the claims the actor sees, most urgent first; status "open" = not closed."""
    conditions: list[ColumnElement[bool]] = [_scope(actor)]
    if status == "open":
        conditions.append(Claim.status.in_(OPEN_STATUSES))
    elif status is not None:
        conditions.append(Claim.status == validation.choice("status", status, ClaimStatus).value)
    if priority is not None:
        conditions.append(
            Claim.priority == validation.choice("priority", priority, ClaimPriority).value
        )
    async with uow.read_only():
        total = await uow.session.scalar(
            select(func.count(Claim.id))
            .join(Company, Company.id == Claim.company_id)
            .where(*conditions)
        )
        rows = await uow.session.execute(
            select(Claim, Company.name, Manager.name)
            .join(Company, Company.id == Claim.company_id)
            .join(Manager, Manager.id == Claim.responsible_id)
            .where(*conditions)
            .order_by(Claim.due_at, Claim.id)
            .offset(max(offset, 0))
            .limit(max(min(limit, 100), 1))
        )
        items = [ClaimRow(claim=c, company_name=cn, responsible_name=rn) for c, cn, rn in rows]
    return items, int(total or 0)


# ---------------------------------------------------------------- filing


async def _check_links(uow: UnitOfWork, values: dict[str, Any]) -> None:
    company_id = values["company_id"]
    if values["contact_id"] is not None:
        contact = await uow.session.get(Contact, values["contact_id"])
        if contact is None or contact.company_id != company_id:
            raise InvalidInput("contact", "not_of_company")
    if values["deal_id"] is not None:
        deal = await uow.session.get(Deal, values["deal_id"])
        if deal is None or deal.company_id != company_id:
            raise InvalidInput("deal", "not_of_company")
    cause = values["cause"]
    # FOR SHARE on PostgreSQL: a director removing this cause meanwhile waits for this claim
    # and then sees it counted (remove_cause locks the row FOR UPDATE).
    if await uow.session.get(ClaimCause, cause, with_for_update={"read": True}) is None:
        await ensure_default_causes(uow)
        if await uow.session.get(ClaimCause, cause) is None:
            codes = await uow.session.scalars(select(ClaimCause.code).order_by(ClaimCause.code))
            raise InvalidInput("cause", "unknown_value", allowed=list(codes))


async def _responsible_for(
    uow: UnitOfWork, actor: Actor, company: Company, responsible_id: int | None
) -> Manager:
    if responsible_id is None or responsible_id == company.curator_id:
        return company.curator
    manager = await uow.session.get(Manager, responsible_id)
    if manager is None or not manager.active or not can_see_owner(actor, manager):
        raise AccessDenied("manager")
    return manager


def _plan_tasks(
    claim: Claim,
    actor: Actor,
    responsible: Manager,
    steps: Sequence[tuple[str, int]],
    start: datetime,
    *,
    cap: bool,
) -> list[Task]:
    """Tasks of the plan: offset 0 is due at `start`, offset N at 09:00 of the responsible
    manager's N-th local day after it (as playbooks do); with `cap`, never after the
    claim's own due time, so a critical claim's plan fits its one-day SLA."""
    tasks = []
    for title, offset in steps:
        due = playbooks.due_at(start, offset, responsible.timezone)
        tasks.append(
            Task(
                title=title,
                due_at=min(due, claim.due_at) if cap else due,
                assignee_id=claim.responsible_id,
                created_by_id=actor.id,
                status=TaskStatus.OPEN.value,
                kind=PLAN_KIND,
                company_id=claim.company_id,
                contact_id=claim.contact_id,
                claim_id=claim.id,
                reminded_late=False,
                snooze_count=0,
                created_at=start,
            )
        )
    return tasks


def _default_steps(language: str) -> list[tuple[str, int]]:
    return [(ru if language == "ru" else en, offset) for en, ru, offset in DEFAULT_PLAN]


async def file(
    uow: UnitOfWork, actor: Actor, data: ClaimInput, *, now: datetime | None = None
) -> ClaimView:
    """File a claim with its attachments and investigation plan, in one transaction."""
    values = clean(data)
    created = now or utcnow()
    async with uow:
        company = await uow.session.get(Company, values["company_id"])
        if company is None or not can_see_owner(actor, company.curator):
            raise AccessDenied("company")
        await _check_links(uow, values)
        responsible = await _responsible_for(uow, actor, company, data.responsible_id)
        sla = await _read_sla(uow)
        attachments = values.pop("attachments")
        claim = Claim(
            **values,
            status=ClaimStatus.NEW.value,
            responsible_id=responsible.id,
            due_at=created + timedelta(days=sla[values["priority"]]),
            escalation_level=0,
            created_at=created,
        )
        uow.session.add(claim)
        await uow.flush()
        uow.audit_created(actor.id, claim)
        for item in attachments:
            uow.session.add(ClaimAttachment(claim_id=claim.id, created_at=created, **item))
        steps = await playbooks.plan_steps(uow, PlaybookKind.CLAIM.value)
        if steps is None:  # no claims playbook set up by a director: the built-in plan
            steps = _default_steps(actor.language)
        tasks = _plan_tasks(claim, actor, responsible, steps, created, cap=True)
        uow.session.add_all(tasks)
        await uow.flush()
        for item in await uow.session.scalars(
            select(ClaimAttachment).where(ClaimAttachment.claim_id == claim.id)
        ):
            uow.audit_created(actor.id, item)
        for task in tasks:
            uow.audit_created(actor.id, task)
        view = await _view(uow, claim)
        await uow.commit()
    return view


async def add_attachment(
    uow: UnitOfWork, actor: Actor, claim_id: int, data: AttachmentInput
) -> ClaimAttachment:
    values = clean_attachment(data)
    async with uow:
        await _load(uow, actor, claim_id, lock=True)
        count = await uow.session.scalar(
            select(func.count(ClaimAttachment.id)).where(ClaimAttachment.claim_id == claim_id)
        )
        if int(count or 0) >= MAX_ATTACHMENTS:
            raise InvalidInput("attachment", "too_many", max=MAX_ATTACHMENTS)
        attachment = ClaimAttachment(claim_id=claim_id, **values)
        uow.session.add(attachment)
        await uow.flush()
        uow.audit_created(actor.id, attachment)
        await uow.commit()
    return attachment


# ---------------------------------------------------------------- the plan


async def edit_plan(
    uow: UnitOfWork,
    actor: Actor,
    claim_id: int,
    add: Sequence[PlanTaskInput] = (),
    remove: Sequence[int] = (),
    *,
    now: datetime | None = None,
) -> ClaimView:
    """Add plan tasks (due like playbook steps, counted from now, or at their own `due_at`)
    and cancel open ones. Whoever sees the claim may edit its plan while it is open."""
    start = now or utcnow()
    steps = [(_plan_title(step.title), _offset(step.offset_days)) for step in add]
    dues = [_step_due(step.due_at, start) for step in add]
    async with uow:
        claim = await _load(uow, actor, claim_id, lock=True)
        if claim.status in CLOSED_STATUSES:
            raise Conflict("claim_closed", status=claim.status)
        plan = {t.id: t for t in await _plan(uow, claim.id)}
        for task_id in remove:
            task = plan.get(task_id)
            if task is None:
                raise InvalidInput("task", "not_in_plan", id=task_id)
            if task.status != TaskStatus.OPEN:
                raise Conflict("task_not_open", id=task_id)
        for task_id in remove:
            uow.apply(actor.id, plan[task_id], status=TaskStatus.CANCELLED.value)
        responsible = await uow.session.get(Manager, claim.responsible_id)
        assert responsible is not None
        tasks = _plan_tasks(claim, actor, responsible, steps, start, cap=False)
        for task, due in zip(tasks, dues, strict=True):
            if due is not None:
                task.due_at = due
        uow.session.add_all(tasks)
        await uow.flush()
        for task in tasks:
            uow.audit_created(actor.id, task)
        view = await _view(uow, claim)
        await uow.commit()
    return view


async def complete_step(
    uow: UnitOfWork, actor: Actor, claim_id: int, task_id: int, *, now: datetime | None = None
) -> ClaimView:
    """Mark a plan task done; pressing it twice is harmless, a cancelled one is refused."""
    moment = now or utcnow()
    async with uow:
        claim = await _load(uow, actor, claim_id, lock=True)
        if claim.status in CLOSED_STATUSES:
            raise Conflict("claim_closed", status=claim.status)
        task = {t.id: t for t in await _plan(uow, claim.id)}.get(task_id)
        if task is None:
            raise InvalidInput("task", "not_in_plan", id=task_id)
        if task.status == TaskStatus.CANCELLED:
            raise Conflict("task_not_open", id=task_id)
        if task.status == TaskStatus.OPEN:
            uow.apply(actor.id, task, status=TaskStatus.DONE.value, done_at=moment)
        view = await _view(uow, claim)
        await uow.commit()
    return view


# ---------------------------------------------------------------- the status machine


def allowed_transitions(actor: Actor, status: str) -> list[str]:
    """What the status buttons of a card may offer this actor."""
    targets = TRANSITIONS.get(ClaimStatus(status), frozenset())
    if status in CLOSED_STATUSES and actor.role not in REOPEN_ROLES:
        return []
    return sorted(targets)


async def change_status(
    uow: UnitOfWork,
    actor: Actor,
    claim_id: int,
    status: str,
    *,
    resolution: str | None = None,
    compensation: Decimal | str | None = None,
    override: bool = False,
    now: datetime | None = None,
) -> ClaimView:
    """Move a claim along new → investigating → resolved / rejected.

    Resolving and rejecting need a resolution text (what was done, or why the claim is
    unfounded). Resolving is refused while plan tasks are open unless a head or director
    passes `override=True`; the open tasks are then cancelled and the override audited.
    A closed claim can be reopened (to investigating) by a head or director only.
    """
    target = validation.choice("status", status, ClaimStatus).value
    closing = target in CLOSED_STATUSES
    text = (
        validation.text("resolution", resolution, max_len=validation.TEXT_MAX) if closing else None
    )
    amount = validation.money("compensation", compensation, allow_none=True)
    if amount is not None and target != ClaimStatus.RESOLVED:
        raise InvalidInput("compensation", "not_allowed")
    moment = now or utcnow()
    async with uow:
        claim = await _load(uow, actor, claim_id, lock=True)
        current = claim.status
        if target not in TRANSITIONS[ClaimStatus(current)] or (
            current in CLOSED_STATUSES and actor.role not in REOPEN_ROLES
        ):
            raise Conflict("transition", from_status=current, to_status=target)
        open_tasks = [t for t in await _plan(uow, claim.id) if t.status == TaskStatus.OPEN]
        overridden = False
        if target == ClaimStatus.RESOLVED and open_tasks:
            if not override:
                raise Conflict("open_tasks", count=len(open_tasks))
            require_role(actor, *REOPEN_ROLES, entity="override")
            overridden = True
        values: dict[str, Any] = {"status": target}
        if closing:
            values.update(resolution=text, resolved_at=moment)
            if amount is not None:
                values["compensation"] = amount
        else:
            values.update(resolved_at=None)
            if current in CLOSED_STATUSES:  # reopened: the escalation level stays as it was,
                values.update(resolution=None)  # so nobody is told twice of the same breach
        uow.apply(actor.id, claim, **values)
        if overridden:
            uow.audit(
                actor.id, claim, "override", {"open_tasks": [None, [t.id for t in open_tasks]]}
            )
        if closing:
            for task in open_tasks:
                uow.apply(actor.id, task, status=TaskStatus.CANCELLED.value)
        view = await _view(uow, claim)
        await uow.commit()
    return view


# ---------------------------------------------------------------- notification and escalation


async def _heads_of(uow: UnitOfWork, manager_id: int) -> list[int]:
    department = select(Manager.department_id).where(Manager.id == manager_id).scalar_subquery()
    rows = await uow.session.scalars(
        select(Manager.id)
        .where(
            Manager.role == Role.HEAD.value,
            Manager.active.is_(True),
            Manager.department_id.is_not(None),
            Manager.department_id == department,
        )
        .order_by(Manager.id)
    )
    return list(rows)


async def _directors(uow: UnitOfWork) -> list[int]:
    rows = await uow.session.scalars(
        select(Manager.id)
        .where(Manager.role == Role.DIRECTOR.value, Manager.active.is_(True))
        .order_by(Manager.id)
    )
    return list(rows)


def _unique(ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(ids))


async def notify_targets_on_file(uow: UnitOfWork, claim: Claim) -> list[int]:
    """Who hears of a new claim at once: for high and critical ones, the responsible
    manager and the heads of their department; nobody for the others."""
    if claim.priority not in URGENT:
        return []
    async with uow.read_only():
        return _unique([claim.responsible_id, *await _heads_of(uow, claim.responsible_id)])


async def recipients(uow: UnitOfWork, manager_ids: Sequence[int]) -> list[Manager]:
    """Who of `manager_ids` can be told (active, not blocking the bot), in the order given."""
    if not manager_ids:
        return []
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(Manager).where(
                Manager.id.in_(list(manager_ids)),
                Manager.active.is_(True),
                Manager.bot_blocked.is_(False),
            )
        )
        found = {m.id: m for m in rows}
    return [found[i] for i in _unique(manager_ids) if i in found]


def _epoch_ms(dialect: str, column: Any) -> ColumnElement[float]:
    """Milliseconds since 1970, rounded so that equal instants compare equal on SQLite too
    (julianday() is a float with millisecond resolution)."""
    if dialect == "sqlite":
        return func.round((func.julianday(column) - 2440587.5) * 86_400_000.0)
    return func.round(func.extract("epoch", column) * 1000)


async def claims_to_escalate(uow: UnitOfWork, now: datetime) -> list[EscalationDue]:
    """Open claims whose escalation level must rise at `now` (level 1 at due, 2 at twice)."""
    async with uow.read_only():
        dialect = uow.session.get_bind().dialect.name
        twice_due = _epoch_ms(dialect, Claim.due_at) * 2 - _epoch_ms(dialect, Claim.created_at)
        second = twice_due <= literal(round(now.timestamp() * 1000), BigInteger())
        rows = await uow.session.execute(
            select(Claim.id, Claim.escalation_level, Claim.responsible_id, second)
            .where(
                Claim.status.in_(OPEN_STATUSES),
                Claim.due_at <= now,
                Claim.escalation_level < 2,
                or_(Claim.escalation_level == 0, second),
            )
            .order_by(Claim.due_at, Claim.id)
        )
        return [
            EscalationDue(
                claim_id=cid, level=2 if late else 1, current_level=lvl, responsible_id=rid
            )
            for cid, lvl, rid, late in rows
        ]


async def mark_escalated(uow: UnitOfWork, claim_id: int, level: int) -> list[int]:
    """Raise a claim to `level` once; returns the managers to notify ([] if already done).

    Jumping from 0 straight to 2 (the scheduler was down) notifies the heads too.
    """
    if level not in (1, 2):
        raise InvalidInput("level", "out_of_range", min=1, max=2)
    async with uow:
        before = await uow.session.scalar(
            select(Claim.escalation_level).where(Claim.id == claim_id)
        )
        if before is None or before >= level:
            return []
        result = await uow.session.execute(  # compare-and-set: only one caller wins
            update(Claim)
            .where(
                Claim.id == claim_id,
                Claim.escalation_level == before,
                Claim.status.in_(OPEN_STATUSES),
            )
            .values(escalation_level=level)
            .returning(Claim.responsible_id)
        )
        responsible_id = result.scalar_one_or_none()
        if responsible_id is None:
            return []
        previous = int(before)
        uow.audit(None, ("claims", claim_id), "escalate", {"escalation_level": [previous, level]})
        targets: list[int] = []
        if previous < 1:
            targets += await _heads_of(uow, responsible_id)
        if level == 2 or not targets:
            targets += await _directors(uow)
        await uow.commit()
    return _unique(targets)
