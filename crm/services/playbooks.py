"""Sales playbooks: a director's typical plan of work, turned into tasks.

A playbook has a kind (deal, claim or event) and steps, each a title and an offset in
days. At most one playbook per kind is the default. `apply_playbook` runs inside the
caller's open unit of work (the deal, claim or event being created), so the tasks
commit or roll back with the record.

Due times: a step with offset 0 is due at `start`; a step with offset N >= 1 is due at
09:00 in the assignee's timezone, N local days after `start`'s local date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select

from crm import validation, when
from crm.access import Actor, require_role
from crm.errors import AccessDenied, InvalidInput
from crm.models import Claim, Deal, Event, Manager, Playbook, PlaybookStep, Task, utcnow
from crm.models.enums import PlaybookKind, Role, TaskStatus
from crm.uow import UnitOfWork

MAX_STEPS = 30
MAX_OFFSET_DAYS = 365
TASK_KIND = {"deal": "deal_plan", "claim": "claim_plan", "event": "event_plan"}


@dataclass
class StepInput:
    title: str
    offset_days: int = 0


@dataclass
class PlaybookInput:
    name: str
    kind: str = PlaybookKind.DEAL.value
    steps: list[StepInput | tuple[str, int]] = field(default_factory=list)
    is_default: bool = False


def clean_steps(steps: Sequence[StepInput | tuple[str, int]]) -> list[dict[str, Any]]:
    """Validated steps (position, title, offset_days); raises InvalidInput naming the field."""
    if not steps:
        raise InvalidInput("steps", "empty")
    if len(steps) > MAX_STEPS:
        raise InvalidInput("steps", "too_many", max=MAX_STEPS)
    cleaned = []
    for position, step in enumerate(steps):
        title, offset = (step.title, step.offset_days) if isinstance(step, StepInput) else step
        if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET_DAYS:
            raise InvalidInput("offset_days", "out_of_range", min=0, max=MAX_OFFSET_DAYS)
        cleaned.append(
            {"position": position, "title": validation.text("step", title), "offset_days": offset}
        )
    return cleaned


def clean(data: PlaybookInput) -> dict[str, Any]:
    return {
        "name": validation.text("name", data.name),
        "kind": validation.choice("kind", data.kind, PlaybookKind).value,
        "is_default": bool(data.is_default),
        "steps": clean_steps(data.steps),
    }


# ------------------------------------------------------------------ a director's playbooks
#
# A director manages the playbooks: they alone read them all, each with its steps (the
# /playbook screens). Everyone on the staff reads the playbooks of deals, to choose the
# plan of a new deal (`choices`); claims and events take their kind's default themselves.


def may_manage(actor: Actor) -> bool:
    """Whether the actor sets up playbooks (and so reads them all)."""
    return actor.role is Role.DIRECTOR


def check_may_manage(actor: Actor) -> None:
    """AccessDenied unless `may_manage`."""
    require_role(actor, Role.DIRECTOR, entity="playbook")


async def create(uow: UnitOfWork, actor: Actor, data: PlaybookInput) -> Playbook:
    check_may_manage(actor)
    values = clean(data)
    steps = values.pop("steps")
    async with uow:
        if values["is_default"]:
            await _clear_default(uow, actor, values["kind"])
        playbook = Playbook(**values, steps=[PlaybookStep(**s) for s in steps])
        uow.session.add(playbook)
        await uow.flush()
        uow.audit_created(actor.id, playbook)
        for step in playbook.steps:
            uow.audit_created(actor.id, step)
        await uow.commit()
    return playbook


async def _clear_default(uow: UnitOfWork, actor: Actor, kind: str) -> None:
    current = await uow.session.scalars(
        select(Playbook).where(Playbook.kind == kind, Playbook.is_default.is_(True))
    )
    for other in current:
        uow.apply(actor.id, other, is_default=False)


async def _load(uow: UnitOfWork, playbook_id: int) -> Playbook:
    playbook = await uow.session.get(Playbook, playbook_id)
    if playbook is None:
        raise AccessDenied("playbook")
    return playbook


async def set_default(uow: UnitOfWork, actor: Actor, playbook_id: int) -> Playbook:
    check_may_manage(actor)
    async with uow:
        playbook = await _load(uow, playbook_id)
        if not playbook.is_default:
            await _clear_default(uow, actor, playbook.kind)
            uow.apply(actor.id, playbook, is_default=True)
        await uow.commit()
    return playbook


async def update_steps(
    uow: UnitOfWork, actor: Actor, playbook_id: int, steps: Sequence[StepInput | tuple[str, int]]
) -> Playbook:
    """Replace the steps of a playbook; tasks it already created stay as they are."""
    check_may_manage(actor)
    cleaned = clean_steps(steps)
    async with uow:
        playbook = await _load(uow, playbook_id)
        before = [[s.title, s.offset_days] for s in playbook.steps]
        after = [[s["title"], s["offset_days"]] for s in cleaned]
        if before != after:
            playbook.steps = [PlaybookStep(**s) for s in cleaned]  # the old ones are orphans
            await uow.flush()
            uow.audit(actor.id, playbook, "update", {"steps": [before, after]})
        await uow.commit()
    return playbook


async def delete(uow: UnitOfWork, actor: Actor, playbook_id: int) -> None:
    """Remove a playbook; tasks it already created stay."""
    check_may_manage(actor)
    async with uow:
        playbook = await _load(uow, playbook_id)
        uow.audit(actor.id, playbook, "delete", {"name": [playbook.name, None]})
        await uow.session.delete(playbook)
        await uow.commit()


# ------------------------------------------------------------------ reading them


def _listed(kind: str | None) -> Select[Playbook]:
    stmt = select(Playbook).order_by(Playbook.kind, Playbook.is_default.desc(), Playbook.name)
    if kind is not None:
        stmt = stmt.where(Playbook.kind == validation.choice("kind", kind, PlaybookKind).value)
    return stmt


async def list_playbooks(uow: UnitOfWork, actor: Actor, kind: str | None = None) -> list[Playbook]:
    """The playbooks (of `kind`), the default of each kind first: for a director."""
    check_may_manage(actor)
    async with uow.read_only():
        return list(await uow.session.scalars(_listed(kind)))


async def get(uow: UnitOfWork, actor: Actor, playbook_id: int) -> Playbook:
    """One playbook with its steps: for a director (AccessDenied alike when it is gone)."""
    check_may_manage(actor)
    async with uow.read_only():
        return await _load(uow, playbook_id)


async def choices(uow: UnitOfWork, actor: Actor) -> list[Playbook]:
    """The deal playbooks, the default first: whoever opens a deal (any role) chooses
    its plan among them."""
    async with uow.read_only():
        return list(await uow.session.scalars(_listed(PlaybookKind.DEAL.value)))


# ------------------------------------------------------------------ applying a playbook


async def find(uow: UnitOfWork, kind: str, playbook_id: int | None = None) -> Playbook | None:
    """The chosen playbook (it must be of `kind`) or the default of `kind`; inside an open uow."""
    if playbook_id is not None:
        playbook = await uow.session.get(Playbook, playbook_id)
        if playbook is None or playbook.kind != kind:
            raise AccessDenied("playbook")
        return playbook
    return (
        await uow.session.scalars(
            select(Playbook)
            .where(Playbook.kind == kind, Playbook.is_default.is_(True))
            .order_by(Playbook.id.desc())
            .limit(1)
        )
    ).first()


def due_at(start: datetime, offset_days: int, tz: str) -> datetime:
    if offset_days == 0:
        return start
    local_day = when.to_local(start, tz).date() + timedelta(days=offset_days)
    naive = datetime.combine(local_day, when.DEFAULT_TIME)
    try:
        return when.localise(naive, when.zone_of(tz))
    except InvalidInput as err:  # 09:00 inside a DST change: take the later reading
        return err.params["options"][-1]


async def apply_playbook(
    uow: UnitOfWork,
    kind: str,
    record: Deal | Claim | Event,
    assignee_id: int,
    start: datetime,
    playbook_id: int | None = None,
    *,
    actor_id: int | None = None,
) -> list[Task]:
    """Create the tasks of a playbook for `record` inside the caller's open unit of work.

    Uses the chosen playbook or the default of `kind`; with neither it creates nothing
    and returns []. Each task is audited as created by `actor_id`.
    """
    kind = validation.choice("kind", kind, PlaybookKind).value
    playbook = await find(uow, kind, playbook_id)
    if playbook is None:
        return []
    tz = await uow.session.scalar(select(Manager.timezone).where(Manager.id == assignee_id))
    if tz is None:
        raise AccessDenied("manager")
    links: dict[str, int | None] = {f"{kind}_id": record.id}
    links["company_id"] = getattr(record, "company_id", None)
    if hasattr(record, "contact_id"):
        links["contact_id"] = record.contact_id
    tasks = [
        Task(
            title=step.title,
            due_at=due_at(start, step.offset_days, tz),
            assignee_id=assignee_id,
            created_by_id=actor_id,
            status=TaskStatus.OPEN.value,
            kind=TASK_KIND[kind],
            reminded_late=False,
            snooze_count=0,
            created_at=start,
            **links,
        )
        for step in playbook.steps
    ]
    uow.session.add_all(tasks)
    await uow.flush()
    for task in tasks:
        uow.audit_created(actor_id, task)
    return tasks


async def deal_opened(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
    """The `on_opened` hook of `deals.open`: the default deal playbook's tasks for the
    deal's curator, starting now."""
    await apply_playbook(
        uow, PlaybookKind.DEAL.value, deal, deal.curator_id, utcnow(), actor_id=actor.id
    )


def deal_opened_with(playbook_id: int) -> Any:
    """An `on_opened` hook applying a chosen playbook instead of the default."""

    async def hook(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
        await apply_playbook(
            uow,
            PlaybookKind.DEAL.value,
            deal,
            deal.curator_id,
            utcnow(),
            playbook_id,
            actor_id=actor.id,
        )

    return hook


async def plan_steps(uow: UnitOfWork, kind: str) -> list[tuple[str, int]] | None:
    """(title, offset_days) of the default playbook of `kind`, or None: for services that
    build their own tasks (claims keeps its SLA cap on due times)."""
    playbook = await find(uow, validation.choice("kind", kind, PlaybookKind).value)
    if playbook is None:
        return None
    return [(s.title, s.offset_days) for s in playbook.steps]


__all__ = [
    "PlaybookInput",
    "StepInput",
    "apply_playbook",
    "check_may_manage",
    "choices",
    "clean_steps",
    "create",
    "deal_opened",
    "deal_opened_with",
    "delete",
    "find",
    "get",
    "list_playbooks",
    "may_manage",
    "plan_steps",
    "set_default",
    "update_steps",
]
