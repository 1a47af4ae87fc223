"""What a batch looks up before it is written: companies by name or INN, and whose clients
the importer sees (naming the curator of the others when a row is refused)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from crm.access import Actor, visible_owner
from crm.models import Company, Department, Manager
from crm.services.imports.cells import Rejected
from crm.services.imports.writers.statements import chunks
from crm.uow import UnitOfWork

Found = dict[str, tuple[int, int, str]]  # key -> (id, curator_id, name)


async def companies_by(uow: UnitOfWork, column: Any, keys: Iterable[str]) -> Found:
    """key (match_key or INN) -> the oldest company with it, whoever serves it."""
    found: Found = {}
    for chunk in chunks(sorted(set(keys))):
        rows = await uow.session.execute(
            select(column, Company.id, Company.curator_id, Company.name)
            .where(column.in_(chunk))
            .order_by(Company.id.desc())
        )
        for key, cid, curator, name in rows:
            found[str(key)] = (cid, curator, name)
    return found


async def visible_companies_by_key(uow: UnitOfWork, actor: Actor, keys: Iterable[str]) -> Found:
    """name_key -> the oldest visible company of that name (the buyer of a sale)."""
    found: Found = {}
    for chunk in chunks(sorted(set(keys))):
        rows = await uow.session.execute(
            select(Company.name_key, Company.id, Company.curator_id, Company.name)
            .where(Company.name_key.in_(chunk), visible_owner(actor, Company.curator_id))
            .order_by(Company.id.desc())
        )
        for key, cid, curator, name in rows:
            found[key] = (cid, curator, name)
    return found


async def companies_by_inn(uow: UnitOfWork, actor: Actor, inns: Iterable[str]) -> Found:
    """INN -> the oldest visible company with it."""
    found: Found = {}
    for chunk in chunks(sorted(set(inns))):
        stmt = select(Company.inn, Company.id, Company.curator_id, Company.name).where(
            Company.inn.in_(chunk), visible_owner(actor, Company.curator_id)
        )
        for inn, cid, curator, name in await uow.session.execute(stmt.order_by(Company.id.desc())):
            found[str(inn)] = (cid, curator, name)
    return found


class Reach:
    """Whose clients the importer sees, and who serves the others (for the refusal)."""

    def __init__(self, uow: UnitOfWork, actor: Actor) -> None:
        self.uow, self.actor = uow, actor
        self.people: dict[int, tuple[str, str | None, bool]] | None = None

    async def _load(self) -> dict[int, tuple[str, str | None, bool]]:
        if self.people is None:
            visible = set(
                await self.uow.session.scalars(
                    select(Manager.id).where(visible_owner(self.actor, Manager.id))
                )
            )
            rows = await self.uow.session.execute(
                select(Manager.id, Manager.name, Department.name).outerjoin(
                    Department, Department.id == Manager.department_id
                )
            )
            self.people = {mid: (name, dept, mid in visible) for mid, name, dept in rows}
        return self.people

    async def sees(self, curator_id: int) -> bool:
        return (await self._load()).get(curator_id, ("", None, False))[2]

    async def refusal(self, number: int, field: str, curator_id: int) -> Rejected:
        name, department, _ = (await self._load()).get(curator_id, ("?", None, False))
        return Rejected(
            number, field, "already_served", {"curator": name, "department": department or "—"}
        )
