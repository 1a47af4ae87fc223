"""Open a deal, change its lines (the amount follows them, in the same
transaction) and its fields."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crm import validation
from crm.access import Actor
from crm.errors import AccessDenied, ApprovalRequired, Conflict
from crm.models import Deal, DealLine, DealStageChange
from crm.models.enums import DEFAULT_PROBABILITY, ApprovalStatus, DealStage
from crm.services import companies, deal_access
from crm.services.deals.common import (
    _contact_of,
    _discount_limit,
    _follow_lines,
    _lines_sum,
    _new_line,
    _require_open,
    follows_lines,
    reindex,
)
from crm.services.deals.inputs import (
    DealInput,
    DealOpenedHook,
    LineInput,
    _clean_changes,
    _quantity,
    clean,
    clean_line,
)
from crm.uow import UnitOfWork


async def open(
    uow: UnitOfWork,
    actor: Actor,
    data: DealInput,
    *,
    request_approval: bool = False,
    on_opened: DealOpenedHook | None = None,
) -> Deal:
    values = clean(data)
    line_values: list[dict[str, object]] = values.pop("lines")  # type: ignore[assignment]
    async with uow:
        company = await companies.get(uow, actor, data.company_id)
        values["contact_id"] = await _contact_of(uow, company.id, data.contact_id)
        limit = await _discount_limit(uow, actor)
        lines = [await _new_line(uow, v, limit, request_approval) for v in line_values]
        if lines or values["amount"] is None:  # the lines' total wins over a typed amount
            values["amount"] = _lines_sum(lines)
        if values["probability"] is None:
            values["probability"] = DEFAULT_PROBABILITY[DealStage.LEAD]
        deal = Deal(
            **values,
            company=company,
            curator_id=company.curator_id,
            stage=DealStage.LEAD.value,
            reached_rank=0,
            lines=lines,
        )
        uow.session.add(deal)
        await uow.flush()
        uow.session.add(
            DealStageChange(
                deal_id=deal.id, from_stage=None, to_stage=DealStage.LEAD.value, manager_id=actor.id
            )
        )
        uow.audit_created(actor.id, deal)
        for line in lines:
            uow.audit_created(actor.id, line)
        await reindex(uow, deal)
        if on_opened is not None:
            await on_opened(uow, actor, deal)
        await uow.commit()
    return deal


async def add_line(
    uow: UnitOfWork,
    actor: Actor,
    deal_id: int,
    data: LineInput,
    *,
    request_approval: bool = False,
) -> DealLine:
    values = clean_line(data)
    async with uow:
        deal = await deal_access.load(uow, actor, deal_id, lock=True)
        _require_open(deal)
        line = await _new_line(uow, values, await _discount_limit(uow, actor), request_approval)
        deal.lines.append(line)
        await uow.flush()
        uow.audit_created(actor.id, line)
        _follow_lines(uow, actor, deal)
        await uow.commit()
    return line


async def _line_of(uow: UnitOfWork, actor: Actor, line_id: int) -> tuple[Deal, DealLine]:
    deal_id = await uow.session.scalar(select(DealLine.deal_id).where(DealLine.id == line_id))
    if deal_id is None:
        raise AccessDenied("deal")
    deal = await deal_access.load(uow, actor, deal_id, lock=True)
    line = next(line for line in deal.lines if line.id == line_id)
    return deal, line


async def change_discount(
    uow: UnitOfWork,
    actor: Actor,
    line_id: int,
    discount_pct: Decimal | int | str,
    *,
    request_approval: bool = False,
) -> DealLine:
    """Set a line's discount again; within the limit it needs no approval any more."""
    discount = validation.percent("discount_pct", discount_pct)
    async with uow:
        deal, line = await _line_of(uow, actor, line_id)
        _require_open(deal)
        if discount == line.discount_pct and line.approval == ApprovalStatus.APPROVED.value:
            return line
        limit = await _discount_limit(uow, actor)
        approval = ApprovalStatus.NOT_NEEDED
        if discount > limit:
            if not request_approval:
                raise ApprovalRequired(discount=discount, limit=limit)
            approval = ApprovalStatus.PENDING
        uow.apply(
            actor.id, line, discount_pct=discount, approval=approval.value, approved_by_id=None
        )
        _follow_lines(uow, actor, deal)
        await uow.commit()
    return line


async def change_quantity(
    uow: UnitOfWork, actor: Actor, line_id: int, quantity: Decimal | int | str
) -> DealLine:
    """Set a line's quantity; its discount (and the approval of it) stays as it is."""
    qty = _quantity(quantity)
    async with uow:
        deal, line = await _line_of(uow, actor, line_id)
        _require_open(deal)
        if uow.apply(actor.id, line, quantity=qty):
            _follow_lines(uow, actor, deal)
            await uow.commit()
    return line


async def remove_line(uow: UnitOfWork, actor: Actor, line_id: int) -> Deal:
    async with uow:
        deal, line = await _line_of(uow, actor, line_id)
        _require_open(deal)
        uow.audit(actor.id, line, "delete", {k: [v, None] for k, v in line.as_dict().items()})
        deal.lines.remove(line)
        _follow_lines(uow, actor, deal)
        await uow.flush()
        await uow.commit()
    return deal


async def update(uow: UnitOfWork, actor: Actor, deal_id: int, **changes: object) -> Deal:
    """Change some fields; only the fields given are validated and written."""
    values = _clean_changes(changes)
    async with uow:
        deal = await deal_access.load(uow, actor, deal_id, lock=True)
        _require_open(deal)  # a closed deal's sale and reports stand on it: reopen first
        if "amount" in values and follows_lines(deal) and values["amount"] != deal.amount:
            raise Conflict("amount_follows_lines")
        if "contact_id" in values:
            values["contact_id"] = await _contact_of(
                uow,
                deal.company_id,
                values["contact_id"],  # type: ignore[arg-type]
            )
        changed = uow.apply(actor.id, deal, **values)
        if "title" in changed:
            await reindex(uow, deal)
        await uow.commit()
    return deal
