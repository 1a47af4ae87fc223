"""Deals: open, line items with discount approval, stage moves, win and loss, reads.

Rules decided here (the product brief leaves them open):
- A deal is visible to whoever may see its curator or its company's curator, so the
  history of a client stays with the client when open deals are reassigned.
- Once a deal has lines, its amount is their total after discounts, written in the same
  transaction as every line change (a typed amount is refused then, and the sale written
  on Won takes revenue and cost from the same lines). A deal without lines keeps its typed
  amount; removing the last line leaves the amount at the total the lines last had.
- Won and lost are final for managers: only a head (of the department) or a director
  reopens a closed deal, and only into an open stage; won -> lost goes through a reopen.
  Reopening a won deal deletes its Sale; a lost deal's reason is cleared.
- A line above the acting manager's discount limit raises ApprovalRequired unless
  approval is requested; a pending or rejected line blocks winning. A rejected line's
  discount is cut to the curator's limit and the price the client sees has changed, so
  the manager confirms it with `change_discount` (or removes the line) before winning.
- Nobody approves a discount on a deal they curate themselves.
- Moving a deal to the stage it is already in is a no-op (a double tap in the chat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Protocol

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, case, func, or_, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from crm import search, validation
from crm.access import Actor, can_see_owner, require_role, visible_owner
from crm.errors import AccessDenied, ApprovalRequired, Conflict, InvalidInput
from crm.models import (
    AuditEntry,
    Company,
    Contact,
    Deal,
    DealLine,
    DealStageChange,
    Manager,
    Product,
    Sale,
    utcnow,
)
from crm.models.enums import (
    DEFAULT_PROBABILITY,
    OPEN_STAGES,
    ApprovalStatus,
    CompanyStage,
    DealStage,
    Role,
    SearchKind,
    funnel_rank,
)
from crm.money import cents
from crm.services import companies, payments
from crm.uow import UnitOfWork

SOURCE_MAX = 50
QUANTITY_MAX = Decimal("1e11")
UPDATABLE = (
    "title",
    "amount",
    "expected_close",
    "contact_id",
    "source",
    "next_step",
    "probability",
)
NEXT_STEP_MAX = 200
BLOCKING_APPROVALS = (ApprovalStatus.PENDING.value, ApprovalStatus.REJECTED.value)


@dataclass
class LineInput:
    product_id: int
    quantity: Decimal | int | str = 1
    discount_pct: Decimal | int | str = 0
    unit_price: Decimal | int | str | None = None  # None: the product's catalogue price


@dataclass
class DealInput:
    company_id: int
    title: str
    amount: Decimal | int | str | None = None  # None: the sum of the lines (0 without lines)
    contact_id: int | None = None
    expected_close: date | None = None
    source: str | None = None
    probability: int | None = None
    lines: list[LineInput] = field(default_factory=list)


class DealOpenedHook(Protocol):
    """Called inside the transaction that opens a deal, after the deal has its id.

    The composition root passes the playbook service's "create the default
    playbook's tasks" here; whatever it writes commits or rolls back with the deal.
    """

    async def __call__(self, uow: UnitOfWork, actor: Actor, deal: Deal) -> None: ...


@dataclass(frozen=True, slots=True)
class StageTotal:
    stage: DealStage
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Pipeline:
    stages: list[StageTotal]  # every open stage, in pipeline order, zeros included
    deals: list[Deal]  # one page of open deals, by stage then expected close
    total: int  # open deals in all stages


@dataclass(frozen=True, slots=True)
class DiscountDecision:
    """What the caller needs to tell the manager: the curator, the deal and the line."""

    deal: Deal
    line: DealLine
    curator: Manager
    approved: bool


# --- input checks -------------------------------------------------------------------


def _quantity(value: Decimal | int | str | None) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput("quantity", "empty")
    try:
        if isinstance(value, str):
            value = value.replace("\u00a0", "").replace(" ", "").replace(",", ".")
        qty = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput("quantity", "not_a_number") from exc
    if not qty.is_finite():
        raise InvalidInput("quantity", "not_a_number")
    if qty <= 0:
        raise InvalidInput("quantity", "not_positive")
    if qty >= QUANTITY_MAX:
        raise InvalidInput("quantity", "too_large")
    return qty.quantize(Decimal("0.001"))


def _probability(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("probability", "not_a_number")
    if not 0 <= value <= 100:
        raise InvalidInput("probability", "out_of_range", min=0, max=100)
    return value


def _expected_close(value: date | None) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise InvalidInput("expected_close", "not_a_date")
    return value if type(value) is date else date(value.year, value.month, value.day)


def clean_line(data: LineInput) -> dict[str, object]:
    if not isinstance(data.product_id, int) or isinstance(data.product_id, bool):
        raise InvalidInput("product_id", "unknown")
    return {
        "product_id": data.product_id,
        "quantity": _quantity(data.quantity),
        "discount_pct": validation.percent("discount_pct", data.discount_pct),
        "unit_price": validation.money("unit_price", data.unit_price, allow_none=True),
    }


def clean(data: DealInput) -> dict[str, object]:
    """Validated values; raises InvalidInput before anything is written."""
    return {
        "title": validation.text("title", data.title),
        "amount": validation.money("amount", data.amount, allow_none=True),
        "contact_id": data.contact_id,
        "expected_close": _expected_close(data.expected_close),
        "source": validation.optional_text("source", data.source, SOURCE_MAX),
        "probability": _probability(data.probability),
        "lines": [clean_line(line) for line in data.lines],
    }


# --- helpers ------------------------------------------------------------------------


def _visible(actor: Actor) -> ColumnElement[bool]:
    company_visible = (
        select(Company.id)
        .where(Company.id == Deal.company_id, visible_owner(actor, Company.curator_id))
        .exists()
    )
    return or_(visible_owner(actor, Deal.curator_id), company_visible)


async def _load(
    uow: UnitOfWork, actor: Actor, deal_id: int, *, lock: bool = False, lines: bool = True
) -> Deal:
    """The visible deal; `lines=False` spares a query where the lines are not needed."""
    stmt = (
        select(Deal)
        .where(Deal.id == deal_id, _visible(actor))
        .execution_options(populate_existing=True)
    )
    if lines:
        stmt = stmt.options(selectinload(Deal.lines))
    if lock:
        stmt = stmt.with_for_update(of=Deal)
    deal = (await uow.session.scalars(stmt)).first()
    if deal is None:
        raise AccessDenied("deal")
    return deal


async def reindex(uow: UnitOfWork, deal: Deal) -> None:
    await search.index(
        uow.session,
        SearchKind.DEAL,
        deal.id,
        deal.curator_id,
        deal.title,
        [deal.title, deal.company.name],
    )


async def _contact_of(uow: UnitOfWork, company_id: int, contact_id: int | None) -> int | None:
    if contact_id is None:
        return None
    owner = await uow.session.scalar(select(Contact.company_id).where(Contact.id == contact_id))
    if owner != company_id:
        raise InvalidInput("contact_id", "not_of_company")
    return contact_id


async def _discount_limit(uow: UnitOfWork, actor: Actor) -> Decimal:
    limit = await uow.session.scalar(select(Manager.max_discount_pct).where(Manager.id == actor.id))
    return Decimal(limit if limit is not None else 0)


async def _new_line(
    uow: UnitOfWork, values: dict[str, object], limit: Decimal, request_approval: bool
) -> DealLine:
    """A line from validated values; refuses a discount above `limit` unless approval is asked."""
    product = await uow.session.get(Product, values["product_id"])
    if product is None or not product.active:
        raise InvalidInput("product_id", "unknown")
    discount = values["discount_pct"]
    assert isinstance(discount, Decimal)
    approval = ApprovalStatus.NOT_NEEDED
    if discount > limit:
        if not request_approval:
            raise ApprovalRequired(discount=discount, limit=limit)
        approval = ApprovalStatus.PENDING
    price = values["unit_price"] if values["unit_price"] is not None else product.unit_price
    return DealLine(
        product=product,
        quantity=values["quantity"],
        unit_price=price,
        discount_pct=discount,
        approval=approval.value,
    )


def _lines_sum(lines: Sequence[DealLine]) -> Decimal:
    return sum((line.total for line in lines), Decimal("0.00"))


def _follow_lines(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
    """A deal with lines has their total as its amount (audited when it changes)."""
    if deal.lines:
        uow.apply(actor.id, deal, amount=_lines_sum(deal.lines))


def follows_lines(deal: Deal) -> bool:
    """The deal's amount is its lines' total (it has lines), so it is not typed."""
    return bool(deal.lines)


def _require_open(deal: Deal) -> None:
    if DealStage(deal.stage).is_closed:
        raise Conflict("deal_closed", stage=deal.stage)


# --- writes -------------------------------------------------------------------------


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
        deal = await _load(uow, actor, deal_id, lock=True)
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
    deal = await _load(uow, actor, deal_id, lock=True)
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


def _asked_by(line_id: int | SQLColumnExpression[int]) -> Select[int | None]:
    """Who last wrote the line (its audit trail): who asked for its pending discount."""
    return (
        select(AuditEntry.actor_id)
        .where(AuditEntry.entity == DealLine.__tablename__, AuditEntry.entity_id == line_id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )


async def decide_discount(
    uow: UnitOfWork, actor: Actor, line_id: int, approve: bool
) -> DiscountDecision:
    """A head of the curator's department or a director approves or rejects a discount.

    Rejected: the discount is cut to the curator's limit and the line stays "rejected"
    (which blocks winning) until the manager confirms the new price with the client.
    """
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="deal")
    async with uow:
        deal_id = await uow.session.scalar(select(DealLine.deal_id).where(DealLine.id == line_id))
        deal = None
        if deal_id is not None:
            deal = await uow.session.scalar(
                select(Deal)
                .where(Deal.id == deal_id)
                .options(selectinload(Deal.lines))
                .with_for_update(of=Deal)
                .execution_options(populate_existing=True)
            )
        curator = await uow.session.get(Manager, deal.curator_id) if deal else None
        if (
            deal is None
            or curator is None
            or curator.id == actor.id
            or not can_see_owner(actor, curator)
        ):
            raise AccessDenied("deal")
        line = next(line for line in deal.lines if line.id == line_id)
        if line.approval != ApprovalStatus.PENDING.value:
            raise Conflict("not_pending", approval=line.approval)
        asked_by = await uow.session.scalar(_asked_by(line.id))
        if asked_by == actor.id:
            raise Conflict("own_request")  # a discount is decided by someone other than who set it
        if approve:
            uow.apply(
                actor.id, line, approval=ApprovalStatus.APPROVED.value, approved_by_id=actor.id
            )
        else:
            uow.apply(
                actor.id,
                line,
                discount_pct=min(line.discount_pct, Decimal(curator.max_discount_pct)),
                approval=ApprovalStatus.REJECTED.value,
                approved_by_id=actor.id,
            )
            _follow_lines(uow, actor, deal)
        await uow.commit()
    return DiscountDecision(deal=deal, line=line, curator=curator, approved=approve)


async def pending_approvals(uow: UnitOfWork, actor: Actor) -> list[DealLine]:
    """Lines waiting for this head (their department's deals) or director (all), oldest first."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="deal")
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(DealLine)
            .join(Deal, Deal.id == DealLine.deal_id)
            .where(
                DealLine.approval == ApprovalStatus.PENDING.value,
                visible_owner(actor, Deal.curator_id),
                Deal.curator_id != actor.id,
            )
            .options(joinedload(DealLine.deal))
            .order_by(DealLine.id)
        )
        return list(rows)


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """One discount waiting for a decision, with what the approver needs to decide it."""

    line_id: int
    deal_id: int
    deal_title: str
    company_name: str
    product_name: str
    quantity: Decimal
    unit_price: Decimal
    discount_pct: Decimal
    asked_by: str  # who last changed the line (who asked), else the deal's curator
    limit_pct: Decimal  # that person's discount limit

    @property
    def total(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return cents(gross * (100 - self.discount_pct) / 100)


@dataclass(frozen=True, slots=True)
class PendingPage:
    items: list[PendingApproval]
    total: int


async def pending_page(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10
) -> PendingPage:
    """One page of the discounts this head (their department's) or director (all) decides.

    The same scope as `decide_discount`: never the actor's own deals. Oldest first.
    """
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="deal")
    scope = (
        DealLine.approval == ApprovalStatus.PENDING.value,
        visible_owner(actor, Deal.curator_id),
        Deal.curator_id != actor.id,
    )
    last_actor = _asked_by(DealLine.id).correlate(DealLine).scalar_subquery()
    asker = aliased(Manager)
    async with uow.read_only():
        total = await uow.session.scalar(
            select(func.count())
            .select_from(DealLine)
            .join(Deal, Deal.id == DealLine.deal_id)
            .where(*scope)
        )
        rows = await uow.session.execute(
            select(
                DealLine.id,
                Deal.id,
                Deal.title,
                Company.name,
                Product.name,
                DealLine.quantity,
                DealLine.unit_price,
                DealLine.discount_pct,
                asker.name,
                asker.max_discount_pct,
            )
            .join(Deal, Deal.id == DealLine.deal_id)
            .join(Company, Company.id == Deal.company_id)
            .join(Product, Product.id == DealLine.product_id)
            .join(asker, asker.id == func.coalesce(last_actor, Deal.curator_id))
            .where(*scope)
            .order_by(DealLine.id)
            .offset(max(0, offset))
            .limit(limit)
        )
        items = [
            PendingApproval(*row[:8], asked_by=row[8], limit_pct=Decimal(row[9] or 0))
            for row in rows
        ]
    return PendingPage(items=items, total=int(total or 0))


async def _win(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
    blocked = [line.id for line in deal.lines if line.approval in BLOCKING_APPROVALS]
    if blocked:
        raise Conflict("discount_not_approved", line_ids=blocked)
    costs = [line.product.unit_cost for line in deal.lines]
    cost = (
        cents(
            sum(
                (line.quantity * line.product.unit_cost for line in deal.lines),  # type: ignore[operator]
                Decimal(0),
            )
        )
        if costs and None not in costs
        else None
    )
    company = deal.company
    sold_before = await uow.session.scalar(
        select(Sale.id).where(Sale.company_id == company.id).limit(1)
    )
    sale = Sale(
        company_id=company.id,
        deal_id=deal.id,
        manager_id=deal.curator_id,
        sold_on=utcnow().date(),
        amount=_lines_sum(deal.lines) if deal.lines else deal.amount,
        cost=cost,
        source="deal",
    )
    await payments.on_win(uow, deal, sale)
    uow.session.add(sale)
    await uow.flush()
    uow.audit_created(actor.id, sale)
    stage = CompanyStage.REGULAR if sold_before is not None else CompanyStage.ONE_TIME
    uow.apply(actor.id, company, stage=stage.value)


async def _unwin(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
    sale = await uow.session.scalar(select(Sale).where(Sale.deal_id == deal.id))
    if sale is not None:
        uow.audit(actor.id, sale, "delete", {k: [v, None] for k, v in sale.as_dict().items()})
        await uow.session.delete(sale)


# --- the stage rules: which moves a card offers, who reopens and to which stage ------------

REOPEN_ROLES = (Role.HEAD, Role.DIRECTOR)
REOPEN_FALLBACK = DealStage.NEGOTIATION  # a closed deal whose history does not say


@dataclass(frozen=True)
class StageMoves:
    """The stage buttons a deal card may offer this actor (None/False: no such button)."""

    back: DealStage | None = None  # the previous open stage
    forward: DealStage | None = None  # the next open stage
    close: bool = False  # Won and Lost
    reopen: DealStage | None = None  # a closed deal: where Reopen takes it


def may_reopen(actor: Actor) -> bool:
    """Won and lost are final for managers: a head or a director reopens a closed deal."""
    return actor.role in REOPEN_ROLES


def reopen_stage(stage: str | DealStage, history: Sequence[DealStageChange]) -> DealStage:
    """The open stage a closed deal returns to: the stage it was closed from (the newest
    change into its closed stage; `history` newest first), else negotiation."""
    current = DealStage(stage)
    for change in history:
        if change.to_stage == current.value and change.from_stage:
            before = DealStage(change.from_stage)
            if not before.is_closed:
                return before
    return REOPEN_FALLBACK


def allowed_moves(actor: Actor, deal: Deal, history: Sequence[DealStageChange] = ()) -> StageMoves:
    """What the stage buttons of a deal card offer: an open deal moves one stage either
    way, is won or lost; a closed deal is reopened (heads, directors) to `reopen_stage`
    of its `history` (newest first), or nothing."""
    current = DealStage(deal.stage)
    if current.is_closed:
        if not may_reopen(actor):
            return StageMoves()
        return StageMoves(reopen=reopen_stage(current, history))
    index = OPEN_STAGES.index(current)
    return StageMoves(
        back=OPEN_STAGES[index - 1] if index > 0 else None,
        forward=OPEN_STAGES[index + 1] if index + 1 < len(OPEN_STAGES) else None,
        close=True,
    )


def move_target(
    stage: str | DealStage, lost_reason: str | None = None
) -> tuple[DealStage, str | None]:
    """The validated target stage, and the reason a lost deal needs."""
    target = validation.choice("stage", stage, DealStage)
    reason = None
    if target is DealStage.LOST:
        reason = validation.text("lost_reason", lost_reason, max_len=validation.TEXT_MAX)
    return target, reason


async def load_for_move(
    uow: UnitOfWork, actor: Actor, deal_id: int, target: DealStage, *, lines: bool = False
) -> Deal:
    """The visible deal, locked; its lines loaded when winning needs them (or `lines`)."""
    return await _load(uow, actor, deal_id, lock=True, lines=lines or target is DealStage.WON)


async def apply_move(
    uow: UnitOfWork, actor: Actor, deal: Deal, target: DealStage, reason: str | None
) -> bool:
    """Move a loaded deal inside an open unit of work; False if it is already there."""
    current = DealStage(deal.stage)
    if target is current:
        return False
    if current.is_closed:
        if target.is_closed:
            raise Conflict("deal_closed", stage=current.value)
        if not may_reopen(actor):
            raise AccessDenied("deal")
    if current is DealStage.WON:
        await _unwin(uow, actor, deal)
    if target is DealStage.WON:
        await _win(uow, actor, deal)
    uow.apply(
        actor.id,
        deal,
        stage=target.value,
        probability=DEFAULT_PROBABILITY[target],
        closed_at=utcnow() if target.is_closed else None,
        lost_reason=reason,
    )
    # derived from the stage history (the funnel reads it), so not audited on its own
    deal.reached_rank = max(deal.reached_rank or 0, funnel_rank(target.value))
    uow.session.add(
        DealStageChange(
            deal_id=deal.id,
            from_stage=current.value,
            to_stage=target.value,
            manager_id=actor.id,
        )
    )
    return True


async def move(
    uow: UnitOfWork,
    actor: Actor,
    deal_id: int,
    stage: str | DealStage,
    lost_reason: str | None = None,
) -> Deal:
    """Move a deal to `stage`; the deal returned has its lines loaded only when it was won."""
    target, reason = move_target(stage, lost_reason)
    async with uow:
        # the lines matter only to winning; a move between open stages spares their query
        deal = await load_for_move(uow, actor, deal_id, target)
        if await apply_move(uow, actor, deal, target, reason):
            await uow.commit()
    return deal


def _required_probability(value: int | None) -> int:
    checked = _probability(value)
    if checked is None:
        raise InvalidInput("probability", "empty")
    return checked


def _clean_changes(changes: dict[str, object]) -> dict[str, object]:
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "unknown_field")
    cleaners = {
        "title": lambda v: validation.text("title", v),
        "amount": lambda v: validation.money("amount", v),
        "expected_close": _expected_close,
        "contact_id": lambda v: v,
        "source": lambda v: validation.optional_text("source", v, SOURCE_MAX),
        "next_step": lambda v: validation.optional_text("next_step", v, NEXT_STEP_MAX),
        "probability": _required_probability,
    }
    return {k: cleaners[k](v) for k, v in changes.items()}  # type: ignore[no-untyped-call]


async def update(uow: UnitOfWork, actor: Actor, deal_id: int, **changes: object) -> Deal:
    """Change some fields; only the fields given are validated and written."""
    values = _clean_changes(changes)
    async with uow:
        deal = await _load(uow, actor, deal_id, lock=True)
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


# --- reads --------------------------------------------------------------------------


async def get(uow: UnitOfWork, actor: Actor, deal_id: int, *, lines: bool = True) -> Deal:
    """The deal with its company and lines (and their products), inside an open unit of work.

    AccessDenied alike whether the deal is absent or out of the actor's reach.
    """
    return await _load(uow, actor, deal_id, lines=lines)


_STAGE_ORDER = case({s.value: i for i, s in enumerate(OPEN_STAGES)}, value=Deal.stage, else_=99)


async def open_by_stage(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10
) -> Pipeline:
    scope = (Deal.stage.in_([s.value for s in OPEN_STAGES]), _visible(actor))
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Deal.stage, func.count(), func.coalesce(func.sum(Deal.amount), 0))
            .where(*scope)
            .group_by(Deal.stage)
        )
        totals = {stage: (int(n), Decimal(str(s))) for stage, n, s in rows}
        page = await uow.session.scalars(
            select(Deal)
            .where(*scope)
            .order_by(_STAGE_ORDER, Deal.expected_close.is_(None), Deal.expected_close, Deal.id)
            .offset(offset)
            .limit(limit)
        )
        deals = list(page)
    stages = [
        StageTotal(
            s,
            totals.get(s.value, (0, Decimal(0)))[0],
            cents(totals.get(s.value, (0, Decimal(0)))[1]),
        )
        for s in OPEN_STAGES
    ]
    return Pipeline(stages=stages, deals=deals, total=sum(t.count for t in stages))


async def for_company(
    uow: UnitOfWork, actor: Actor, company_id: int, open_only: bool = True
) -> list[Deal]:
    async with uow.read_only():
        await companies.get(uow, actor, company_id)
        stmt = select(Deal).where(Deal.company_id == company_id)
        if open_only:
            stmt = stmt.where(Deal.stage.in_([s.value for s in OPEN_STAGES]))
        rows = await uow.session.scalars(stmt.order_by(Deal.created_at.desc(), Deal.id.desc()))
        return list(rows)


async def stage_history(uow: UnitOfWork, actor: Actor, deal_id: int) -> list[DealStageChange]:
    async with uow.read_only():
        await _load(uow, actor, deal_id)
        rows = await uow.session.scalars(
            select(DealStageChange)
            .where(DealStageChange.deal_id == deal_id)
            .order_by(DealStageChange.changed_at, DealStageChange.id)
        )
        return list(rows)
