"""Invitees: added by segment (companies' contacts with an email, once each), the
segments' values, the list."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, case, cast, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from crm import search
from crm.access import Actor, can_see_owner, visible_owner
from crm.db import rowcount
from crm.errors import AccessDenied, InvalidInput
from crm.models import Company, Contact, EventInvitee, utcnow
from crm.models.enums import InviteeStatus
from crm.services.events.inputs import TOKEN_BYTES, Segment, clean_segment
from crm.services.events.reading import _load, _still_open
from crm.uow import UnitOfWork


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
class InviteeRow:
    invitee: EventInvitee
    contact_name: str
    email: str | None
    company_name: str | None


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
