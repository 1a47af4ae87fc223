"""Reminder delivery with a controlled clock (time-machine) against the local Bot API stub."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiogram import Bot
from sqlalchemy import select, update

from crm.access import Actor
from crm.errors import AccessDenied
from crm.models import Manager, Task
from crm.services import tasks
from crm.services.tasks import TaskInput
from crm.storage import Database
from notifications.reminders import ReminderScheduler, TaskAction, apply_action, health
from tests.fixtures import factories
from tests.fixtures.bot_harness import fast_sender
from tests.fixtures.botapi_stub import BotAPIStub

SAT = datetime(2025, 3, 8, 17, 0, tzinfo=UTC)  # Sat 12:00 EST; DST starts Sun 02:00 in New York


async def staff(db: Database, tz: str = "Europe/Moscow", name: str = "Anna") -> Actor:
    actor = await factories.staff(db, name=name)
    async with db.uow() as uow:
        await uow.session.execute(update(Manager).where(Manager.id == actor.id).values(timezone=tz))
        await uow.commit()
        manager = await uow.session.get(Manager, actor.id)
        assert manager is not None
        return Actor.of(manager)


async def stored(db: Database, task_id: int) -> Task:
    async with db.uow() as uow:
        task = await uow.session.get(Task, task_id)
        assert task is not None
        return task


async def settle(scheduler: ReminderScheduler, pause: float = 0.15) -> None:
    """Let due jobs run after the clock moved, and their sends finish."""
    scheduler.wakeup()
    await asyncio.sleep(pause)
    await scheduler.drain()


def task_ids(stub: BotAPIStub, chat_id: int) -> list[int]:
    ids = []
    for sent in stub.sent_to(chat_id):
        data = TaskAction.unpack(sent.buttons[0][0]["callback_data"])
        ids.append(data.task_id)
    return ids


async def test_fires_at_local_time_across_timezones_and_dst(
    db: Database, stub: BotAPIStub, bot: Bot
) -> None:
    with time_machine.travel(SAT, tick=False) as clock:
        anna = await staff(db, "America/New_York")
        boris = await staff(db, "Europe/Moscow", name="Boris")
        ny = await tasks.remind(db.uow(), anna, "завтра в 9:00", "Call Pumps Inc")
        msk = await tasks.remind(db.uow(), boris, "tomorrow 9am", "Call Romashka")
        # Sunday 09:00 EDT (UTC-4, the day DST starts) and 09:00 MSK (UTC+3)
        assert ny.due_at == datetime(2025, 3, 9, 13, 0, tzinfo=UTC)
        assert msk.due_at == datetime(2025, 3, 9, 6, 0, tzinfo=UTC)
        scheduler = ReminderScheduler(db, fast_sender(bot), horizon=timedelta(days=2))
        await scheduler.start()
        try:
            assert scheduler.scheduler is not None
            job = scheduler.scheduler.get_job(f"task:{ny.id}")
            assert job is not None and job.next_run_time == ny.due_at
            steps = [
                (datetime(2025, 3, 9, 5, 59, 58, tzinfo=UTC), 0, 0),
                (datetime(2025, 3, 9, 6, 0, 1, tzinfo=UTC), 0, 1),
                (datetime(2025, 3, 9, 12, 59, 58, tzinfo=UTC), 0, 1),
                (datetime(2025, 3, 9, 13, 0, 1, tzinfo=UTC), 1, 1),
            ]
            for moment, to_anna, to_boris in steps:
                clock.move_to(moment)
                await settle(scheduler)
                assert (len(stub.sent_to(anna.tg_id)), len(stub.sent_to(boris.tg_id))) == (
                    to_anna,
                    to_boris,
                )
        finally:
            await scheduler.stop()
    [message] = stub.sent_to(anna.tg_id)
    assert "Call Pumps Inc" in message.text and "09.03.2025 09:00" in message.text
    assert "09.03.2025 09:00" in stub.sent_to(boris.tg_id)[0].text
    assert not (await stored(db, ny.id)).reminded_late


async def test_restart_before_due_delivers_exactly_once(
    db: Database, stub: BotAPIStub, bot: Bot
) -> None:
    with time_machine.travel(SAT, tick=False) as clock:
        anna = await staff(db)
        task = await tasks.create(db.uow(), anna, TaskInput("Call", SAT + timedelta(minutes=10)))
        first = ReminderScheduler(db, fast_sender(bot))
        await first.start()
        assert first.jobs == 1
        await first.stop()  # the bot restarts before the reminder is due
        second = ReminderScheduler(db, fast_sender(bot))
        await second.start()
        try:
            assert second.jobs == 1  # rebuilt from the tasks table
            clock.move_to(SAT + timedelta(minutes=10, seconds=1))
            await settle(second)
            assert await second.sweep() == 0
            assert await second.deliver(task.id) is None  # a late duplicate job changes nothing
            await second.drain()
        finally:
            await second.stop()
    assert task_ids(stub, anna.tg_id) == [task.id]
    row = await stored(db, task.id)
    assert row.reminded_at == SAT + timedelta(minutes=10, seconds=1) and not row.reminded_late


async def test_downtime_over_due_time_delivers_late_once(
    db: Database, stub: BotAPIStub, bot: Bot
) -> None:
    with time_machine.travel(SAT, tick=False) as clock:
        anna = await staff(db)
        task = await tasks.create(db.uow(), anna, TaskInput("Send offer", SAT + timedelta(hours=1)))
        clock.move_to(SAT + timedelta(hours=5))  # the bot was down over the due time
        before = await health(db)
        assert (before.leader, before.pending, before.overdue_undelivered) == (False, 0, 1)
        for _ in range(2):  # started twice: the second start sends nothing
            scheduler = ReminderScheduler(db, fast_sender(bot))
            await scheduler.start()
            await scheduler.drain()
            await scheduler.stop()
        after = await health(db)
    assert task_ids(stub, anna.tg_id) == [task.id]
    assert "Late: it was due" in stub.sent_to(anna.tg_id)[0].text
    assert (await stored(db, task.id)).reminded_late is True
    assert after.overdue_undelivered == 0


async def test_snooze_and_done_from_the_buttons(db: Database, stub: BotAPIStub, bot: Bot) -> None:
    with time_machine.travel(SAT, tick=False) as clock:
        anna = await staff(db)
        boris = await staff(db, name="Boris")
        task = await tasks.create(db.uow(), anna, TaskInput("Call", SAT + timedelta(minutes=1)))
        scheduler = ReminderScheduler(db, fast_sender(bot))
        await scheduler.start()
        try:
            clock.move_to(SAT + timedelta(minutes=1, seconds=1))
            await settle(scheduler)
            [first] = stub.sent_to(anna.tg_id)
            labels = [b["text"] for row in first.buttons for b in row]
            assert labels == ["✅ Done", "Snooze 15 min", "Snooze 1 h", "Tomorrow"]
            snooze = TaskAction.unpack(first.button("Snooze 15 min")["callback_data"])
            with pytest.raises(AccessDenied):  # a crafted callback for someone else's task
                await apply_action(db.uow(), boris, snooze)
            await apply_action(db.uow(), anna, snooze)
            scheduler.task_changed(task.id, (await stored(db, task.id)).due_at)
            clock.move_to(SAT + timedelta(minutes=16))
            await settle(scheduler)
            assert len(stub.sent_to(anna.tg_id)) == 1  # 15 minutes not over yet
            clock.move_to(SAT + timedelta(minutes=16, seconds=2))
            await settle(scheduler)
            second = stub.sent_to(anna.tg_id)[1]
            done = TaskAction.unpack(second.button("Done")["callback_data"])
            await apply_action(db.uow(), anna, done)
            clock.move_to(SAT + timedelta(days=2))
            await scheduler.sweep()
            await settle(scheduler)
        finally:
            await scheduler.stop()
    assert task_ids(stub, anna.tg_id) == [task.id, task.id]
    row = await stored(db, task.id)
    assert (row.status, row.snooze_count) == ("done", 1)


async def test_flood_of_500_with_429_all_once_in_order(
    db: Database, stub: BotAPIStub, bot: Bot
) -> None:
    due = SAT + timedelta(minutes=5)
    managers = [await staff(db, name=f"M{i}") for i in range(25)]
    async with db.uow() as uow:  # 20 reminders each, all due the same minute
        uow.session.add_all(
            [
                Task(
                    title=f"{m.id}-{n}",
                    due_at=due + timedelta(seconds=n),
                    assignee_id=m.id,
                    status="open",
                    kind="manual",
                    reminded_late=False,
                    snooze_count=0,
                )
                for n in range(20)
                for m in managers
            ]
        )
        await uow.commit()
    stub.fail_next(40, retry_after=1, methods={"sendMessage"})
    sender = fast_sender(bot)
    with time_machine.travel(due + timedelta(seconds=30), tick=False):
        scheduler = ReminderScheduler(db, sender)
        started = time.monotonic()
        await scheduler.start()
        await scheduler.drain()
        elapsed = time.monotonic() - started
        await scheduler.stop()
        stats = await health(db)
    assert sender.stats.retry_after == 40 and sender.stats.sent == 500
    assert elapsed >= 1.0  # retry_after was waited out
    for m in managers:
        delivered = [s for s in stub.sent_to(m.tg_id) if "_message_id" in s.params]  # not 429s
        titles = [s.text.split("\n")[0] for s in delivered]
        assert titles == [f"⏰ Reminder: <b>{m.id}-{n}</b>" for n in range(20)]  # once, in order
    async with db.uow() as uow:
        unsent = await uow.session.scalars(select(Task.id).where(Task.reminded_at.is_(None)))
        assert list(unsent) == []
    assert stats.overdue_undelivered == 0


async def test_blocked_user_is_marked_and_skipped(db: Database, stub: BotAPIStub, bot: Bot) -> None:
    anna = await staff(db)
    now = datetime.now(UTC)
    stub.block(anna.tg_id)
    marked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        marked.append(chat_id)
        from notifications.reminders import mark_bot_blocked

        await mark_bot_blocked(db, chat_id)

    for n in range(3):
        await tasks.create(db.uow(), anna, TaskInput(f"T{n}", now - timedelta(seconds=n)), now=now)
    scheduler = ReminderScheduler(db, fast_sender(bot, on_blocked=on_blocked))
    await scheduler.start()
    await scheduler.drain()
    await scheduler.stop()
    assert marked == [anna.tg_id]
    async with db.uow() as uow:
        manager = await uow.session.get(Manager, anna.tg_id and anna.id)
        assert manager is not None and manager.bot_blocked
    calls = [c for c in stub.calls_of("sendMessage") if c.params["chat_id"] == anna.tg_id]
    assert len(calls) == 1  # tried once, then skipped, not retried forever
    await tasks.create(db.uow(), anna, TaskInput("later", now), now=now)
    assert await tasks.claim_due(db.uow(), now + timedelta(minutes=1)) == []


# ------------------------------------------------------------------ the sender alone


async def test_a_reminder_of_an_event_task_names_the_event(db: Database) -> None:
    from crm.services import events
    from notifications.reminders import default_i18n, reminder_text

    anna = await staff(db)
    event = await events.create(
        db.uow(),
        anna,
        events.EventInput(
            title="Семинар по упаковке", starts_at=datetime.now(UTC) + timedelta(days=20)
        ),
    )
    async with db.uow() as uow:
        task_id = await uow.session.scalar(
            select(Task.id).where(Task.event_id == event.event.id).order_by(Task.due_at).limit(1)
        )
    assert task_id is not None
    delivery = await tasks.claim(db.uow(), task_id, datetime.now(UTC) + timedelta(days=30))
    assert delivery is not None and delivery.event_title == "Семинар по упаковке"
    assert "Event: Семинар по упаковке" in reminder_text(delivery, default_i18n())
