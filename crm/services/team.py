"""The team as a head or director sees it: members with their figures, and who approves what;
the departments and the staff as the operator (the command line) finds them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, case, func, select

from crm import matching, validation
from crm.access import Actor, require_staff_manager, visible_owner
from crm.errors import AccessDenied, InvalidInput
from crm.models import Deal, Department, Manager, Task, utcnow
from crm.models.enums import OPEN_STAGES, Role, TaskStatus
from crm.money import cents
from crm.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str
    username: str | None
    role: Role
    open_deals: int
    open_amount: Decimal
    overdue_tasks: int
    bot_blocked: bool = False  # blocked the bot: gets no messages ...
    bot_blocked_at: datetime | None = None  # ... since then (None: from before it was recorded)


def _scope(actor: Actor) -> ColumnElement[bool]:
    """The active staff a head (their department) or a director (everyone) manages."""
    return (Manager.active.is_(True)) & visible_owner(actor, Manager.id)


async def overview(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10
) -> tuple[list[Member], int]:
    """One page of the team with open deals (count, sum) and overdue tasks, in one query."""
    require_staff_manager(actor)
    deals = (
        select(
            Deal.curator_id.label("manager_id"),
            func.count().label("n"),
            func.coalesce(func.sum(Deal.amount), 0).label("amount"),
        )
        .where(Deal.stage.in_([s.value for s in OPEN_STAGES]))
        .group_by(Deal.curator_id)
        .subquery()
    )
    overdue = (
        select(Task.assignee_id.label("manager_id"), func.count().label("n"))
        .where(Task.status == TaskStatus.OPEN.value, Task.due_at < utcnow())
        .group_by(Task.assignee_id)
        .subquery()
    )
    async with uow.read_only():
        total = await uow.session.scalar(
            select(func.count()).select_from(Manager).where(_scope(actor))
        )
        rows = await uow.session.execute(
            select(
                Manager.id,
                Manager.name,
                Manager.username,
                Manager.role,
                func.coalesce(deals.c.n, 0),
                func.coalesce(deals.c.amount, 0),
                func.coalesce(overdue.c.n, 0),
                Manager.bot_blocked,
                Manager.bot_blocked_at,
            )
            .outerjoin(deals, deals.c.manager_id == Manager.id)
            .outerjoin(overdue, overdue.c.manager_id == Manager.id)
            .where(_scope(actor))
            .order_by(Manager.name, Manager.id)
            .offset(offset)
            .limit(limit)
        )
        members = [
            Member(
                id=mid,
                name=name,
                username=username,
                role=Role(role),
                open_deals=int(n),
                open_amount=cents(Decimal(str(amount))),
                overdue_tasks=int(late),
                bot_blocked=bool(blocked),
                bot_blocked_at=blocked_at if blocked else None,
            )
            for mid, name, username, role, n, amount, late, blocked, blocked_at in rows
        ]
    return members, int(total or 0)


async def member(uow: UnitOfWork, actor: Actor, manager_id: int) -> Manager:
    """One member of the actor's team; AccessDenied alike for a stranger and a missing id."""
    require_staff_manager(actor)
    async with uow.read_only():
        manager = (
            await uow.session.scalars(
                select(Manager).where(Manager.id == manager_id, _scope(actor))
            )
        ).first()
    if manager is None:
        raise AccessDenied("manager")
    return manager


async def resolve_member(uow: UnitOfWork, actor: Actor, who: str) -> Manager:
    """A member of the actor's team by @username or by name (any case; a unique prefix will
    do; a typo too, as /find tolerates one: `Emly Clark` is Emily Clark).

    Names are compared in Python: SQLite folds case for ASCII only, and a team is small.
    The typo tolerance is crm.matching's, the one that tells two spellings of a person apart.
    """
    require_staff_manager(actor)
    wanted = validation.text("manager", who).casefold()
    async with uow.read_only():
        rows = (
            await uow.session.execute(
                select(Manager.id, Manager.name, Manager.username).where(_scope(actor))
            )
        ).all()
        if wanted.startswith("@"):
            handle = wanted[1:]
            ids = [r.id for r in rows if (r.username or "").casefold() == handle]
        else:
            ids = [r.id for r in rows if r.name.casefold() == wanted]
            if not ids:
                ids = [r.id for r in rows if r.name.casefold().startswith(wanted)]
            if not ids:
                ids = [r.id for r in rows if (r.username or "").casefold() == wanted]
            if not ids:
                key = matching.person_key(wanted)
                ids = [r.id for r in rows if matching.similar(matching.person_key(r.name), key)]
        if not ids:
            raise InvalidInput("manager", "not_found", name=who)
        if len(ids) > 1:
            raise InvalidInput("manager", "ambiguous", name=who)
        manager = await uow.session.get(Manager, ids[0])
        assert manager is not None
        return manager


async def approvers(uow: UnitOfWork, curator_id: int) -> list[Manager]:
    """Who is asked to approve a discount of this manager: the heads of their department,
    or the directors when the department has no head (or the manager has no department)."""
    async with uow.read_only():
        curator = await uow.session.get(Manager, curator_id)
        if curator is None:
            return []
        active = (Manager.active.is_(True), Manager.id != curator_id)
        heads: list[Manager] = []
        if curator.department_id is not None:
            heads = list(
                await uow.session.scalars(
                    select(Manager)
                    .where(
                        *active,
                        Manager.role == Role.HEAD.value,
                        Manager.department_id == curator.department_id,
                    )
                    .order_by(Manager.id)
                )
            )
        if heads:
            return heads
    return await directors(uow, besides=(curator_id,))


async def directors(uow: UnitOfWork, besides: Collection[int] = ()) -> list[Manager]:
    """The active directors, but those `besides`, in the order they joined."""
    async with uow.read_only():
        return list(
            await uow.session.scalars(
                select(Manager)
                .where(
                    Manager.active.is_(True),
                    Manager.role == Role.DIRECTOR.value,
                    Manager.id.not_in(list(besides)),
                )
                .order_by(Manager.id)
            )
        )


# --- for the operator (the command line: no member of staff acts) ------------------------


async def department(
    uow: UnitOfWork, name: str, *, create: bool = False
) -> tuple[Department, bool]:
    """The department called `name`, and whether it was created just now.

    A new name is created (audited, by nobody: the operator) only with `create`; without it,
    InvalidInput("department", "not_found") names the departments there are (`known`).
    """
    cleaned = validation.text("department", name)
    async with uow:
        found = await uow.session.scalar(select(Department).where(Department.name == cleaned))
        if found is not None:
            return found, False
        if not create:
            known = list(await uow.session.scalars(select(Department.name).order_by("name")))
            raise InvalidInput("department", "not_found", name=cleaned, known=known)
        made = Department(name=cleaned)
        uow.session.add(made)
        await uow.flush()
        uow.audit_created(None, made)
        await uow.commit()
    return made, True


async def roster(uow: UnitOfWork, limit: int = 40) -> list[tuple[int, str, Role]]:
    """(tg_id, name, role) of the active staff: directors, then heads, then managers, by name."""
    rank = case({Role.DIRECTOR.value: 0, Role.HEAD.value: 1}, value=Manager.role, else_=2)
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Manager.tg_id, Manager.name, Manager.role)
            .where(Manager.active.is_(True))
            .order_by(rank, Manager.name)
            .limit(limit)
        )
        return [(int(tg_id), name, Role(role)) for tg_id, name, role in rows]


async def by_tg_id(uow: UnitOfWork, tg_id: int) -> Manager | None:
    """The member of staff with this Telegram id, active or not."""
    async with uow.read_only():
        return (await uow.session.scalars(select(Manager).where(Manager.tg_id == tg_id))).first()
