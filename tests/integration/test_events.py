"""Marketing events: creating with a preparation plan, invitees by segment, invitations in
the outbox, RSVP, unsubscribe and attendance; access of managers, heads and directors."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import (
    AuditEntry,
    Company,
    Contact,
    Event,
    EventInvitee,
    OutboundEmail,
    Task,
)
from crm.models.enums import TaskStatus
from crm.services import events, playbooks
from crm.services.events import Segment
from crm.services.playbooks import PlaybookInput
from crm.storage import Database
from tests.fixtures.bilingual import team
from tests.fixtures.events import (
    BASE,
    NOW,
    SENDER,
    company,
    contact,
    invitees_of,
    new_event,
)
from tests.fixtures.queries import count
from tests.fixtures.worlds import DepartmentAndLoner, department_and_loner


@pytest.fixture
async def world(db: Database) -> DepartmentAndLoner:
    return await department_and_loner(db)


# ---------------------------------------------------------------- creating


async def test_create_parses_when_and_builds_the_plan_before_the_start(db, world):
    view = await new_event(db, world.anna)
    event = view.event
    assert event.title == "Spring seminar"
    assert event.starts_at == datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # 15:00 Moscow
    assert event.ends_at == event.starts_at + timedelta(hours=2)
    assert event.place == "Moscow, Tverskaya 1"
    assert event.responsible_id == world.anna.id
    assert event.uid.endswith("@chatcrm") and event.sequence == 0
    # the built-in plan (no playbook): 14, 10, 2 and 1 days before; what is already past
    # is due at the next working hour (13:00 Moscow), the rest at 09:00 Moscow of its day
    dues = [t.due_at for t in view.plan]
    assert dues == sorted(dues)
    assert all(NOW <= d <= event.starts_at for d in dues)
    assert [t.title for t in view.plan][-1] == "Prepare the materials and the room"
    assert view.plan[-1].due_at == datetime(2026, 3, 4, 6, 0, tzinfo=UTC)
    assert view.plan[0].due_at == view.plan[1].due_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert {t.event_id for t in view.plan} == {event.id}
    assert {t.assignee_id for t in view.plan} == {world.anna.id}
    assert await count(db, AuditEntry, AuditEntry.entity == "events") == 1


async def test_create_uses_the_default_event_playbook(db, world):
    await playbooks.create(
        db.uow(),
        world.director,
        PlaybookInput(
            name="Seminar",
            kind="event",
            steps=[("Order coffee", 1), ("Print badges", 2)],
            is_default=True,
        ),
    )
    view = await new_event(db, world.boris, when="20.03 10:00")
    titles = {t.title: t.due_at for t in view.plan}
    assert titles == {
        "Order coffee": datetime(2026, 3, 19, 6, 0, tzinfo=UTC),
        "Print badges": datetime(2026, 3, 18, 6, 0, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"title": "  "}, "title", "empty"),
        ({"title": "x" * 201}, "title", "too_long"),
        ({"when": "someday maybe"}, "when", "unparsed"),
        ({"when": "01.03.2026 10:00"}, "when", "past"),
        ({"place": "p" * 301}, "place", "too_long"),
        ({"budget": "-5"}, "budget", "negative"),
    ],
)
async def test_bad_input_writes_nothing(db, world, fields, field, reason):
    with pytest.raises(InvalidInput) as err:
        await new_event(db, world.anna, **fields)
    assert (err.value.field, err.value.reason) == (field, reason)
    assert await count(db, Event) == 0
    assert await count(db, Task) == 0
    assert await count(db, AuditEntry) == 0


async def test_russian_plan_and_natural_language(db, world):
    view = await new_event(db, world.boris, when="завтра в 15:00")
    assert view.event.starts_at == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert view.plan[-1].title == "Подготовить материалы и зал"


# ---------------------------------------------------------------- invitees


async def anna_clients(db: Database, w: DepartmentAndLoner) -> dict[str, Contact]:
    steel = await company(db, w.anna, "Steel", stage="regular", industry="Metal", territory="Ural")
    bread = await company(
        db, w.anna, "Bread", stage="potential", industry="Food", territory="Moscow"
    )
    return {
        "ivan": await contact(db, w.anna, "Ivan", "ivan@steel.example", steel.id),
        "olga": await contact(db, w.anna, "Olga", "olga@steel.example", steel.id),
        "noemail": await contact(db, w.anna, "Petr", None, steel.id),
        "optout": await contact(
            db, w.anna, "Sveta", "sveta@bread.example", bread.id, opted_out=True
        ),
        "maria": await contact(db, w.anna, "Maria", "maria@bread.example", bread.id),
    }


async def test_add_invitees_by_segment_is_idempotent_and_reports_skips(db, world):
    people = await anna_clients(db, world)
    other = await company(db, world.boris, "Borisco", stage="regular", industry="Metal")
    await contact(db, world.boris, "Gleb", "gleb@borisco.example", other.id)
    event = (await new_event(db, world.anna)).event

    result = await events.add_invitees(
        db.uow(), world.anna, event.id, Segment("stage", "regular"), now=NOW
    )
    assert (result.added, result.no_email, result.opted_out, result.already) == (2, 1, 0, 0)
    again = await events.add_invitees(
        db.uow(), world.anna, event.id, Segment("industry", "metal"), now=NOW
    )
    assert (again.added, again.no_email, again.already) == (0, 1, 2)
    rest = await events.add_invitees(db.uow(), world.anna, event.id, Segment("all"), now=NOW)
    assert (rest.added, rest.no_email, rest.opted_out, rest.already) == (1, 1, 1, 2)
    async with db.uow() as uow:
        invitees = list(await uow.session.scalars(select(EventInvitee)))
    assert {i.contact_id for i in invitees} == {
        people["ivan"].id,
        people["olga"].id,
        people["maria"].id,
    }
    tokens = [i.token for i in invitees]
    assert len(set(tokens)) == 3 and all(len(t) >= 30 for t in tokens)
    assert {i.status for i in invitees} == {"invited"}
    view = await events.get(db.uow(), world.anna, event.id)
    assert view.invited == 3 and view.participation_rate == 0


async def test_segments_territory_and_company(db, world):
    people = await anna_clients(db, world)
    event = (await new_event(db, world.anna)).event
    by_territory = await events.add_invitees(
        db.uow(), world.anna, event.id, Segment("territory", "Moscow"), now=NOW
    )
    assert by_territory.added == 1 and by_territory.opted_out == 1
    bread_id = people["maria"].company_id
    by_company = await events.add_invitees(
        db.uow(), world.anna, event.id, Segment("company", bread_id), now=NOW
    )
    assert by_company.added == 0 and by_company.already == 1
    with pytest.raises(InvalidInput):
        await events.add_invitees(db.uow(), world.anna, event.id, Segment("stage", "lost"))


async def test_a_manager_cannot_invite_or_see_what_is_not_theirs(db, world):
    await anna_clients(db, world)
    other = await company(db, world.boris, "Borisco", stage="regular")
    await contact(db, world.boris, "Gleb", "gleb@borisco.example", other.id)
    anna_event = (await new_event(db, world.anna)).event
    boris_event = (await new_event(db, world.boris)).event

    # Boris's "all my clients" is Gleb only; Anna's company is out of his reach
    result = await events.add_invitees(db.uow(), world.boris, boris_event.id, Segment(), now=NOW)
    assert result.added == 1
    async with db.uow() as uow:
        steel_id = await uow.session.scalar(select(Company.id).where(Company.name == "Steel"))
    with pytest.raises(AccessDenied):
        await events.add_invitees(
            db.uow(), world.boris, boris_event.id, Segment("company", steel_id), now=NOW
        )
    # and Anna's event he can neither see nor change
    for call in (
        events.get(db.uow(), world.boris, anna_event.id),
        events.add_invitees(db.uow(), world.boris, anna_event.id, Segment(), now=NOW),
        events.list_invitees(db.uow(), world.boris, anna_event.id),
        events.send_invitations(
            db.uow(), world.boris, anna_event.id, base_url=BASE, sender=SENDER, now=NOW
        ),
        events.get(db.uow(), world.boris, 999_999),
    ):
        with pytest.raises(AccessDenied):
            await call
    listed, total = await events.list_upcoming(db.uow(), world.boris, now=NOW)
    assert [e.id for e in listed] == [boris_event.id] and total == 1
    # the head of Anna's department and the director see Anna's event
    assert (await events.get(db.uow(), world.head, anna_event.id)).event.id == anna_event.id
    listed, total = await events.list_upcoming(db.uow(), world.director, now=NOW)
    assert total == 2


# ---------------------------------------------------------------- invitations


async def test_send_invitations_queues_each_email_once(db, world):
    await anna_clients(db, world)
    event = (await new_event(db, world.anna, topic="New steel grades")).event
    await events.add_invitees(db.uow(), world.anna, event.id, Segment(), now=NOW)

    sent = await events.send_invitations(
        db.uow(), world.anna, event.id, base_url=BASE, sender=SENDER, now=NOW
    )
    assert (sent.queued, sent.already) == (3, 0)
    again = await events.send_invitations(
        db.uow(), world.anna, event.id, base_url=BASE, sender=SENDER, now=NOW
    )
    assert (again.queued, again.already) == (0, 3)
    async with db.uow() as uow:
        rows = list(await uow.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))
        invitees = {i.id: i for i in await uow.session.scalars(select(EventInvitee))}
    assert len(rows) == 3
    assert {r.status for r in rows} == {"pending"}
    assert "sveta@bread.example" not in {r.to_addr for r in rows}
    row = rows[0]
    invitee_id = int(row.dedupe_key.split(":")[3])
    assert row.dedupe_key == f"event:{event.id}:inv:{invitee_id}:seq:0"
    token = invitees[invitee_id].token
    assert row.subject == "Invitation: Spring seminar"
    for body in (row.body_text, row.body_html):
        assert f"{BASE}/rsvp/{token}/yes" in body
        assert f"{BASE}/rsvp/{token}/no" in body
        assert f"{BASE}/unsubscribe/{token}" in body
        assert "05.03.2026 15:00" in body  # Anna's timezone
    cal = Calendar.from_ical(row.ics)
    assert cal["METHOD"] == "REQUEST"
    vevent = cal.walk("VEVENT")[0]
    assert str(vevent["UID"]) == event.uid
    assert int(vevent["SEQUENCE"]) == 0
    assert vevent.decoded("DTSTART") == event.starts_at
    assert "DTSTART:20260305T120000Z" in row.ics
    assert str(vevent["SUMMARY"]) == "Spring seminar"
    assert str(vevent["LOCATION"]) == "Moscow, Tverskaya 1"
    assert str(vevent["ORGANIZER"]) == "mailto:events@example.com"
    assert str(vevent["ATTENDEE"]) == f"mailto:{row.to_addr}"
    assert vevent["ATTENDEE"].params["RSVP"] == "FALSE"  # the links are the way to answer


async def test_invitation_is_in_the_managers_language_and_html_is_escaped(db, world):
    bad = await company(db, world.boris, "Evil")
    await contact(db, world.boris, "<script>x</script>", "evil@example.com", bad.id)
    event = (await new_event(db, world.boris, title="Семинар <b>")).event
    await events.add_invitees(db.uow(), world.boris, event.id, Segment(), now=NOW)
    await events.send_invitations(
        db.uow(), world.boris, event.id, base_url=BASE, sender=SENDER, now=NOW
    )
    async with db.uow() as uow:
        row = (await uow.session.scalars(select(OutboundEmail))).one()
    assert row.subject == "Приглашение: Семинар <b>"
    assert "Здравствуйте" in row.body_text and "Да, приду" in row.body_text
    assert "<script>" not in row.body_html and "&lt;script&gt;" in row.body_html
    assert "Семинар &lt;b&gt;" in row.body_html
    msg = email.message_from_string(row.body_text, policy=policy.default)
    assert msg is not None


async def test_no_invitations_after_the_start(db, world):
    await anna_clients(db, world)
    event = (await new_event(db, world.anna)).event
    later = event.starts_at + timedelta(minutes=1)
    with pytest.raises(Conflict):
        await events.add_invitees(db.uow(), world.anna, event.id, Segment(), now=later)
    with pytest.raises(Conflict):
        await events.send_invitations(
            db.uow(), world.anna, event.id, base_url=BASE, sender=SENDER, now=later
        )


# ---------------------------------------------------------------- RSVP and attendance


async def invited(db: Database, w: DepartmentAndLoner) -> tuple[Event, list[EventInvitee]]:
    await anna_clients(db, w)
    event = (await new_event(db, w.anna)).event
    await events.add_invitees(db.uow(), w.anna, event.id, Segment(), now=NOW)
    async with db.uow() as uow:
        rows = list(await uow.session.scalars(select(EventInvitee).order_by(EventInvitee.id)))
    return event, rows


async def status_of(db: Database, invitee_id: int) -> str:
    async with db.uow() as uow:
        return str(
            await uow.session.scalar(
                select(EventInvitee.status).where(EventInvitee.id == invitee_id)
            )
        )


async def test_rsvp_is_idempotent_and_can_change_until_the_start(db, world):
    event, rows = await invited(db, world)
    token = rows[0].token
    view = await events.respond(db.uow(), token, "yes", now=NOW)
    assert view.invitee.status == "accepted" and view.event.id == event.id
    assert view.language == "en"
    audits = await count(db, AuditEntry, AuditEntry.entity == "event_invitees")
    await events.respond(db.uow(), token, "yes", now=NOW)
    assert await count(db, AuditEntry, AuditEntry.entity == "event_invitees") == audits
    await events.respond(db.uow(), token, "no", now=NOW + timedelta(hours=1))
    assert await status_of(db, rows[0].id) == "declined"
    with pytest.raises(Conflict):
        await events.respond(db.uow(), token, "yes", now=event.starts_at)
    assert await status_of(db, rows[0].id) == "declined"
    for bad in ("nope-not-a-token-at-all", "", "x" * 500, "' OR 1=1 --xxxxxxxxxxxxx"):
        with pytest.raises(AccessDenied):
            await events.respond(db.uow(), bad, "yes", now=NOW)
    with pytest.raises(InvalidInput):
        await events.respond(db.uow(), token, "maybe", now=NOW)


async def test_unsubscribe_sets_the_opt_out(db, world):
    _event, rows = await invited(db, world)
    view = await events.unsubscribe(db.uow(), rows[1].token)
    assert view.opted_out
    await events.unsubscribe(db.uow(), rows[1].token)  # again: nothing changes
    async with db.uow() as uow:
        contact_row = await uow.session.get(Contact, rows[1].contact_id)
        assert contact_row is not None and contact_row.email_opt_out
        audits = await uow.session.scalar(
            select(func.count()).where(
                AuditEntry.entity == "contacts", AuditEntry.entity_id == rows[1].contact_id
            )
        )
    assert audits == 1
    with pytest.raises(AccessDenied):
        await events.unsubscribe(db.uow(), "unknown-token-unknown-token")


async def test_attendance_after_the_start_and_participation_rate(db, world):
    event, rows = await invited(db, world)
    with pytest.raises(Conflict):
        await events.mark_attendance(db.uow(), world.anna, event.id, rows[0].id, True, now=NOW)
    after = event.starts_at + timedelta(minutes=30)
    await events.mark_attendance(db.uow(), world.anna, event.id, rows[0].id, True, now=after)
    await events.mark_attendance(db.uow(), world.head, event.id, rows[1].id, False, now=after)
    with pytest.raises(AccessDenied):
        await events.mark_attendance(db.uow(), world.boris, event.id, rows[2].id, True, now=after)
    view = await events.get(db.uow(), world.anna, event.id)
    assert view.counts == {"attended": 1, "no_show": 1, "invited": 1}
    assert view.participation_rate == pytest.approx(1 / 3)
    with pytest.raises(Conflict):  # the answer cannot change once the event started
        await events.respond(db.uow(), rows[2].token, "yes", now=after)
    audits = await count(
        db, AuditEntry, AuditEntry.entity == "event_invitees", AuditEntry.action == "update"
    )
    assert audits == 2


# ---------------------------------------------------------------- sending closes the plan's step


async def plan_of(db: Database, event_id: int) -> dict[str, tuple[str, object]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(Task).where(Task.event_id == event_id))
        return {t.title: (t.status, t.done_at) for t in rows}


async def test_sending_invitations_closes_the_built_in_step(db: Database) -> None:
    s = await team(db)
    await invitees_of(db, s.emily)
    event = (await new_event(db, s.emily)).event
    await events.add_invitees(db.uow(), s.emily, event.id, events.Segment(), now=NOW)
    sent = await events.send_invitations(  # a head sends: the step of Emily's plan
        db.uow(), s.helen, event.id, base_url=BASE, sender=SENDER, now=NOW
    )
    assert sent.queued == 1
    plan = await plan_of(db, event.id)
    assert plan["Send the invitations"][0] == TaskStatus.DONE.value
    assert plan["Send the invitations"][1] is not None
    others = [status for title, (status, _) in plan.items() if title != "Send the invitations"]
    assert others == [TaskStatus.OPEN.value] * 3
    async with db.uow() as uow:
        audit = (
            await uow.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity == "tasks", AuditEntry.action == "update"
                )
            )
        ).one()
    assert audit.actor_id == s.helen.id
    assert audit.changes["status"] == ["open", "done"]
    again = await events.send_invitations(
        db.uow(), s.emily, event.id, base_url=BASE, sender=SENDER, now=NOW
    )
    assert (again.queued, again.already) == (0, 1)  # nothing new, the step stays done


async def test_sending_with_nothing_queued_or_a_playbook_plan_closes_nothing(db: Database) -> None:
    s = await team(db)
    # Russian built-in plan, but no invitee with an email: no invitation, the step stays open
    event = (await new_event(db, s.anna)).event
    await events.send_invitations(db.uow(), s.anna, event.id, base_url=BASE, sender=SENDER, now=NOW)
    assert (await plan_of(db, event.id))["Разослать приглашения"][0] == TaskStatus.OPEN.value
    await invitees_of(db, s.anna)
    await events.add_invitees(db.uow(), s.anna, event.id, events.Segment(), now=NOW)
    await events.send_invitations(db.uow(), s.anna, event.id, base_url=BASE, sender=SENDER, now=NOW)
    assert (await plan_of(db, event.id))["Разослать приглашения"][0] == TaskStatus.DONE.value
    # a director's own events playbook: its steps are theirs to close
    await playbooks.create(
        db.uow(),
        s.dina,
        PlaybookInput(
            name="Seminar", kind="event", steps=[("Mail the guests", 5)], is_default=True
        ),
    )
    own = (await new_event(db, s.anna, title="Autumn seminar")).event
    await events.add_invitees(db.uow(), s.anna, own.id, events.Segment(), now=NOW)
    sent = await events.send_invitations(
        db.uow(), s.anna, own.id, base_url=BASE, sender=SENDER, now=NOW
    )
    assert sent.queued == 1
    assert await plan_of(db, own.id) == {"Mail the guests": (TaskStatus.OPEN.value, None)}
