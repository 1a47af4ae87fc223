"""deals.change_quantity and deals.pending_page (the services behind the lines view, /approvals)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.migrate import downgrade, upgrade
from crm.models import AuditEntry, Deal, DealLine, Manager, Sale
from crm.models.enums import Role
from crm.services import deals, doctor
from crm.services.deals import DealInput, LineInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count
from tests.fixtures.worlds import OfficeWithCatalogue, office_with_catalogue


async def stored(db: Database, deal_id: int) -> tuple[Decimal, list[tuple[Decimal, Decimal, str]]]:
    async with db.uow() as uow:
        amount = await uow.session.scalar(select(Deal.amount).where(Deal.id == deal_id))
        lines = await uow.session.execute(
            select(DealLine.quantity, DealLine.discount_pct, DealLine.approval)
            .where(DealLine.deal_id == deal_id)
            .order_by(DealLine.id)
        )
        return amount, [tuple(row) for row in lines]  # type: ignore[misc]


async def deal_with_widget(
    db: Database, w: OfficeWithCatalogue, amount: int | None = None
) -> tuple[int, int]:
    deal = await deals.open(
        db.uow(),
        w.anna,
        DealInput(
            w.company.id, "Pumps", amount=amount, lines=[LineInput(w.widget.id, 2, discount_pct=5)]
        ),
    )
    return deal.id, deal.lines[0].id


async def test_change_quantity_recomputes_the_amount_and_is_audited(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal_id, line_id = await deal_with_widget(db, w)
    assert (await stored(db, deal_id))[0] == Decimal("190.00")
    line = await deals.change_quantity(db.uow(), w.anna, line_id, "3,5")
    assert line.quantity == Decimal("3.500")
    assert await stored(db, deal_id) == (
        Decimal("332.50"),
        [(Decimal("3.500"), Decimal("5.00"), "not_needed")],
    )
    async with db.uow() as uow:
        audit = (
            await uow.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "deal_lines", AuditEntry.entity_id == line_id)
                .order_by(AuditEntry.id.desc())
            )
        ).first()
    assert audit is not None
    assert (audit.actor_id, audit.action, audit.changes["quantity"]) == (
        w.anna.id,
        "update",
        ["2.000", "3.500"],
    )
    # the same quantity again writes nothing
    audits = await count(db, AuditEntry)
    await deals.change_quantity(db.uow(), w.anna, line_id, "3.5")
    assert await count(db, AuditEntry) == audits

    # an amount typed when opening gives way to the lines' total
    other_id, other_line = await deal_with_widget(db, w, amount=1000)
    assert (await stored(db, other_id))[0] == Decimal("190.00")
    await deals.change_quantity(db.uow(), w.anna, other_line, 10)
    assert (await stored(db, other_id))[0] == Decimal("950.00")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "not_a_number"),
        ("", "empty"),
        ("-2", "not_positive"),
        ("0", "not_positive"),
        ("1e30", "too_large"),
        ("NaN", "not_a_number"),
    ],
)
async def test_bad_quantity_writes_nothing(db: Database, value: str, reason: str) -> None:
    w = await office_with_catalogue(db)
    deal_id, line_id = await deal_with_widget(db, w)
    before, audits = await stored(db, deal_id), await count(db, AuditEntry)
    with pytest.raises(InvalidInput) as err:
        await deals.change_quantity(db.uow(), w.anna, line_id, value)
    assert (err.value.field, err.value.reason) == ("quantity", reason)
    assert await stored(db, deal_id) == before
    assert await count(db, AuditEntry) == audits


async def test_change_quantity_of_another_or_closed_deal_is_refused(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal_id, line_id = await deal_with_widget(db, w)
    before = await stored(db, deal_id)
    for intruder in (w.boris, w.outsider_head):
        with pytest.raises(AccessDenied):
            await deals.change_quantity(db.uow(), intruder, line_id, 7)
    with pytest.raises(AccessDenied):
        await deals.change_quantity(db.uow(), w.anna, line_id + 1000, 7)
    # the head of the department may change it
    await deals.change_quantity(db.uow(), w.head, line_id, 4)
    assert (await stored(db, deal_id))[1][0][0] == Decimal("4.000")
    await deals.move(db.uow(), w.anna, deal_id, "lost", "price")
    before = await stored(db, deal_id)
    with pytest.raises(Conflict) as err:
        await deals.change_quantity(db.uow(), w.anna, line_id, 9)
    assert err.value.reason == "deal_closed"
    assert await stored(db, deal_id) == before


async def test_pending_page_scope_paging_and_who_asked(db: Database) -> None:
    w = await office_with_catalogue(db)
    other = await factories.department(db, "Third")
    vera = await factories.staff(db, Role.MANAGER, other.id, "Vera", max_discount=Decimal("3.5"))
    vera_company = await factories.raw_company(db, vera, "Vera Co")
    deal_ids = []
    for n in range(3):
        deal = await deals.open(
            db.uow(),
            w.anna,
            DealInput(w.company.id, f"Deal {n}", lines=[LineInput(w.widget.id, 2, 20 + n)]),
            request_approval=True,
        )
        deal_ids.append(deal.id)
    within = await deals.open(
        db.uow(), w.anna, DealInput(w.company.id, "Within", lines=[LineInput(w.gadget.id, 1, 5)])
    )
    # a line whose discount went above the limit later (change_discount asks for approval)
    await deals.change_discount(db.uow(), w.anna, within.lines[0].id, "12", request_approval=True)
    vera_deal = await deals.open(
        db.uow(),
        vera,
        DealInput(vera_company.id, "Vera's", lines=[LineInput(w.gadget.id, 4, 7)]),
        request_approval=True,
    )

    with pytest.raises(AccessDenied):
        await deals.pending_page(db.uow(), w.anna)
    assert (await deals.pending_page(db.uow(), w.outsider_head)).total == 0

    page = await deals.pending_page(db.uow(), w.head, offset=0, limit=2)
    assert page.total == 4
    assert [(i.deal_title, i.discount_pct) for i in page.items] == [
        ("Deal 0", Decimal("20.00")),
        ("Deal 1", Decimal("21.00")),
    ]
    first = page.items[0]
    assert (first.deal_id, first.company_name, first.product_name) == (
        deal_ids[0],
        "Ромашка",
        "Widget",
    )
    assert (first.quantity, first.unit_price, first.total) == (
        Decimal("2.000"),
        Decimal("100.00"),
        Decimal("160.00"),
    )
    assert (first.asked_by, first.limit_pct) == ("Anna", Decimal("10.00"))
    rest = await deals.pending_page(db.uow(), w.head, offset=2, limit=2)
    assert [(i.deal_title, i.product_name, i.discount_pct) for i in rest.items] == [
        ("Deal 2", "Widget", Decimal("22.00")),
        ("Within", "Gadget", Decimal("12.00")),
    ]
    assert (await deals.pending_page(db.uow(), w.head, offset=4, limit=2)).items == []

    everything = await deals.pending_page(db.uow(), w.director, limit=10)
    assert everything.total == 5
    last = everything.items[-1]
    assert (last.deal_id, last.asked_by, last.limit_pct) == (
        vera_deal.id,
        "Vera",
        Decimal("3.50"),
    )

    # decided lines leave the list; the pending_approvals list agrees with the page
    await deals.decide_discount(db.uow(), w.head, page.items[0].line_id, approve=True)
    await deals.decide_discount(db.uow(), w.head, page.items[1].line_id, approve=False)
    left = await deals.pending_page(db.uow(), w.head)
    assert [i.deal_title for i in left.items] == ["Deal 2", "Within"]
    assert [x.id for x in await deals.pending_approvals(db.uow(), w.head)] == [
        i.line_id for i in left.items
    ]


async def test_pending_page_never_shows_ones_own_deals(db: Database) -> None:
    w = await office_with_catalogue(db)
    async with db.uow() as uow:
        head = await uow.session.get(Manager, w.head.id)
        assert head is not None
        head.max_discount_pct = Decimal(0)
        await uow.commit()
    own = await factories.raw_company(db, w.head, "Head's client")
    await deals.open(
        db.uow(),
        w.head,
        DealInput(own.id, "Own", lines=[LineInput(w.widget.id, 1, 5)]),
        request_approval=True,
    )
    assert (await deals.pending_page(db.uow(), w.head)).total == 0
    [item] = (await deals.pending_page(db.uow(), w.director)).items
    assert (item.deal_title, item.asked_by, item.limit_pct) == ("Own", "Head", Decimal("0.00"))


async def test_nobody_decides_a_discount_they_set_themselves(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal_id, _ = await deal_with_widget(db, w)
    async with db.uow() as uow:
        head_limit = await uow.session.scalar(
            select(Manager.max_discount_pct).where(Manager.id == w.head.id)
        )
    # the head puts a discount above their own limit on Anna's deal: it waits for a decision
    line = await deals.add_line(
        db.uow(),
        w.head,
        deal_id,
        LineInput(w.gadget.id, 1, discount_pct=Decimal(head_limit) + 5),
        request_approval=True,
    )
    assert line.approval == "pending"
    with pytest.raises(Conflict) as refused:
        await deals.decide_discount(db.uow(), w.head, line.id, approve=True)
    assert refused.value.reason == "own_request"
    assert (await stored(db, deal_id))[1][-1][2] == "pending"
    decision = await deals.decide_discount(db.uow(), w.director, line.id, approve=True)
    assert decision.line.approval == "approved"


async def test_the_amount_follows_the_lines_and_the_sale_takes_them(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Pumps", "150000"))
    assert (await stored(db, deal.id))[0] == Decimal("150000.00")  # no lines: typed amount
    line = await deals.add_line(db.uow(), w.anna, deal.id, LineInput(w.gadget.id, 3, 10))
    await deals.add_line(db.uow(), w.anna, deal.id, LineInput(w.widget.id, "2.5"))
    assert (await stored(db, deal.id))[0] == Decimal("925.00")  # 675 + 250
    async with db.uow() as uow:
        entry = await uow.session.scalar(
            select(AuditEntry)
            .where(AuditEntry.entity == "deals", AuditEntry.entity_id == deal.id)
            .order_by(AuditEntry.id)
            .offset(1)
        )
    assert entry is not None and entry.changes == {"amount": ["150000.00", "675.00"]}

    # a typed amount is refused while there are lines, and nothing is written
    audits = await count(db, AuditEntry)
    with pytest.raises(Conflict) as refused:
        await deals.update(db.uow(), w.anna, deal.id, amount="1000", title="Big pumps")
    assert refused.value.reason == "amount_follows_lines"
    assert await count(db, AuditEntry) == audits
    await deals.update(db.uow(), w.anna, deal.id, amount="925")  # the same value: allowed

    await deals.change_discount(db.uow(), w.anna, line.id, 0)
    assert (await stored(db, deal.id))[0] == Decimal("1000.00")

    won = await deals.move(db.uow(), w.anna, deal.id, "won")
    assert won.amount == Decimal("1000.00")
    async with db.uow() as uow:
        sale = await uow.session.scalar(select(Sale).where(Sale.deal_id == deal.id))
    assert sale is not None
    assert (sale.amount, sale.cost) == (Decimal("1000.00"), Decimal("450.00"))  # 300 + 150

    # removing the last line leaves the amount; then it can be typed again
    other = await deals.open(
        db.uow(), w.anna, DealInput(w.company.id, "Valves", lines=[LineInput(w.widget.id, 2)])
    )
    await deals.remove_line(db.uow(), w.anna, other.lines[0].id)
    assert (await stored(db, other.id))[0] == Decimal("200.00")
    await deals.update(db.uow(), w.anna, other.id, amount="5000")
    assert (await stored(db, other.id))[0] == Decimal("5000.00")


async def test_migration_brings_open_deals_into_agreement_and_doctor_lists_won_ones(
    db: Database,
) -> None:
    w = await office_with_catalogue(db)
    opened = await deals.open(
        db.uow(), w.anna, DealInput(w.company.id, "Pumps", lines=[LineInput(w.widget.id, 3)])
    )
    won = await deals.open(
        db.uow(), w.anna, DealInput(w.company.id, "Valves", lines=[LineInput(w.gadget.id, 2)])
    )
    plain_deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Service", "700"))
    await deals.move(db.uow(), w.anna, won.id, "won")
    async with db.uow() as uow:  # as the old rule left them: typed amounts beside lines
        await uow.session.execute(
            update(Deal).where(Deal.id.in_([opened.id, won.id])).values(amount=Decimal(150000))
        )
        await uow.session.execute(
            update(Sale).where(Sale.deal_id == won.id).values(amount=Decimal(150000))
        )
        await uow.commit()
    async with db.uow().read_only() as uow:
        found = await doctor.deal_disagreements(uow.session)
    assert [(d.deal_id, d.what, d.stored, d.expected) for d in found] == [
        (opened.id, "amount", Decimal("150000.00"), Decimal("300.00")),
        (won.id, "sale amount", Decimal("150000.00"), Decimal("500.00")),
    ]

    await downgrade(db.engine, "0009")
    await upgrade(db.engine, "head")

    assert (await stored(db, opened.id))[0] == Decimal("300.00")
    assert (await stored(db, won.id))[0] == Decimal("150000.00")  # a won deal is history
    assert (await stored(db, plain_deal.id))[0] == Decimal("700.00")
    async with db.uow() as uow:
        entry = await uow.session.scalar(
            select(AuditEntry)
            .where(AuditEntry.entity == "deals", AuditEntry.entity_id == opened.id)
            .order_by(AuditEntry.id.desc())
        )
    assert entry is not None
    assert (entry.actor_id, entry.action, entry.changes) == (
        None,
        "update",
        {"amount": ["150000.00", "300.00"]},
    )
    async with db.uow().read_only() as uow:
        found = await doctor.deal_disagreements(uow.session)
    assert [(d.deal_id, d.what) for d in found] == [(won.id, "sale amount")]
