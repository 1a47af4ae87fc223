"""What a card in the chat shows, read in one short read-only transaction each."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import func, select

from crm import search
from crm.access import Actor, contact_visible, visible_owner
from crm.models import (
    Claim,
    Company,
    Contact,
    Deal,
    DealLine,
    DealStageChange,
    Interaction,
    Manager,
    Sale,
    utcnow,
)
from crm.models.enums import OPEN_STAGES, DealStage, SearchKind
from crm.money import cents
from crm.services import claims, companies, contacts, deals, holdings, payments
from crm.services.business import replies
from crm.services.holdings import Family
from crm.uow import UnitOfWork
from crm.when import to_local

PREVIEW = 5


@dataclass(frozen=True)
class CompanyCard:
    company: Company
    curator_name: str
    parent_name: str | None  # only when the reader may see the parent
    contacts: list[Contact]
    contacts_total: int
    open_deals: list[Deal]
    open_deals_total: int
    open_deals_amount: Decimal
    last_interactions: list[Interaction]
    open_claims: list[Claim]  # only those the reader may see
    overdue: Decimal  # unpaid past the due dates, in the reader's today
    family: Family  # the visible parent and subsidiaries


@dataclass(frozen=True)
class ContactCard:
    contact: Contact
    company_name: str | None
    curator_name: str
    last_interactions: list[Interaction]
    open_deals: list[Deal]
    # the actor may write to the contact in Telegram (their business chat, can_reply)
    telegram: bool = False


@dataclass(frozen=True)
class DealCard:
    deal: Deal
    curator_name: str
    contact_name: str | None
    lines: list[DealLine]
    history: list[DealStageChange]
    sale: Sale | None = None  # a won deal's sale (its due and paid dates)


async def _name_of(uow: UnitOfWork, manager_id: int) -> str:
    return await uow.session.scalar(select(Manager.name).where(Manager.id == manager_id)) or ""


async def _company_name(uow: UnitOfWork, actor: Actor, company_id: int | None) -> str | None:
    """The company's name if the actor may see the company; None otherwise."""
    if company_id is None:
        return None
    return await uow.session.scalar(
        select(Company.name).where(
            Company.id == company_id, visible_owner(actor, Company.curator_id)
        )
    )


async def _last_interactions(uow: UnitOfWork, *where: object) -> list[Interaction]:
    rows = await uow.session.scalars(
        select(Interaction)
        .where(*where)  # type: ignore[arg-type]
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(3)
    )
    return list(rows)


async def company_card(uow: UnitOfWork, actor: Actor, company_id: int) -> CompanyCard:
    """The card's figures are read in one statement, and a list they say is empty (no
    subsidiaries, contacts, open deals or open claims) is not queried: a statement costs
    the bot more CPU than the database (bench/bench_dispatcher.py, case card)."""
    async with uow.read_only():
        company = await companies.get(uow, actor, company_id)
        open_scope = (
            Deal.company_id == company_id,
            Deal.stage.in_([s.value for s in OPEN_STAGES]),
        )
        today = to_local(utcnow(), actor.timezone).date()
        figures = (
            await uow.session.execute(
                select(
                    holdings.subsidiaries_count(actor, company_id),
                    select(func.count())
                    .select_from(Contact)
                    .where(Contact.company_id == company_id)
                    .scalar_subquery(),
                    select(func.count()).where(*open_scope).scalar_subquery(),
                    select(func.coalesce(func.sum(Deal.amount), 0))
                    .where(*open_scope)
                    .scalar_subquery(),
                    claims.open_count(actor, company_id),
                    payments.overdue_query(company_id, today).scalar_subquery(),
                )
            )
        ).one()
        subsidiaries, contacts_total, deal_count, deal_sum, claims_open, overdue = figures
        relatives = await holdings.family(uow, actor, company, subsidiaries=int(subsidiaries))
        contact_rows: list[Contact] = []
        if contacts_total:
            contact_rows = list(
                await uow.session.scalars(
                    select(Contact)
                    .where(Contact.company_id == company_id)
                    .order_by(Contact.name, Contact.id)
                    .limit(PREVIEW)
                )
            )
        deal_rows: list[Deal] = []
        if deal_count:
            deal_rows = list(
                await uow.session.scalars(
                    select(Deal).where(*open_scope).order_by(Deal.created_at.desc()).limit(PREVIEW)
                )
            )
        open_claims = (
            await claims.open_for_company(uow, actor, company_id, PREVIEW) if claims_open else []
        )
        return CompanyCard(
            company=company,
            curator_name=company.curator.name,
            parent_name=relatives.parent.name if relatives.parent else None,
            family=relatives,
            contacts=contact_rows,
            contacts_total=int(contacts_total or 0),
            open_deals=deal_rows,
            open_deals_total=int(deal_count or 0),
            open_deals_amount=cents(Decimal(str(deal_sum or 0))),
            last_interactions=await _last_interactions(uow, Interaction.company_id == company_id),
            open_claims=open_claims,
            overdue=Decimal(str(overdue or 0)),
        )


async def contact_card(uow: UnitOfWork, actor: Actor, contact_id: int) -> ContactCard:
    async with uow.read_only():
        contact = await contacts.get(uow, actor, contact_id)
        open_deals: list[Deal] = []
        if contact.company_id is not None:
            open_deals = list(
                await uow.session.scalars(
                    select(Deal)
                    .where(
                        Deal.contact_id == contact_id,
                        Deal.stage.in_([s.value for s in OPEN_STAGES]),
                    )
                    .limit(PREVIEW)
                )
            )
        return ContactCard(
            contact=contact,
            company_name=await _company_name(uow, actor, contact.company_id),
            curator_name=await _name_of(uow, contact.curator_id),
            last_interactions=await _last_interactions(uow, Interaction.contact_id == contact_id),
            open_deals=open_deals,
            telegram=bool(await replies.writable(uow, actor, [contact_id])),
        )


async def deal_card(uow: UnitOfWork, actor: Actor, deal_id: int) -> DealCard:
    async with uow.read_only():
        deal = await deals.get(uow, actor, deal_id, lines=False)
        return await _deal_card(uow, actor, deal)


async def move_deal(
    uow: UnitOfWork,
    actor: Actor,
    deal_id: int,
    stage: str | DealStage,
    lost_reason: str | None = None,
) -> DealCard:
    """deals.move, and the moved deal's card read in the same transaction.

    A stage button answers with the card again: one transaction instead of two spares
    a BEGIN and the deal's second read (bench/bench_dispatcher.py, case move).
    """
    target, reason = deals.move_target(stage, lost_reason)
    async with uow:
        deal = await deals.load_for_move(uow, actor, deal_id, target)
        moved = await deals.apply_move(uow, actor, deal, target, reason)
        if moved:
            await uow.flush()
        card = await _deal_card(uow, actor, deal)
        if moved:
            await uow.commit()
    return card


async def _deal_card(uow: UnitOfWork, actor: Actor, deal: Deal) -> DealCard:
    """The card of a loaded deal, inside an open unit of work.

    The lines are read with a plain query (their products joined): cheaper than
    selectinload's machinery for the one deal of a card.
    """
    lines = list(
        await uow.session.scalars(
            select(DealLine).where(DealLine.deal_id == deal.id).order_by(DealLine.id)
        )
    )
    history = list(
        await uow.session.scalars(
            select(DealStageChange)
            .where(DealStageChange.deal_id == deal.id)
            .order_by(DealStageChange.changed_at.desc(), DealStageChange.id.desc())
            .limit(PREVIEW)
        )
    )
    curator_name = actor.name if deal.curator_id == actor.id and actor.name else None
    contact_name = None
    if deal.contact_id is not None or curator_name is None:
        names = (
            await uow.session.execute(
                select(
                    select(Manager.name).where(Manager.id == deal.curator_id).scalar_subquery(),
                    select(Contact.name)
                    .where(Contact.id == deal.contact_id, contact_visible(actor, Contact))
                    .scalar_subquery(),
                )
            )
        ).one()
        curator_name = curator_name or names[0] or ""
        contact_name = names[1]
    sale = None
    if deal.stage == DealStage.WON.value:
        sale = await uow.session.scalar(select(Sale).where(Sale.deal_id == deal.id))
    return DealCard(
        deal=deal,
        curator_name=curator_name,
        contact_name=contact_name,
        lines=lines,
        history=history,
        sale=sale,
    )


async def find(
    uow: UnitOfWork,
    actor: Actor,
    query: str,
    kinds: tuple[SearchKind, ...] = tuple(SearchKind),
    limit: int = 10,
) -> list[search.Hit]:
    """/find: records the actor may see, best match first; a deal's hit carries its
    company's name and its amount, so that deals of one title can be told apart. A logged
    Telegram conversation that matches is shown as its contact (once, where the contact
    first ranks)."""
    async with uow.read_only():
        hits = await search.search(uow.session, actor, query, kinds=kinds, limit=limit)
        deal_ids = [hit.entity_id for hit in hits if hit.kind is SearchKind.DEAL]
        talks = [hit.entity_id for hit in hits if hit.kind is SearchKind.CONVERSATION]
        details: dict[int, tuple[str, Decimal]] = {}
        if deal_ids:
            rows = await uow.session.execute(
                select(Deal.id, Company.name, Deal.amount)
                .join(Company, Company.id == Deal.company_id)
                .where(Deal.id.in_(deal_ids))
            )
            details = {deal_id: (name, amount) for deal_id, name, amount in rows}
        contact_of: dict[int, int] = {}
        if talks:
            # the conversation's contact, if the actor may see it (its search row's owner
            # may lag behind a change of curator)
            contact_of = dict(
                (
                    await uow.session.execute(
                        select(Interaction.id, Interaction.contact_id)
                        .join(Contact, Contact.id == Interaction.contact_id)
                        .where(Interaction.id.in_(talks), visible_owner(actor, Contact.curator_id))
                    )
                ).all()  # type: ignore[arg-type]
            )
    if not deal_ids and not talks:
        return hits
    found: list[search.Hit] = []
    seen: set[int] = set()
    for hit in hits:
        if hit.kind is SearchKind.DEAL and hit.entity_id in details:
            name, amount = details[hit.entity_id]
            hit = replace(hit, company_name=name, amount=amount)
        if hit.kind is SearchKind.CONVERSATION:
            contact_id = contact_of.get(hit.entity_id)
            if contact_id is None:
                continue
            hit = search.Hit(SearchKind.CONTACT, contact_id, hit.title, hit.score)
        if hit.kind is SearchKind.CONTACT:
            if hit.entity_id in seen:
                continue
            seen.add(hit.entity_id)
        found.append(hit)
    return found
