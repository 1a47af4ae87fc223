"""Payment terms, their approval, the due date of a won deal's sale, "Paid" and the
receivables (crm/services/payments/) on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.access import visible_owner
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import AuditEntry, Company, Deal, Manager, Sale, utcnow
from crm.models.enums import Role
from crm.services import companies, deals, payments
from crm.services.companies import CompanyInput
from crm.services.deals import DealInput
from crm.storage import Database
from crm.when import to_local
from tests.fixtures import factories


async def world(db: Database):  # type: ignore[no-untyped-def]
    dept = await factories.department(db)
    anna = await factories.staff(db, department_id=dept.id, name="Anna")
    head = await factories.staff(db, Role.HEAD, department_id=dept.id, name="Helen")
    outsider = await factories.staff(db, Role.HEAD, name="Olga")
    client = await companies.create(
        db.uow(),
        anna,
        CompanyInput(name="Romashka", payment_deferral_days=30, credit_limit="10000"),
    )
    return anna, head, outsider, client


async def sale_of(db: Database, deal_id: int) -> Sale:
    async with db.uow() as uow:
        sale = await uow.session.scalar(select(Sale).where(Sale.deal_id == deal_id))
        assert sale is not None
        return sale


async def test_a_won_deal_is_due_after_the_companys_deferral_and_is_marked_paid(
    db: Database,
) -> None:
    anna, _head, _outsider, client = await world(db)
    deal = await deals.open(db.uow(), anna, DealInput(client.id, "Pumps", amount=4000))
    await deals.move(db.uow(), anna, deal.id, "won")
    sale = await sale_of(db, deal.id)
    assert sale.due_on == sale.sold_on + timedelta(days=30)
    paid = await payments.mark_paid(db.uow(), anna, deal.id, date(2026, 12, 1))
    assert paid.paid_on == date(2026, 12, 1)
    with pytest.raises(Conflict) as again:
        await payments.mark_paid(db.uow(), anna, deal.id, date(2026, 12, 2))
    assert again.value.reason == "already_paid"
    async with db.uow() as uow:
        marks = list(
            await uow.session.scalars(
                select(AuditEntry.changes).where(
                    AuditEntry.entity == "sales", AuditEntry.action == "update"
                )
            )
        )
    assert marks == [{"paid_on": [None, "2026-12-01"]}]
    open_deal = await deals.open(db.uow(), anna, DealInput(client.id, "Valves", amount=5))
    with pytest.raises(Conflict) as not_won:
        await payments.mark_paid(db.uow(), anna, open_deal.id, date(2026, 12, 1))
    assert not_won.value.reason == "not_won"


async def test_a_sale_is_dated_the_day_it_is_where_the_deal_was_won(db: Database) -> None:
    """A deal won at 00:30 in Moscow is sold that day, not the UTC day before (its
    payment showed as due yesterday, overdue at once). Between them the two zones are a
    day off UTC at any hour, so dating by UTC fails here whenever it runs."""
    anna, _head, _outsider, client = await world(db)
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14, UTC-11
        seller = dataclasses.replace(anna, timezone=zone)
        deal = await deals.open(db.uow(), seller, DealInput(client.id, zone, amount=10))
        before = to_local(utcnow(), zone).date()
        await deals.move(db.uow(), seller, deal.id, "won")
        after = to_local(utcnow(), zone).date()
        assert (await sale_of(db, deal.id)).sold_on in {before, after}, zone


async def test_terms_beyond_the_deferral_wait_for_a_head(db: Database) -> None:
    anna, head, outsider, client = await world(db)
    deal = await deals.open(db.uow(), anna, DealInput(client.id, "Pumps", amount=1000))
    within = await payments.set_terms(db.uow(), anna, deal.id, 20)
    assert (within.deferral_days, within.terms_approval) == (20, "not_needed")
    beyond = await payments.set_terms(db.uow(), anna, deal.id, 60)
    assert beyond.terms_approval == "pending"
    with pytest.raises(Conflict) as blocked:
        await deals.move(db.uow(), anna, deal.id, "won")
    assert blocked.value.reason == "terms_not_approved"
    with pytest.raises(InvalidInput):
        await payments.set_terms(db.uow(), anna, deal.id, 400)
    for someone in (anna, outsider):
        with pytest.raises(AccessDenied):
            await payments.decide_terms(db.uow(), someone, deal.id, True)
    approved = await payments.decide_terms(db.uow(), head, deal.id, True)
    assert (approved.terms_approval, approved.terms_approved_by_id) == ("approved", head.id)
    with pytest.raises(Conflict):
        await payments.decide_terms(db.uow(), head, deal.id, False)
    await deals.move(db.uow(), anna, deal.id, "won")
    sale = await sale_of(db, deal.id)
    assert sale.due_on == sale.sold_on + timedelta(days=60)
    async with db.uow() as uow:
        decided = await uow.session.scalar(
            select(AuditEntry.changes).where(
                AuditEntry.entity == "deals",
                AuditEntry.actor_id == head.id,
            )
        )
    assert decided == {
        "terms_approval": ["pending", "approved"],
        "terms_approved_by_id": [None, head.id],
    }


async def test_a_deal_past_the_credit_limit_needs_approved_terms(db: Database) -> None:
    anna, head, _outsider, client = await world(db)
    first = await deals.open(db.uow(), anna, DealInput(client.id, "First", amount=8000))
    await deals.move(db.uow(), anna, first.id, "won")  # 8,000 unpaid of 10,000
    second = await deals.open(db.uow(), anna, DealInput(client.id, "Second", amount=3000))
    with pytest.raises(Conflict) as refused:
        await deals.move(db.uow(), anna, second.id, "won")
    assert refused.value.reason == "terms_need_approval"
    asked = await payments.set_terms(db.uow(), anna, second.id, None)  # the company's terms
    assert asked.terms_approval == "pending"
    rejected = await payments.decide_terms(db.uow(), head, second.id, False)
    assert rejected.terms_approval == "rejected"
    with pytest.raises(Conflict):
        await deals.move(db.uow(), anna, second.id, "won")
    # the first is paid: the second fits the limit again
    await payments.mark_paid(db.uow(), anna, first.id, utcnow().date())
    again = await payments.set_terms(db.uow(), anna, second.id, None)
    assert again.terms_approval == "not_needed"
    await deals.move(db.uow(), anna, second.id, "won")
    async with db.uow() as uow:
        stage = await uow.session.scalar(select(Deal.stage).where(Deal.id == second.id))
    assert stage == "won"


async def test_receivables_by_client_and_manager_in_ageing_buckets(db: Database) -> None:
    anna, head, outsider, client = await world(db)
    boris = await factories.staff(db, name="Boris")
    other = await companies.create(db.uow(), boris, CompanyInput(name="Lutik"))
    today = date(2026, 12, 7)
    async with db.uow() as uow:
        for company, manager, days_late, amount, paid in (
            (client.id, anna.id, 0, 999, None),  # due today: not overdue
            (client.id, anna.id, 1, 100, None),
            (client.id, anna.id, 30, 200, None),
            (client.id, anna.id, 31, 300, None),
            (client.id, None, 90, 400, None),
            (client.id, anna.id, 91, 500, None),
            (client.id, anna.id, 200, 700, date(2026, 1, 1)),  # paid
            (other.id, boris.id, 45, 50, None),
        ):
            uow.session.add(
                Sale(
                    company_id=company,
                    manager_id=manager,
                    sold_on=today - timedelta(days=days_late + 10),
                    due_on=today - timedelta(days=days_late),
                    paid_on=paid,
                    amount=Decimal(amount),
                    source="import",
                )
            )
        await uow.commit()
    mine = await payments.receivables(db.uow(), anna, today)
    assert [(d.name, d.buckets) for d in mine.by_client] == [
        ("Romashka", [Decimal(300), Decimal(300), Decimal(400), Decimal(500)])
    ]
    assert [(d.name, d.total) for d in mine.by_manager] == [
        ("Anna", Decimal(1100)),
        ("", Decimal(400)),
    ]
    everything = await factories.staff(db, Role.DIRECTOR, name="Dina")
    full = await payments.receivables(db.uow(), everything, today)
    assert [d.name for d in full.by_client] == ["Romashka", "Lutik"]
    assert full.total == Decimal(1550)
    one = await payments.receivables(db.uow(), everything, today, company_id=other.id)
    assert one.buckets == [Decimal(0), Decimal(50), Decimal(0), Decimal(0)]
    assert head and outsider


async def test_who_set_the_terms_does_not_decide_them_and_the_pending_are_paged(
    db: Database,
) -> None:
    anna, head, _outsider, client = await world(db)
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    first = await deals.open(db.uow(), anna, DealInput(client.id, "First", amount=100))
    second = await deals.open(db.uow(), anna, DealInput(client.id, "Second", amount=200))
    await payments.set_terms(db.uow(), head, first.id, 45)  # the head set them himself
    await payments.set_terms(db.uow(), anna, second.id, 90)
    assert await payments.pending_terms_count(db.uow(), head) == 2
    page = await payments.pending_terms(db.uow(), head, offset=1, limit=5)
    assert [(p.deal_title, p.deferral, p.allowed, p.risks) for p in page] == [
        ("Second", 90, 30, ["deferral"])
    ]
    with pytest.raises(Conflict) as own:
        await payments.decide_terms(db.uow(), head, first.id, True)
    assert own.value.reason == "own_terms"
    decided = await payments.decide_terms(db.uow(), director, first.id, True)
    assert decided.terms_approval == "approved"
    asked = await payments.requester(db.uow(), second)
    assert asked is not None and asked.id == anna.id
    view = await payments.terms_view(db.uow(), anna, second.id)
    assert (view.deferral, view.own, view.allowed, view.approval) == (90, True, 30, "pending")
    with pytest.raises(AccessDenied):
        await payments.pending_terms(db.uow(), anna)


async def test_terms_are_asked_of_someone_who_may_decide_them(db: Database) -> None:
    """Never of who set them: a head who set terms on a deal of their department has them
    asked of another head of it, else of the directors; the curator hears the decision."""
    anna, head, _outsider, client = await world(db)
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    deal = await deals.open(db.uow(), anna, DealInput(client.id, "First", amount=100))

    async def asked() -> list[int]:
        return [m.id for m in await payments.approvers_of(db.uow(), deal.id)]

    async def told() -> list[int]:
        return [m.id for m in await payments.told_of_decision(db.uow(), deal)]

    await payments.set_terms(db.uow(), anna, deal.id, 45)
    assert (await asked(), await told()) == ([head.id], [anna.id])
    await payments.set_terms(db.uow(), head, deal.id, 60)
    assert (await asked(), await told()) == ([director.id], [head.id, anna.id])
    hugo = await factories.staff(db, Role.HEAD, department_id=anna.department_id, name="Hugo")
    assert await asked() == [hugo.id]
    decided = await payments.decide_terms(db.uow(), hugo, deal.id, True)
    assert decided.terms_approval == "approved"
    # a director who set terms on a deal of a department without a head: another director
    await payments.set_terms(db.uow(), director, deal.id, 90)
    for who in (head, hugo):
        async with db.uow() as uow:
            manager = await uow.session.get(Manager, who.id)
            assert manager is not None
            manager.active = False
            await uow.commit()
    assert await asked() == []
    dora = await factories.staff(db, Role.DIRECTOR, name="Dora")
    assert await asked() == [dora.id]


async def test_overdue_count_sum_and_the_worst_first(db: Database) -> None:
    anna, _head, _outsider, client = await world(db)
    boris = await factories.staff(db, name="Boris")
    other = await companies.create(db.uow(), boris, CompanyInput(name="Lutik"))
    today = date(2026, 12, 7)
    async with db.uow() as uow:
        for company, days_late, amount, paid in (
            (client.id, 0, 999, None),  # due today: not overdue
            (client.id, 5, 300, None),
            (client.id, 60, 100, None),
            (client.id, 5, 800, None),
            (client.id, 100, 700, date(2026, 1, 1)),  # paid
            (other.id, 45, 50, None),
        ):
            uow.session.add(
                Sale(
                    company_id=company,
                    manager_id=anna.id,
                    sold_on=today - timedelta(days=days_late + 10),
                    due_on=today - timedelta(days=days_late),
                    paid_on=paid,
                    amount=Decimal(amount),
                    source="import",
                )
            )
        await uow.commit()
    mine = await payments.curators_overdue(db.uow(), anna, today, top=2)
    assert (mine.count, mine.total) == (3, Decimal("1200.00"))
    assert [(w.amount, w.days) for w in mine.worst] == [(Decimal(100), 60), (Decimal(800), 5)]
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    everyone = await payments.overdue(
        db.uow(), visible_owner(director, Company.curator_id), today, top=5
    )
    assert (everyone.count, everyone.total) == (4, Decimal("1250.00"))
    assert [w.company_name for w in everyone.worst][:2] == ["Romashka", "Lutik"]
