""" "Not a duplicate": a pair a head or director says are two clients is never proposed again."""

from __future__ import annotations

from sqlalchemy import select

from crm.access import Actor, require_role
from crm.models import NotDuplicate
from crm.models.enums import Role
from crm.services.duplicates.merge import visible
from crm.uow import UnitOfWork


async def mark_not_duplicate(uow: UnitOfWork, actor: Actor, kind: str, a: int, b: int) -> None:
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="duplicates")
    first, second = sorted((a, b))
    async with uow:
        await visible(uow, actor, kind, first)
        await visible(uow, actor, kind, second)
        exists = await uow.session.scalar(
            select(NotDuplicate.id).where(
                NotDuplicate.kind == kind,
                NotDuplicate.first_id == first,
                NotDuplicate.second_id == second,
            )
        )
        if exists is None:
            mark = NotDuplicate(kind=kind, first_id=first, second_id=second, actor_id=actor.id)
            uow.session.add(mark)
            await uow.flush()
            uow.audit_created(actor.id, mark)
        await uow.commit()
