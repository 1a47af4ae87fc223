from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from crm.access import Actor
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import AuditEntry, Company, Deal, Interaction, Manager, Task
from crm.models.enums import Role
from crm.services import tasks
from crm.services.tasks import TaskInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count

NOW = datetime(2025, 3, 5, 7, 30, tzinfo=UTC)  # Wed 10:30 Moscow


async def set_timezone(db: Database, actor: Actor, tz: str) -> Actor:
    async with db.uow() as uow:
        await uow.session.execute(update(Manager).where(Manager.id == actor.id).values(timezone=tz))
        await uow.commit()
        manager = await uow.session.get(Manager, actor.id)
        assert manager is not None
        return Actor.of(manager)


async def load(db: Database, task_id: int) -> Task:
    async with db.uow() as uow:
        task = await uow.session.get(Task, task_id)
        assert task is not None
        return task


async def test_create_defaults_to_self_links_company_and_audits(db: Database) -> None:
    anna = await factories.staff(db)
    company = await factories.raw_company(db, anna)
    contact = await factories.raw_contact(db, anna, company_id=company.id)
    task = await tasks.create(
        db.uow(),
        anna,
        TaskInput(title="  Call back ", due_at=NOW + timedelta(hours=1), contact_id=contact.id),
        now=NOW,
    )
    stored = await load(db, task.id)
    assert (stored.title, stored.assignee_id, stored.created_by_id) == (
        "Call back",
        anna.id,
        anna.id,
    )
    assert stored.company_id == company.id  # taken from the contact
    assert stored.due_at == NOW + timedelta(hours=1)
    assert (stored.status, stored.reminded_at) == ("open", None)
    async with db.uow() as uow:
        entry = (await uow.session.scalars(select(AuditEntry))).one()
    assert (entry.entity, entry.entity_id, entry.action) == ("tasks", task.id, "create")


@pytest.mark.parametrize(
    ("title", "due", "field"),
    [
        ("   ", NOW + timedelta(hours=1), "title"),
        ("x" * 501, NOW + timedelta(hours=1), "title"),
        ("Call", NOW - timedelta(hours=1), "due_at"),
        ("Call", datetime(2030, 1, 1), "due_at"),  # naive
    ],
)
async def test_bad_input_writes_nothing(
    db: Database, title: str, due: datetime, field: str
) -> None:
    anna = await factories.staff(db)
    with pytest.raises(InvalidInput) as err:
        await tasks.create(db.uow(), anna, TaskInput(title=title, due_at=due), now=NOW)
    assert err.value.field == field
    assert await count(db, Task) == 0
    assert await count(db, AuditEntry) == 0


async def test_links_and_assignees_out_of_reach_are_refused(db: Database) -> None:
    dept = await factories.department(db)
    anna = await factories.staff(db, department_id=dept.id)
    boris = await factories.staff(db, department_id=dept.id, name="Boris")
    borisco = await factories.raw_company(db, boris, "Boris Co")
    due = NOW + timedelta(hours=1)
    with pytest.raises(AccessDenied) as link:
        await tasks.create(db.uow(), anna, TaskInput("Call", due, company_id=borisco.id), now=NOW)
    assert link.value.entity == "company"
    with pytest.raises(AccessDenied):
        await tasks.create(db.uow(), anna, TaskInput("Call", due, company_id=999_999), now=NOW)
    with pytest.raises(AccessDenied) as who:
        await tasks.create(db.uow(), anna, TaskInput("Call", due, assignee_id=boris.id), now=NOW)
    assert who.value.entity == "manager"
    assert await count(db, Task) == 0
    head = await factories.staff(db, Role.HEAD, department_id=dept.id, name="Head")
    task = await tasks.create(
        db.uow(), head, TaskInput("Call", due, assignee_id=boris.id, company_id=borisco.id), now=NOW
    )
    assert task.assignee_id == boris.id


async def test_visibility_by_assignee_or_linked_record(db: Database) -> None:
    dept = await factories.department(db)
    other = await factories.department(db, "Other")
    anna = await factories.staff(db, department_id=dept.id)
    boris = await factories.staff(db, department_id=dept.id, name="Boris")
    head = await factories.staff(db, Role.HEAD, department_id=dept.id, name="Head")
    outsider = await factories.staff(db, Role.HEAD, department_id=other.id, name="Out")
    director = await factories.staff(db, Role.DIRECTOR, name="Dir")
    annaco = await factories.raw_company(db, anna)
    # the head gives Boris a task on Anna's client: Anna sees it through her company
    task = await tasks.create(
        db.uow(),
        head,
        TaskInput("Visit", NOW + timedelta(days=1), assignee_id=boris.id, company_id=annaco.id),
        now=NOW,
    )
    for viewer in (anna, boris, head, director):
        async with db.uow() as uow:
            assert (await tasks.get(uow, viewer, task.id)).id == task.id
    with pytest.raises(AccessDenied):
        async with db.uow() as uow:
            await tasks.get(uow, outsider, task.id)
    private = await tasks.create(db.uow(), anna, TaskInput("Own", NOW + timedelta(days=1)), now=NOW)
    for intruder in (boris, outsider):
        with pytest.raises(AccessDenied):
            await tasks.complete(db.uow(), intruder, private.id, now=NOW)
        with pytest.raises(AccessDenied):
            await tasks.snooze(db.uow(), intruder, private.id, 15, now=NOW)
    page, total = await tasks.list_open(db.uow(), boris)
    assert total == 1 and [line.task.id for line in page] == [task.id]
    assert page[0].company_name == "Romashka"


async def test_remind_parses_in_the_actors_timezone(db: Database) -> None:
    anna = await set_timezone(db, await factories.staff(db), "America/New_York")
    task = await tasks.remind(db.uow(), anna, "завтра в 15:00", "Call Ivan", now=NOW)
    # Wed 02:30 EST -> Thursday 15:00 EST = 20:00 UTC
    assert task.due_at == datetime(2025, 3, 6, 20, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput) as err:
        await tasks.remind(db.uow(), anna, "вчера", "Call Ivan", now=NOW)
    assert (err.value.field, err.value.reason) == ("when", "past")
    assert await count(db, Task) == 1


async def test_snooze_reschedule_complete_reset_delivery(db: Database) -> None:
    anna = await set_timezone(db, await factories.staff(db), "Asia/Vladivostok")  # UTC+10
    task = await tasks.create(db.uow(), anna, TaskInput("Call", NOW), now=NOW)
    assert await tasks.mark_delivered(db.uow(), task.id, NOW, late=False)

    snoozed = await tasks.snooze(db.uow(), anna, task.id, 15, now=NOW)
    stored = await load(db, task.id)
    assert stored.due_at == snoozed.due_at == NOW + timedelta(minutes=15)
    assert (stored.reminded_at, stored.snooze_count) == (None, 1)

    assert await tasks.mark_delivered(db.uow(), task.id, NOW + timedelta(minutes=15), late=False)
    await tasks.snooze_until_tomorrow(db.uow(), anna, task.id, now=NOW)
    stored = await load(db, task.id)
    # 07:30 UTC is 17:30 in Vladivostok on 5 March: tomorrow 09:00 there is 23:00 UTC on the 5th
    assert stored.due_at == datetime(2025, 3, 5, 23, 0, tzinfo=UTC)
    assert (stored.reminded_at, stored.snooze_count) == (None, 2)

    later = NOW + timedelta(days=3)
    await tasks.reschedule(db.uow(), anna, task.id, later, now=NOW)
    assert (await load(db, task.id)).due_at == later
    with pytest.raises(InvalidInput):
        await tasks.snooze(db.uow(), anna, task.id, 0, now=NOW)

    await tasks.complete(db.uow(), anna, task.id, now=NOW)
    await tasks.complete(db.uow(), anna, task.id, now=NOW)  # a second press changes nothing
    stored = await load(db, task.id)
    assert (stored.status, stored.done_at) == ("done", NOW)
    with pytest.raises(Conflict):
        await tasks.snooze(db.uow(), anna, task.id, 15, now=NOW)
    assert not await tasks.mark_delivered(db.uow(), task.id, later, late=False)
    actions = await count(db, AuditEntry, AuditEntry.entity == "tasks")
    assert actions == 5  # create, 2 snoozes, reschedule, complete


async def test_reassign_within_reach_only(db: Database) -> None:
    dept = await factories.department(db)
    other = await factories.department(db, "Other")
    anna = await factories.staff(db, department_id=dept.id)
    boris = await factories.staff(db, department_id=dept.id, name="Boris")
    stranger = await factories.staff(db, department_id=other.id, name="Stranger")
    head = await factories.staff(db, Role.HEAD, department_id=dept.id, name="Head")
    task = await tasks.create(db.uow(), anna, TaskInput("Call", NOW), now=NOW)
    assert await tasks.mark_delivered(db.uow(), task.id, NOW, late=False)
    with pytest.raises(AccessDenied):
        await tasks.reassign(db.uow(), anna, task.id, boris.id)
    with pytest.raises(AccessDenied):
        await tasks.reassign(db.uow(), head, task.id, stranger.id)
    await tasks.reassign(db.uow(), head, task.id, boris.id)
    stored = await load(db, task.id)
    assert (stored.assignee_id, stored.reminded_at) == (boris.id, None)  # Boris is reminded


async def test_agenda_in_the_actors_timezone(db: Database) -> None:
    anna = await set_timezone(db, await factories.staff(db), "America/New_York")
    boris = await factories.staff(db, name="Boris")
    company = await factories.raw_company(db, anna)
    # 23:30 EST on Wed 5 March = 04:30 UTC on the 6th
    now = datetime(2025, 3, 6, 4, 30, tzinfo=UTC)
    async with db.uow() as uow:

        def task(title: str, due: datetime, who: Actor = anna, status: str = "open") -> Task:
            return Task(
                title=title,
                due_at=due,
                assignee_id=who.id,
                status=status,
                kind="manual",
                company_id=company.id,
                reminded_late=False,
                snooze_count=0,
            )

        uow.session.add_all(
            [
                task("tonight", datetime(2025, 3, 6, 4, 50, tzinfo=UTC)),  # 23:50 local today
                task("tomorrow", datetime(2025, 3, 6, 5, 10, tzinfo=UTC)),  # 00:10 local tomorrow
                task("late", datetime(2025, 3, 4, 12, 0, tzinfo=UTC)),
                task("earlier today", datetime(2025, 3, 5, 20, 0, tzinfo=UTC)),
                task("done", datetime(2025, 3, 5, 20, 0, tzinfo=UTC), status="done"),
                task("boris", datetime(2025, 3, 6, 4, 50, tzinfo=UTC), who=boris),
            ]
        )

        def interaction(at: datetime, status: str = "planned") -> Interaction:
            return Interaction(
                kind="call",
                direction="out",
                status=status,
                occurred_at=at,
                company_id=company.id,
                manager_id=anna.id,
                summary="",
            )

        uow.session.add_all(
            [
                interaction(datetime(2025, 3, 5, 15, 0, tzinfo=UTC)),  # 10:00 local today
                interaction(datetime(2025, 3, 6, 15, 0, tzinfo=UTC)),  # tomorrow
                interaction(datetime(2025, 3, 5, 16, 0, tzinfo=UTC), status="done"),
            ]
        )
        for title, close, stage in [
            ("stale", date(2025, 3, 4), "proposal"),
            ("fine", date(2025, 3, 6), "proposal"),
            ("won", date(2025, 3, 1), "won"),
        ]:
            uow.session.add(
                Deal(
                    company_id=company.id,
                    curator_id=anna.id,
                    title=title,
                    stage=stage,
                    amount=Decimal(1),
                    probability=50,
                    expected_close=close,
                )
            )
        await uow.commit()

    got = await tasks.agenda(db.uow(), anna, now)
    assert got.day == date(2025, 3, 5)
    assert [line.task.title for line in got.due_today] == ["tonight"]
    assert [line.task.title for line in got.overdue] == ["late", "earlier today"]
    assert got.overdue[0].company_name == "Romashka"
    assert [line.interaction.occurred_at.hour for line in got.planned] == [15]
    assert [deal.title for deal in got.stale_deals] == ["stale"]
    assert got.totals == {"due_today": 1, "overdue": 2, "planned": 1, "stale_deals": 1}


async def test_delivery_claim_is_exactly_once(db: Database) -> None:
    anna = await factories.staff(db)
    made = [
        await tasks.create(db.uow(), anna, TaskInput(f"T{i}", NOW + timedelta(seconds=i)), now=NOW)
        for i in range(12)
    ]
    at = NOW + timedelta(minutes=1)
    due = await tasks.due_for_delivery(db.uow(), at)
    assert [d.task_id for d in due] == [t.id for t in made]
    results = await asyncio.gather(
        *[tasks.mark_delivered(db.uow(), made[0].id, at, late=False) for _ in range(5)]
    )
    assert sorted(results) == [False, False, False, False, True]
    single = await asyncio.gather(*[tasks.claim(db.uow(), made[1].id, at) for _ in range(4)])
    assert len([c for c in single if c is not None]) == 1
    batches = await asyncio.gather(*[tasks.claim_due(db.uow(), at, limit=4) for _ in range(6)])
    claimed = [d.task_id for batch in batches for d in batch]
    assert sorted(claimed) == [t.id for t in made[2:]]  # every one once, none twice
    assert await tasks.due_for_delivery(db.uow(), at) == []


async def test_claim_marks_late_and_skips_early_or_blocked(db: Database) -> None:
    anna = await factories.staff(db)
    boris = await factories.staff(db, name="Boris")
    early = await tasks.create(
        db.uow(), anna, TaskInput("early", NOW + timedelta(hours=1)), now=NOW
    )
    assert await tasks.claim(db.uow(), early.id, NOW) is None  # not due yet (rescheduled job)
    overdue = await tasks.create(db.uow(), anna, TaskInput("old", NOW), now=NOW)
    got = await tasks.claim(db.uow(), overdue.id, NOW + timedelta(hours=3))
    assert got is not None and got.late and got.chat_id == anna.tg_id
    on_time = await tasks.create(db.uow(), anna, TaskInput("now", NOW), now=NOW)
    got = await tasks.claim(db.uow(), on_time.id, NOW + timedelta(seconds=20))
    assert got is not None and not got.late
    assert await tasks.release_delivery(db.uow(), on_time.id, NOW + timedelta(seconds=20))
    assert (await load(db, on_time.id)).reminded_at is None
    blocked = await tasks.create(db.uow(), boris, TaskInput("b", NOW), now=NOW)
    async with db.uow() as uow:
        await uow.session.execute(
            update(Manager).where(Manager.id == boris.id).values(bot_blocked=True)
        )
        await uow.commit()
    assert await tasks.claim(db.uow(), blocked.id, NOW + timedelta(minutes=1)) is None
    stats = await tasks.delivery_stats(db.uow(), NOW + timedelta(minutes=1))
    assert (stats.pending, stats.overdue_undelivered) == (1, 1)  # early; on_time released


async def test_forgotten_clients_get_one_task_once(db: Database) -> None:
    anna = await factories.staff(db)
    old = await factories.raw_company(db, anna, "Silent")
    talked = await factories.raw_company(db, anna, "Talked")
    lost = await factories.raw_company(db, anna, "Lost")
    fresh = await factories.raw_company(db, anna, "Fresh")
    long_ago = NOW - timedelta(days=45)
    async with db.uow() as uow:
        for company_id, values in [
            (old.id, {"created_at": long_ago}),
            (talked.id, {"created_at": long_ago, "last_interaction_at": NOW - timedelta(days=3)}),
            (lost.id, {"created_at": long_ago, "stage": "lost"}),
            (fresh.id, {"created_at": NOW - timedelta(days=2)}),
        ]:
            await uow.session.execute(
                update(Company).where(Company.id == company_id).values(**values)
            )
        await uow.commit()

    assert await tasks.create_forgotten_client_tasks(db.uow(), NOW, days=30) == 1
    async with db.uow() as uow:
        made = (await uow.session.scalars(select(Task))).one()
    assert (made.company_id, made.assignee_id, made.kind, made.title) == (
        old.id,
        anna.id,
        "forgotten_client",
        "Silent",
    )
    assert await count(db, AuditEntry, AuditEntry.entity == "tasks") == 1
    # the next day: the open task is enough
    assert await tasks.create_forgotten_client_tasks(db.uow(), NOW + timedelta(days=1)) == 0
    # done without any interaction: not again within the next 30 days, then once more
    await tasks.complete(db.uow(), anna, made.id, now=NOW + timedelta(days=2))
    assert await tasks.create_forgotten_client_tasks(db.uow(), NOW + timedelta(days=10)) == 0
    # 31 days on: Silent once more, and now Talked and Fresh have been silent 30+ days too
    assert await tasks.create_forgotten_client_tasks(db.uow(), NOW + timedelta(days=31)) == 3
    assert await count(db, Task, Task.company_id == old.id) == 2
    assert await count(db, Task, Task.company_id == lost.id) == 0


async def test_last_reminded_at_is_the_newest_reminder_sent(db: Database) -> None:
    anna = await factories.staff(db)
    assert await tasks.last_reminded_at(db.uow()) is None
    due = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
    made = [
        await tasks.create(
            db.uow(), anna, TaskInput(f"Call {n}", due + timedelta(hours=n)), now=due
        )
        for n in range(3)
    ]
    async with db.uow() as uow:
        for task, sent in ((made[0], due), (made[1], due + timedelta(hours=2))):
            await uow.session.execute(
                update(Task).where(Task.id == task.id).values(reminded_at=sent)
            )
        await uow.commit()
    newest = await tasks.last_reminded_at(db.uow())
    assert newest is not None and newest.replace(tzinfo=UTC) == due + timedelta(hours=2)
