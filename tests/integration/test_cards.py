from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.errors import AccessDenied
from crm.models import Claim, Contact, Deal, utcnow
from crm.models.enums import Direction, InteractionKind, Role
from crm.services import cards, companies, contacts, deals, interactions
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.services.deals import DealInput
from crm.services.interactions import InteractionInput
from crm.storage import Database
from tests.fixtures import factories


async def test_company_card_shows_what_the_manager_needs(db: Database) -> None:
    anna = await factories.staff(db, name="Anna")
    boris = await factories.staff(db, name="Boris")
    holding = await companies.create(db.uow(), anna, CompanyInput(name="Holding"))
    company = await companies.create(
        db.uow(), anna, CompanyInput(name="Romashka", parent_id=holding.id)
    )
    for name in ("Ivan", "Olga"):
        await contacts.create(db.uow(), anna, ContactInput(name=name, company_id=company.id))
    deal = await deals.open(
        db.uow(), anna, DealInput(company_id=company.id, title="Pumps", amount=Decimal("1500"))
    )
    await deals.open(db.uow(), anna, DealInput(company_id=company.id, title="Valves", amount=500))
    await interactions.log(
        db.uow(),
        anna,
        InteractionInput(
            kind=InteractionKind.CALL,
            direction=Direction.OUT,
            summary="Intro",
            company_id=company.id,
        ),
    )
    async with db.uow() as uow:
        uow.session.add(
            Claim(
                company_id=company.id,
                text="Late delivery",
                due_at=utcnow() + timedelta(days=3),
                responsible_id=anna.id,
            )
        )
        await uow.commit()

    card = await cards.company_card(db.uow(), anna, company.id)
    assert card.curator_name == "Anna"
    assert card.parent_name == "Holding"
    assert [c.name for c in card.contacts] == ["Ivan", "Olga"]
    assert (card.open_deals_total, card.open_deals_amount) == (2, Decimal("2000.00"))
    assert [i.summary for i in card.last_interactions] == ["Intro"]
    assert [c.text for c in card.open_claims] == ["Late delivery"]

    deal_card = await cards.deal_card(db.uow(), anna, deal.id)
    assert deal_card.deal.title == "Pumps" and deal_card.history[0].to_stage == "lead"

    with pytest.raises(AccessDenied):
        await cards.company_card(db.uow(), boris, company.id)
    with pytest.raises(AccessDenied):
        await cards.deal_card(db.uow(), boris, deal.id)
    with pytest.raises(AccessDenied):
        await cards.contact_card(db.uow(), boris, card.contacts[0].id)
    contact_card = await cards.contact_card(db.uow(), anna, card.contacts[0].id)
    assert contact_card.company_name == "Romashka"


async def test_related_names_are_shown_only_to_who_may_see_those_records(db: Database) -> None:
    anna = await factories.staff(db, name="Anna")
    boris = await factories.staff(db, name="Boris")
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    holding = await factories.raw_company(db, boris, "Boris Holding")
    company = await factories.add_company(db, anna.id, "Romashka", parent_id=holding.id)
    own_contact = await factories.raw_contact(db, anna, "Ivan", company_id=holding.id)
    # a deal Anna curates on Boris's company, with Boris's contact
    async with db.uow() as uow:
        deal = Deal(company_id=holding.id, curator_id=anna.id, title="Pumps", amount=Decimal(1))
        uow.session.add(deal)
        await uow.flush()
        hidden = Contact(name="Secret Person", curator_id=boris.id, company_id=holding.id)
        uow.session.add(hidden)
        await uow.flush()
        deal.contact_id = hidden.id
        await uow.commit()

    assert (await cards.company_card(db.uow(), anna, company.id)).parent_name is None
    assert (await cards.contact_card(db.uow(), anna, own_contact.id)).company_name is None
    assert (await cards.deal_card(db.uow(), anna, deal.id)).contact_name is None

    assert (await cards.company_card(db.uow(), director, company.id)).parent_name == (
        "Boris Holding"
    )
    assert (await cards.contact_card(db.uow(), director, own_contact.id)).company_name == (
        "Boris Holding"
    )
    assert (await cards.deal_card(db.uow(), director, deal.id)).contact_name == "Secret Person"

    # a contact of a company Anna curates is named on her deal, whoever curates the contact
    async with db.uow() as uow:
        row = await uow.session.get(Deal, deal.id)
        assert row is not None
        row.company_id = company.id
        (await uow.session.get(Contact, hidden.id)).company_id = company.id  # type: ignore[union-attr]
        await uow.commit()
    assert (await cards.deal_card(db.uow(), anna, deal.id)).contact_name == "Secret Person"
