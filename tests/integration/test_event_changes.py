"""Events that change: updates and cancellations go to everyone already mailed with the
same UID and a higher SEQUENCE (checked with two iCalendar parsers), what had not left is
superseded; the outcome of an event (attendance, cost per attendee, deals after it); the
manager is told once about failed invitations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import vobject
from icalendar import Calendar
from sqlalchemy import select, update

from crm.errors import Conflict, InvalidInput
from crm.models import AuditEntry, Deal, Event, EventInvitee, OutboundEmail, Task
from crm.models.enums import Role
from crm.services import company_settings, event_changes, event_failures, events, outbox
from crm.services.event_changes import EventChanges
from crm.services.events import EventInput, Segment
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.events import BASE, NOW, SENDER, company, contact

LATER = NOW + timedelta(hours=1)


async def invited(db: Database, people: int = 3) -> tuple[Any, int]:
    anna = await factories.staff(db, name="Anna", language="en")
    firm = await company(db, anna, "Steel")
    for n in range(people):
        await contact(db, anna, f"Client {n}", f"c{n}@steel.example", firm.id)
    view = await events.create(
        db.uow(),
        anna,
        EventInput(title="Seminar", when="05.03 15:00", place="Hall A", budget="30000"),
        now=NOW,
    )
    await events.add_invitees(db.uow(), anna, view.event.id, Segment(), now=NOW)
    await events.send_invitations(
        db.uow(), anna, view.event.id, base_url=BASE, sender=SENDER, now=NOW
    )
    return anna, view.event.id


async def emails(db: Database, kind: str | None = None) -> list[OutboundEmail]:
    async with db.uow() as uow:
        stmt = select(OutboundEmail).order_by(OutboundEmail.id)
        if kind:
            stmt = stmt.where(OutboundEmail.kind == kind)
        return list(await uow.session.scalars(stmt))


async def mark(db: Database, status: str, *ids: int) -> None:
    async with db.uow() as uow:
        await uow.session.execute(
            update(OutboundEmail).where(OutboundEmail.id.in_(ids)).values(status=status)
        )
        await uow.commit()


def both_parsers(ics: str) -> tuple[Any, Any]:
    """The .ics read by icalendar and by vobject (a strict, independent parser)."""
    first = Calendar.from_ical(ics).walk("VEVENT")[0]
    second = vobject.readOne(ics).vevent
    assert str(first["UID"]) == second.uid.value
    assert int(first["SEQUENCE"]) == int(second.sequence.value)
    assert str(first["SUMMARY"]) == second.summary.value
    return first, second


async def test_an_update_goes_to_those_mailed_with_the_same_uid_and_sequence_plus_one(db):
    anna, event_id = await invited(db)
    first, second, third = await emails(db)
    await mark(db, "sent", first.id, second.id)  # the third is still waiting
    result = await event_changes.change(
        db.uow(),
        anna,
        event_id,
        EventChanges(when="06.03 16:00", place="Hall B"),
        base_url=BASE,
        sender=SENDER,
        now=LATER,
    )
    assert set(result.changed) == {"starts_at", "place"}
    assert (result.updates, result.invitations) == (2, 1)
    assert result.view.event.sequence == 1
    rows = await emails(db)
    waiting = next(r for r in rows if r.id == third.id)
    assert (waiting.status, waiting.last_error) == ("cancelled", event_changes.SUPERSEDED)
    updates = [r for r in rows if r.kind == "update"]
    assert sorted(r.to_addr for r in updates) == ["c0@steel.example", "c1@steel.example"]
    for row in updates:
        assert row.subject == "Changed: Seminar"
        assert "05.03.2026 15:00 – 17:00 (Europe/Moscow) → 06.03.2026 16:00 – 18:00" in (
            row.body_text
        )
        assert "Hall A → Hall B" in row.body_text and "Hall B" in (row.body_html or "")
        assert row.message_id and row.message_id != first.message_id
        vevent, card = both_parsers(row.ics or "")
        assert int(vevent["SEQUENCE"]) == 1 and str(vevent["STATUS"]) == "CONFIRMED"
        assert Calendar.from_ical(row.ics)["METHOD"] == "REQUEST"
        assert card.location.value == "Hall B"
    original = both_parsers(first.ics or "")[0]
    assert all(str(both_parsers(r.ics or "")[0]["UID"]) == str(original["UID"]) for r in updates)
    again = [r for r in rows if r.kind == "invitation" and r.status == "pending"]
    assert [r.to_addr for r in again] == ["c2@steel.example"]
    assert int(both_parsers(again[0].ics or "")[0]["SEQUENCE"]) == 1
    assert "Hall B" in again[0].body_text and "→" not in again[0].body_text
    # the budget is internal: audited, nobody is mailed, the sequence stays
    before = len(await emails(db))
    budget = await event_changes.change(
        db.uow(),
        anna,
        event_id,
        EventChanges(budget="45000"),
        base_url=BASE,
        sender=SENDER,
        now=LATER,
    )
    assert budget.changed == ("budget",) and budget.updates == 0
    assert budget.view.event.sequence == 1 and budget.view.event.budget == Decimal("45000")
    assert len(await emails(db)) == before
    async with db.uow() as uow:
        audited = await uow.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "events", AuditEntry.action == "update")
        )
        changes = [a.changes for a in audited]
    assert any("place" in c and c["place"] == ["Hall A", "Hall B"] for c in changes)
    assert any("budget" in c for c in changes)


async def test_a_cancellation_sends_method_cancel_with_a_higher_sequence(db):
    anna, event_id = await invited(db)
    first, second, _third = await emails(db)
    await mark(db, "sent", first.id)
    await mark(db, "sending", second.id)  # in flight: it will arrive, so it is cancelled too
    result = await event_changes.cancel(
        db.uow(), anna, event_id, base_url=BASE, sender=SENDER, now=LATER
    )
    assert (result.notices, result.dropped) == (2, 1)
    assert result.view.cancelled and result.view.event.sequence == 1
    cancels = await emails(db, "cancel")
    assert sorted(r.to_addr for r in cancels) == ["c0@steel.example", "c1@steel.example"]
    for row in cancels:
        assert row.subject == "Cancelled: Seminar"
        calendar = Calendar.from_ical(row.ics)
        assert calendar["METHOD"] == "CANCEL"
        vevent, card = both_parsers(row.ics or "")
        assert str(vevent["STATUS"]) == "CANCELLED" and card.status.value == "CANCELLED"
        assert int(vevent["SEQUENCE"]) == 1
        assert "/rsvp/" not in row.body_text
    assert (await emails(db))[2].status == "cancelled"
    async with db.uow() as uow:
        plan = list(await uow.session.scalars(select(Task).where(Task.event_id == event_id)))
    assert sorted(t.status for t in plan) == ["cancelled", "cancelled", "cancelled", "done"]
    invitee = (await events.list_invitees(db.uow(), anna, event_id))[0][0].invitee
    with pytest.raises(Conflict):
        await events.respond(db.uow(), invitee.token, "yes", now=LATER)
    with pytest.raises(Conflict, match="event_cancelled"):
        await event_changes.cancel(
            db.uow(), anna, event_id, base_url=BASE, sender=SENDER, now=LATER
        )
    with pytest.raises(Conflict, match="event_cancelled"):
        await event_changes.change(
            db.uow(),
            anna,
            event_id,
            EventChanges(title="X"),
            base_url=BASE,
            sender=SENDER,
            now=LATER,
        )


async def test_changes_are_checked_and_refused_by_the_service(db):
    anna, event_id = await invited(db, people=1)
    stranger = await factories.staff(db, name="Boris")
    with pytest.raises(Exception) as denied:
        await event_changes.change(
            db.uow(),
            stranger,
            event_id,
            EventChanges(title="Mine"),
            base_url=BASE,
            sender=SENDER,
            now=LATER,
        )
    assert type(denied.value).__name__ == "AccessDenied"
    for bad in (EventChanges(), EventChanges(title=" "), EventChanges(when="yesterday 10:00")):
        with pytest.raises(InvalidInput):
            await event_changes.change(
                db.uow(), anna, event_id, bad, base_url=BASE, sender=SENDER, now=LATER
            )
    async with db.uow() as uow:
        event = await uow.session.get(Event, event_id)
    assert event is not None and (event.title, event.sequence) == ("Seminar", 0)


async def test_the_company_name_and_signature_are_in_the_invitation(db):
    director = await factories.staff(db, Role.DIRECTOR, name="Dora")
    await company_settings.set_mail_setting(db.uow(), director, "company_name", "Romashka LLC")
    await company_settings.set_mail_setting(db.uow(), director, "signature", "Dora\nRomashka")
    await company_settings.set_mail_setting(db.uow(), director, "sender_name", "Romashka events")
    with pytest.raises(Exception) as denied:
        await company_settings.set_mail_setting(db.uow(), await factories.staff(db), "x", "y")
    assert type(denied.value).__name__ == "AccessDenied"
    _anna, _event_id = await invited(db, people=1)
    (row,) = await emails(db)
    assert row.sender_name == "Romashka events"
    assert row.body_text.startswith("Romashka LLC\n")
    assert "Dora\nRomashka" in row.body_text and "Dora<br>Romashka" in (row.body_html or "")
    assert "Romashka LLC" in (row.body_html or "")
    assert "a reply from your calendar app does not reach us" in row.body_text


async def test_the_outcome_counts_attendance_cost_and_deals_after_the_event(db):
    anna, event_id = await invited(db, people=4)
    invitees, _total = await events.list_invitees(db.uow(), anna, event_id)
    after = NOW + timedelta(days=4)
    await events.respond(db.uow(), invitees[0].invitee.token, "yes", now=NOW)
    await events.respond(db.uow(), invitees[1].invitee.token, "yes", now=NOW)
    async with db.uow() as uow:  # the event has taken place
        await uow.session.execute(
            update(Event).values(starts_at=after - timedelta(days=1), ends_at=after)
        )
        await uow.commit()
    from crm.analytics import events as outcomes

    async with db.uow() as uow:
        event = await uow.session.get(Event, event_id)
        assert event is not None
        first = await outcomes.outcome(uow, event)
    assert first.by_answers and (first.attended, first.invited) == (2, 4)
    assert first.cost_per_attendee == Decimal("15000.00")
    for row in invitees[:3]:
        await events.mark_attendance(
            db.uow(), anna, event_id, row.invitee.id, row is not invitees[2], now=after
        )
    firm_id = (await company(db, anna, "Other")).id
    async with db.uow() as uow:
        steel = event.id and (await uow.session.scalars(select(EventInvitee))).first()
        assert steel is not None
        company_id = (await uow.session.get(factories.Contact, steel.contact_id)).company_id
        start = event.starts_at
        uow.session.add_all(
            [
                Deal(
                    company_id=company_id,
                    curator_id=anna.id,
                    title="in",
                    amount=Decimal(1000),
                    stage="won",
                    created_at=start + timedelta(days=2),
                    closed_at=start + timedelta(days=10),
                ),
                Deal(
                    company_id=company_id,
                    curator_id=anna.id,
                    title="open",
                    amount=Decimal(500),
                    stage="lead",
                    created_at=start + timedelta(days=29),
                ),
                Deal(
                    company_id=company_id,
                    curator_id=anna.id,
                    title="late",
                    amount=Decimal(7),
                    stage="lead",
                    created_at=start + timedelta(days=31),
                ),
                Deal(
                    company_id=company_id,
                    curator_id=anna.id,
                    title="before",
                    amount=Decimal(9),
                    stage="won",
                    created_at=start - timedelta(days=3),
                    closed_at=start + timedelta(days=1),
                ),
                Deal(
                    company_id=firm_id,
                    curator_id=anna.id,
                    title="other",
                    amount=Decimal(5),
                    stage="lead",
                    created_at=start + timedelta(days=1),
                ),
            ]
        )
        await uow.commit()
    report = await outcomes.report(
        db.uow(), anna, start - timedelta(days=1), start + timedelta(days=1)
    )
    (result,) = report
    assert not result.by_answers and (result.attended, result.no_show) == (2, 1)
    assert result.participation_rate == 0.5 and result.cost_per_attendee == Decimal("15000.00")
    assert (result.deals_opened, result.opened_amount) == (2, Decimal(1500))
    assert (result.deals_won, result.won_amount) == (2, Decimal(1009))


async def test_the_manager_is_told_once_per_event_about_failures(db):
    anna, event_id = await invited(db, people=3)
    rows = await emails(db)
    async with db.uow() as uow:
        await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == rows[0].id)
            .values(status="failed", last_error="550 5.1.1 No such mailbox", error_code=550)
        )
        await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == rows[1].id)
            .values(status="failed", last_error=outbox.OPTED_OUT)
        )
        await uow.commit()
    view = await events.get(db.uow(), anna, event_id)
    assert view.emails == {"queued": 1, "sent": 0, "failed": 2}
    (notice,) = await event_failures.claim_notices(db.uow())
    assert (notice.event_id, notice.failed, notice.tg_id) == (event_id, 1, anna.tg_id)
    assert await event_failures.claim_notices(db.uow()) == []  # once per event
    items, total = await event_failures.failures(db.uow(), anna, event_id)
    assert total == 1
    assert (items[0].address, items[0].reason, items[0].code) == (
        "c0@steel.example",
        "550 5.1.1 No such mailbox",
        550,
    )
    assert items[0].contact_name == "Client 0"


async def test_the_edit_buttons_follow_can_change_and_to_tell_counts_those_mailed(db):
    anna, event_id = await invited(db)
    first, _second, _third = await emails(db)
    await mark(db, "sent", first.id)
    assert await event_changes.to_tell(db.uow(), anna, event_id) == 1  # the others wait
    async with db.uow() as uow:
        event = await uow.session.get(Event, event_id)
    assert event is not None
    assert event_changes.can_change(event, NOW) and not event_changes.can_change(
        event, event.starts_at
    )
    await event_changes.cancel(db.uow(), anna, event_id, base_url=BASE, sender=SENDER, now=LATER)
    async with db.uow() as uow:
        event = await uow.session.get(Event, event_id)
    assert event is not None and not event_changes.can_change(event, NOW)
