"""A member of staff who blocked the bot: `people.mark_unreachable` and the listener that
tells their leaders once."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot
from sqlalchemy import select

from bot.i18n import create_i18n
from crm.models import AuditEntry, Manager
from crm.models.enums import Role
from crm.services import people
from crm.storage import Database
from notifications.unreachable import UnreachableListener
from tests.fixtures import factories
from tests.fixtures.botapi_stub import BotAPIStub

WHEN = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


async def test_marked_once_with_the_leaders_to_tell(db: Database) -> None:
    sales = (await factories.department(db, "Sales")).id
    other = (await factories.department(db, "Export")).id
    director = await factories.staff(db, Role.DIRECTOR, name="Olga", tg_id=501)
    head = await factories.staff(db, Role.HEAD, sales, "Ivan", tg_id=502)
    await factories.staff(db, Role.HEAD, other, "Petr", tg_id=503)  # another department
    blocked_head = await factories.staff(db, Role.HEAD, sales, "Sergey", tg_id=504)
    anna = await factories.staff(db, Role.MANAGER, sales, "Anna", tg_id=505)
    await people.mark_unreachable(db.uow(), 504)  # a head who blocked it too is not told

    found = await people.mark_unreachable(db.uow(), 505, now=WHEN)
    assert found is not None and (found.manager_id, found.name) == (anna.id, "Anna")
    assert [m.id for m in found.leaders] == [director.id, head.id]
    assert await people.mark_unreachable(db.uow(), 505) is None  # once
    assert await people.mark_unreachable(db.uow(), 999) is None  # not on staff

    async with db.uow() as uow:
        manager = await uow.session.get(Manager, anna.id)
        assert manager is not None and manager.bot_blocked and manager.bot_blocked_at == WHEN
        changes = list(
            await uow.session.scalars(
                select(AuditEntry.changes).where(
                    AuditEntry.entity == "managers", AuditEntry.entity_id == anna.id
                )
            )
        )
    assert changes == [{"bot_blocked": [False, True]}]

    # a head marked unreachable is told about nobody; the director hears of them
    again = await people.mark_unreachable(db.uow(), 502)
    assert again is not None and [m.id for m in again.leaders] == [director.id]
    assert blocked_head.id not in [m.id for m in again.leaders]

    # back (/start): reachable, and the time is cleared
    assert await people.mark_reachable(db.uow(), anna)
    async with db.uow() as uow:
        manager = await uow.session.get(Manager, anna.id)
        assert manager is not None and not manager.bot_blocked and manager.bot_blocked_at is None


async def test_the_listener_tells_each_leader_in_their_language(
    db: Database, stub: BotAPIStub, bot: Bot
) -> None:
    await factories.staff(db, Role.DIRECTOR, name="Olga", language="ru", tg_id=601)
    director_en = await factories.staff(db, Role.DIRECTOR, name="John", tg_id=602)
    await factories.staff(db, Role.MANAGER, name="Anna <A.>", tg_id=603)
    listener = UnreachableListener(db, bot, create_i18n())
    await listener(603)
    await listener(603)  # a second 403 (another process, a retry): nobody is told again
    assert stub.texts_to(601) == [
        "⛔ <b>Anna &lt;A.&gt;</b> заблокировал(а) бота: напоминания, уведомления и сводки "
        "не будут доходить, пока бот не будет разблокирован (кнопка «Перезапустить» в чате с ним)."
    ]
    assert stub.texts_to(director_en.tg_id) == [
        "⛔ <b>Anna &lt;A.&gt;</b> has blocked the bot: they get no reminders, notices or "
        "digests until they unblock it (“Restart” in the bot's chat)."
    ]
    assert listener == UnreachableListener(db, bot, listener.i18n)  # the governor keeps one
