from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from crm.access import Actor
from crm.errors import AccessDenied, ApprovalRequired, Conflict, InvalidInput
from crm.models import (
    AuditEntry,
    Company,
    Deal,
    DealLine,
    DealStageChange,
    Sale,
    SearchEntry,
    Task,
)
from crm.models.enums import SearchKind
from crm.services import companies, deal_edits, deals
from crm.services.companies import CompanyInput
from crm.services.deals import DealInput, LineInput
from crm.storage import Database
from crm.uow import UnitOfWork
from tests.fixtures import factories
from tests.fixtures.queries import count
from tests.fixtures.worlds import office_with_catalogue


async def rows(db: Database, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async with db.uow() as uow:
        return list(await uow.session.scalars(select(model).where(*where).order_by(model.id)))


async def _get(db: Database, actor: Actor, deal_id: int) -> Deal:
    async with db.uow() as uow:
        return await deals.get(uow, actor, deal_id)


async def new_company(db: Database, curator: Actor, name: str) -> Company:
    return await companies.create(db.uow(), curator, CompanyInput(name=name))


async def test_open_and_walk_to_won(db: Database) -> None:
    w = await office_with_catalogue(db)
    t0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(t0, tick=False):
        deal = await deals.open(
            db.uow(),
            w.anna,
            DealInput(
                company_id=w.company.id,
                title="  Поставка  виджетов ",
                expected_close=date(2030, 4, 1),
                lines=[
                    LineInput(w.widget.id, quantity="3", discount_pct="10"),
                    LineInput(w.gadget.id, quantity=2, unit_price="200"),
                ],
            ),
        )
    assert deal.title == "Поставка виджетов"
    assert deal.amount == Decimal("670.00")  # 3*100*0.9 + 2*200
    assert (deal.stage, deal.probability, deal.curator_id) == ("lead", 10, w.anna.id)
    assert [line.product.name for line in deal.lines] == ["Widget", "Gadget"]

    times = []
    for i, stage in enumerate(["qualified", "proposal", "negotiation", "won"], start=1):
        at = datetime(2030, 3, 1 + i, 12, 30, tzinfo=UTC)
        times.append(at)
        with time_machine.travel(at, tick=False):
            moved = await deals.move(db.uow(), w.anna, deal.id, stage)
        assert moved.stage == stage
    assert moved.probability == 100
    assert moved.closed_at == times[-1]

    history = await deals.stage_history(db.uow(), w.anna, deal.id)
    assert [(h.from_stage, h.to_stage, h.changed_at, h.manager_id) for h in history] == [
        (None, "lead", t0, w.anna.id),
        ("lead", "qualified", times[0], w.anna.id),
        ("qualified", "proposal", times[1], w.anna.id),
        ("proposal", "negotiation", times[2], w.anna.id),
        ("negotiation", "won", times[3], w.anna.id),
    ]
    (sale,) = await rows(db, Sale)
    assert (sale.company_id, sale.deal_id, sale.manager_id, sale.source) == (
        w.company.id,
        deal.id,
        w.anna.id,
        "deal",
    )
    assert (sale.sold_on, sale.amount, sale.cost) == (
        date(2030, 3, 5),
        Decimal("670.00"),
        Decimal("380.00"),  # 3*60 + 2*100
    )
    (company,) = await rows(db, Company)
    assert company.stage == "one_time"
    audits = await rows(
        db, AuditEntry, AuditEntry.entity == "companies", AuditEntry.action == "update"
    )
    assert [a.changes for a in audits] == [{"stage": ["potential", "one_time"]}]

    second = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Repeat", amount="10"))
    await deals.move(db.uow(), w.anna, second.id, "won")
    (company,) = await rows(db, Company)
    assert company.stage == "regular"
    assert (await rows(db, Sale, Sale.deal_id == second.id))[0].cost is None  # no lines, no cost


async def test_lost_needs_a_reason(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Deal", amount=5))
    for reason in (None, "   "):
        with pytest.raises(InvalidInput) as err:
            await deals.move(db.uow(), w.anna, deal.id, "lost", lost_reason=reason)
        assert (err.value.field, err.value.reason) == ("lost_reason", "empty")
    lost = await deals.move(db.uow(), w.anna, deal.id, "LOST", lost_reason="Too expensive")
    assert (lost.stage, lost.lost_reason, lost.probability) == ("lost", "Too expensive", 0)
    assert lost.closed_at is not None
    assert await count(db, Sale) == 0
    with pytest.raises(Conflict):
        await deals.move(db.uow(), w.anna, deal.id, "won")


async def test_unknown_stage_writes_nothing(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Deal", amount=5))
    audits, changes = await count(db, AuditEntry), await count(db, DealStageChange)
    for bogus in ("bogus", "", None):
        with pytest.raises(InvalidInput) as err:
            await deals.move(db.uow(), w.anna, deal.id, bogus)  # type: ignore[arg-type]
        assert (err.value.field, err.value.reason) == ("stage", "unknown_value")
    assert (await count(db, AuditEntry), await count(db, DealStageChange)) == (audits, changes)
    assert (await _get(db, w.anna, deal.id)).stage == "lead"


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (dict(title="T", amount="-1"), "amount", "negative"),
        (dict(title="  ", amount=1), "title", "empty"),
        (dict(title="x" * 201, amount=1), "title", "too_long"),
        (dict(title="T", probability=101), "probability", "out_of_range"),
        (dict(title="T", lines=[LineInput(1, quantity=0)]), "quantity", "not_positive"),
        (dict(title="T", lines=[LineInput(1, discount_pct=150)]), "discount_pct", "out_of_range"),
        (dict(title="T", lines=[LineInput(999)]), "product_id", "unknown"),
    ],
)
async def test_bad_input_writes_nothing(
    db: Database, data: dict[str, object], field: str, reason: str
) -> None:
    w = await office_with_catalogue(db)
    audits = await count(db, AuditEntry)
    with pytest.raises(InvalidInput) as err:
        await deals.open(db.uow(), w.anna, DealInput(company_id=w.company.id, **data))  # type: ignore[arg-type]
    assert (err.value.field, err.value.reason) == (field, reason)
    assert (await count(db, Deal), await count(db, AuditEntry)) == (0, audits)


async def test_contact_must_belong_to_the_company(db: Database) -> None:
    w = await office_with_catalogue(db)
    other = await new_company(db, w.anna, "Other")
    stranger = await factories.raw_contact(db, w.anna, "Stranger", company_id=other.id)
    own = await factories.raw_contact(db, w.anna, "Own", company_id=w.company.id)
    with pytest.raises(InvalidInput) as err:
        await deals.open(
            db.uow(), w.anna, DealInput(w.company.id, "T", amount=1, contact_id=stranger.id)
        )
    assert err.value.field == "contact_id"
    deal = await deals.open(
        db.uow(), w.anna, DealInput(w.company.id, "T", amount=1, contact_id=own.id)
    )
    assert deal.contact_id == own.id
    with pytest.raises(InvalidInput):
        await deals.update(db.uow(), w.anna, deal.id, contact_id=stranger.id)


async def test_discount_above_limit_needs_a_heads_approval(db: Database) -> None:
    w = await office_with_catalogue(db)
    data = DealInput(w.company.id, "Big", lines=[LineInput(w.widget.id, 10, discount_pct=25)])
    audits = await count(db, AuditEntry)
    with pytest.raises(ApprovalRequired) as err:
        await deals.open(db.uow(), w.anna, data)
    assert err.value.params == {"discount": Decimal("25.00"), "limit": Decimal("10.00")}
    assert (await count(db, Deal), await count(db, DealLine)) == (0, 0)
    assert await count(db, AuditEntry) == audits

    deal = await deals.open(db.uow(), w.anna, data, request_approval=True)
    (line,) = deal.lines
    assert (line.approval, line.discount_pct, deal.amount) == (
        "pending",
        Decimal("25.00"),
        Decimal("750.00"),
    )
    with pytest.raises(Conflict) as blocked:
        await deals.move(db.uow(), w.anna, deal.id, "won")
    assert blocked.value.reason == "discount_not_approved"
    assert await count(db, Sale) == 0

    for intruder in (w.anna, w.boris, w.outsider_head):
        with pytest.raises(AccessDenied):
            await deals.decide_discount(db.uow(), intruder, line.id, approve=True)
    with pytest.raises(AccessDenied):
        await deals.pending_approvals(db.uow(), w.boris)
    assert await deals.pending_approvals(db.uow(), w.outsider_head) == []
    waiting = await deals.pending_approvals(db.uow(), w.head)
    assert [(p.id, p.deal.title) for p in waiting] == [(line.id, "Big")]

    decision = await deals.decide_discount(db.uow(), w.head, line.id, approve=True)
    assert decision.approved and decision.curator.tg_id == w.anna.tg_id
    assert (decision.line.approval, decision.line.approved_by_id) == ("approved", w.head.id)
    assert await deals.pending_approvals(db.uow(), w.director) == []
    with pytest.raises(Conflict):
        await deals.decide_discount(db.uow(), w.director, line.id, approve=False)
    won = await deals.move(db.uow(), w.anna, deal.id, "won")
    assert won.stage == "won"
    audit = (await rows(db, AuditEntry, AuditEntry.entity == "deal_lines"))[-1]
    assert (audit.actor_id, audit.changes["approval"]) == (w.head.id, ["pending", "approved"])


async def test_rejected_discount_is_cut_and_must_be_confirmed(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Small"))
    assert deal.amount == Decimal("0.00")
    with pytest.raises(ApprovalRequired):
        await deals.add_line(db.uow(), w.anna, deal.id, LineInput(w.gadget.id, 2, "40"))
    line = await deals.add_line(
        db.uow(), w.anna, deal.id, LineInput(w.gadget.id, 2, "40"), request_approval=True
    )
    assert (await _get(db, w.anna, deal.id)).amount == Decimal("300.00")

    decision = await deals.decide_discount(db.uow(), w.director, line.id, approve=False)
    assert not decision.approved
    assert (decision.line.approval, decision.line.discount_pct) == ("rejected", Decimal("10.00"))
    assert decision.deal.amount == Decimal("450.00")  # the amount follows the lines
    with pytest.raises(Conflict):
        await deals.move(db.uow(), w.anna, deal.id, "won")
    extra = await deals.add_line(db.uow(), w.anna, deal.id, LineInput(w.widget.id, 1))
    assert (await _get(db, w.anna, deal.id)).amount == Decimal("550.00")
    assert (await deals.remove_line(db.uow(), w.anna, extra.id)).amount == Decimal("450.00")
    assert [line.id for line in (await _get(db, w.anna, deal.id)).lines] == [line.id]
    with pytest.raises(AccessDenied):
        await deals.change_discount(db.uow(), w.boris, line.id, "10")
    confirmed = await deals.change_discount(db.uow(), w.anna, line.id, "10")
    assert confirmed.approval == "not_needed"
    assert (await deals.move(db.uow(), w.anna, deal.id, "won")).stage == "won"
    assert (await rows(db, Sale))[0].amount == Decimal("450.00")


async def test_reach_of_managers_heads_and_directors(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Mine", amount=5))
    for intruder in (w.boris, w.outsider_head):
        with pytest.raises(AccessDenied) as foreign:
            await _get(db, intruder, deal.id)
        with pytest.raises(AccessDenied) as missing:
            await _get(db, intruder, deal.id + 999)
        assert str(foreign.value) == str(missing.value)
        with pytest.raises(AccessDenied):
            await deals.move(db.uow(), intruder, deal.id, "qualified")
        with pytest.raises(AccessDenied):
            await deals.update(db.uow(), intruder, deal.id, title="Hacked")
        with pytest.raises(AccessDenied):
            await deals.stage_history(db.uow(), intruder, deal.id)
        with pytest.raises(AccessDenied):
            await deals.open(db.uow(), intruder, DealInput(w.company.id, "Steal", amount=1))
        assert (await deals.open_by_stage(db.uow(), intruder)).total == 0
    with pytest.raises(AccessDenied):
        await deals.move(db.uow(), w.anna, deal.id + 999, "qualified")
    assert (await _get(db, w.head, deal.id)).title == "Mine"
    await deals.move(db.uow(), w.head, deal.id, "qualified")
    await deals.update(db.uow(), w.director, deal.id, title="Renamed")
    got = await _get(db, w.anna, deal.id)
    assert (got.stage, got.title, got.company.name) == ("qualified", "Renamed", "Ромашка")


async def test_only_heads_and_directors_reopen(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Deal", amount=5))
    await deals.move(db.uow(), w.anna, deal.id, "won")
    with pytest.raises(AccessDenied):
        await deals.move(db.uow(), w.anna, deal.id, "negotiation")
    with pytest.raises(Conflict):
        await deals.move(db.uow(), w.head, deal.id, "lost", lost_reason="Cancelled")
    assert await count(db, Sale) == 1
    reopened = await deals.move(db.uow(), w.head, deal.id, "negotiation")
    assert (reopened.stage, reopened.probability, reopened.closed_at) == ("negotiation", 75, None)
    assert await count(db, Sale) == 0
    deleted = await rows(db, AuditEntry, AuditEntry.entity == "sales")
    assert [a.action for a in deleted] == ["create", "delete"]
    again = await deals.move(db.uow(), w.anna, deal.id, "negotiation")  # a double tap: no-op
    assert again.stage == "negotiation"
    history = await deals.stage_history(db.uow(), w.anna, deal.id)
    assert [(h.to_stage, h.manager_id) for h in history] == [
        ("lead", w.anna.id),
        ("won", w.anna.id),
        ("negotiation", w.head.id),
    ]


async def test_update_audits_old_and_new_and_reindexes(db: Database) -> None:
    w = await office_with_catalogue(db)
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Поставка", amount=5))
    with pytest.raises(InvalidInput) as err:
        await deals.update(db.uow(), w.anna, deal.id, stage="won")
    assert err.value.reason == "unknown_field"
    with pytest.raises(InvalidInput):
        await deals.update(db.uow(), w.anna, deal.id, amount="-3")
    await deals.update(
        db.uow(), w.anna, deal.id, title="Аренда склада", amount="1 200,50", probability=40
    )
    (entry,) = await rows(db, AuditEntry, AuditEntry.action == "update")
    assert entry.changes == {
        "title": ["Поставка", "Аренда склада"],
        "amount": ["5.00", "1200.50"],
        "probability": [10, 40],
    }
    (entry,) = await rows(db, SearchEntry, SearchEntry.kind == SearchKind.DEAL.value)
    assert (entry.entity_id, entry.owner_id, entry.title) == (deal.id, w.anna.id, "Аренда склада")
    assert entry.text.startswith("аренда склада ромашка")


async def test_pipeline_by_stage(db: Database) -> None:
    w = await office_with_catalogue(db)
    boris_company = await new_company(db, w.boris, "Boris Ltd")
    opened = {}
    for title, amount, stage, close in [
        ("A", "100", "lead", date(2030, 5, 1)),
        ("B", "200", "lead", date(2030, 4, 1)),
        ("C", "300", "proposal", None),
        ("D", "400", "won", None),
    ]:
        deal = await deals.open(
            db.uow(), w.anna, DealInput(w.company.id, title, amount=amount, expected_close=close)
        )
        if stage != "lead":
            await deals.move(db.uow(), w.anna, deal.id, stage)
        opened[title] = deal.id
    await deals.open(db.uow(), w.boris, DealInput(boris_company.id, "Z", amount=999))

    pipeline = await deals.open_by_stage(db.uow(), w.anna, offset=0, limit=2)
    assert [(s.stage.value, s.count, s.amount) for s in pipeline.stages] == [
        ("lead", 2, Decimal("300.00")),
        ("qualified", 0, Decimal("0.00")),
        ("proposal", 1, Decimal("300.00")),
        ("negotiation", 0, Decimal("0.00")),
    ]
    assert pipeline.total == 3
    assert [d.title for d in pipeline.deals] == ["B", "A"]
    page2 = await deals.open_by_stage(db.uow(), w.anna, offset=2, limit=2)
    assert [d.title for d in page2.deals] == ["C"]
    assert (await deals.open_by_stage(db.uow(), w.head)).total == 4

    open_ones = await deals.for_company(db.uow(), w.anna, w.company.id)
    everything = await deals.for_company(db.uow(), w.anna, w.company.id, open_only=False)
    assert sorted(d.title for d in open_ones) == ["A", "B", "C"]
    assert sorted(d.title for d in everything) == ["A", "B", "C", "D"]
    with pytest.raises(AccessDenied):
        await deals.for_company(db.uow(), w.boris, w.company.id)


async def test_opened_hook_runs_in_the_same_transaction(db: Database) -> None:
    w = await office_with_catalogue(db)

    async def plan(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
        uow.session.add(
            Task(title=f"Call about {deal.title}", due_at=datetime.now(UTC), assignee_id=actor.id)
        )

    async def broken(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
        await plan(uow, actor, deal)
        raise RuntimeError("playbook failed")

    with pytest.raises(RuntimeError):
        await deals.open(db.uow(), w.anna, DealInput(w.company.id, "X", amount=1), on_opened=broken)
    assert (await count(db, Deal), await count(db, Task)) == (0, 0)
    await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Y", amount=1), on_opened=plan)
    assert [t.title for t in await rows(db, Task)] == ["Call about Y"]


async def test_nobody_approves_their_own_discount(db: Database) -> None:
    w = await office_with_catalogue(db)
    heads_company = await new_company(db, w.head, "Head's client")
    deal = await deals.open(
        db.uow(),
        w.head,
        DealInput(heads_company.id, "Own", lines=[LineInput(w.widget.id, 1, 50)]),
        request_approval=True,
    )
    (line,) = deal.lines
    assert await deals.pending_approvals(db.uow(), w.head) == []
    with pytest.raises(AccessDenied):
        await deals.decide_discount(db.uow(), w.head, line.id, approve=True)
    assert [p.id for p in await deals.pending_approvals(db.uow(), w.director)] == [line.id]
    assert (await deals.decide_discount(db.uow(), w.director, line.id, True)).approved


async def test_edits_of_a_deal_follow_the_rules(db: Database) -> None:
    w = await office_with_catalogue(db)
    mine = await factories.raw_contact(db, w.boris, "Olga Ivanova", company_id=w.company.id)
    other_company = await new_company(db, w.anna, "Vasilek")
    theirs = await factories.raw_contact(db, w.anna, "Petr", company_id=other_company.id)
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Pumps", amount=5))

    assert await deal_edits.contact_choices(db.uow(), w.anna, deal.id) == [
        (mine.id, "Olga Ivanova")  # Boris's contact, of Anna's company: its name is hers to read
    ]
    with pytest.raises(AccessDenied):
        await deal_edits.contact_choices(db.uow(), w.outsider_head, deal.id)
    with pytest.raises(InvalidInput) as err:
        await deals.update(db.uow(), w.anna, deal.id, contact_id=theirs.id)
    assert err.value.reason == "not_of_company"
    await deals.update(
        db.uow(), w.head, deal.id, contact_id=mine.id, next_step="Call", expected_close=None
    )
    with pytest.raises(InvalidInput):
        await deals.update(db.uow(), w.anna, deal.id, next_step="x" * 201)
    with pytest.raises(AccessDenied):
        await deals.update(db.uow(), w.outsider_head, deal.id, title="Mine now")

    await deals.move(db.uow(), w.anna, deal.id, "lost", "Price")
    audits = await count(db, AuditEntry)
    with pytest.raises(Conflict) as closed:
        await deals.update(db.uow(), w.director, deal.id, title="Renamed")
    assert closed.value.reason == "deal_closed"
    assert await count(db, AuditEntry) == audits
    async with db.uow() as uow:
        stored = await uow.session.get(Deal, deal.id)
    assert stored is not None
    assert (stored.title, stored.contact_id, stored.next_step) == ("Pumps", mine.id, "Call")
