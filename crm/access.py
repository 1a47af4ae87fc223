"""Who may see and change what: the rules live here, not in the Telegram layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, or_, select, true
from sqlalchemy.orm import aliased

from crm.errors import AccessDenied
from crm.models import Company, Manager
from crm.models.enums import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """The member of staff on whose behalf a service call runs."""

    id: int
    role: Role
    department_id: int | None
    tg_id: int = 0
    name: str = ""
    timezone: str = "Europe/Moscow"
    language: str = "ru"

    @classmethod
    def of(cls, manager: Manager) -> Actor:
        return cls(
            id=manager.id,
            role=Role(manager.role),
            department_id=manager.department_id,
            tg_id=manager.tg_id,
            name=manager.name,
            timezone=manager.timezone,
            language=manager.language,
        )

    @property
    def is_director(self) -> bool:
        return self.role is Role.DIRECTOR

    @property
    def is_head(self) -> bool:
        return self.role is Role.HEAD


def visible_owner(
    actor: Actor, owner_column: SQLColumnExpression[int] | SQLColumnExpression[int | None]
) -> ColumnElement[bool]:
    """A WHERE clause limiting rows to those whose owner the actor may see."""
    if actor.role is Role.DIRECTOR:
        return true()
    if actor.role is Role.HEAD and actor.department_id is not None:
        team = select(Manager.id).where(Manager.department_id == actor.department_id)
        return owner_column.in_(team.scalar_subquery())
    return owner_column == actor.id


def can_see_owner(actor: Actor, owner: Manager) -> bool:
    return can_see(actor, owner.id, owner.department_id)


def can_see(actor: Actor, owner_id: int, owner_department_id: int | None) -> bool:
    """can_see_owner for an owner read as two columns (no Manager loaded)."""
    if actor.role is Role.DIRECTOR or owner_id == actor.id:
        return True
    return (
        actor.role is Role.HEAD
        and actor.department_id is not None
        and owner_department_id == actor.department_id
    )


def require_role(actor: Actor, *roles: Role, entity: str = "action") -> None:
    if actor.role not in roles:
        raise AccessDenied(entity)


def require_staff_manager(actor: Actor) -> None:
    """Heads and directors manage people; managers do not."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="team")


# The alias keeps the subquery from correlating with a query that joins companies itself.
# One alias made once: a fresh `aliased(Company)` in every call cost about 1 ms of CPU in
# the first statement built on it (SQLAlchemy sets the alias's columns up), paid by every
# deal card and stage move.
_VISIBLE_COMPANY = aliased(Company, name="visible_company")


def company_visible(actor: Actor, company_id: ColumnElement[int | None]) -> ColumnElement[bool]:
    """The company of `company_id` (a column or a value) is one the actor may see."""
    company = _VISIBLE_COMPANY
    return (
        select(company.id)
        .where(company.id == company_id, visible_owner(actor, company.curator_id))
        .exists()
    )


def contact_visible(actor: Actor, contact: Any) -> ColumnElement[bool]:
    """The contact (a Contact entity or alias) is one whose name the actor may read: they see
    its curator, or its company (whose card lists the names of its contacts)."""
    return or_(visible_owner(actor, contact.curator_id), company_visible(actor, contact.company_id))
