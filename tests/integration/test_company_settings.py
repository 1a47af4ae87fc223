"""The company-wide "forgotten client" threshold: the setting itself, the daily job that
reads it on every run, /report forgotten without N, and the director's /settings screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiogram import Bot
from sqlalchemy import func, select, update

from crm.access import Actor
from crm.analytics import forgotten
from crm.errors import AccessDenied, InvalidInput
from crm.models import AppSetting, AuditEntry, Company, Manager, Task
from crm.models.enums import Role
from crm.services import company_settings
from crm.storage import Database
from handlers.settings import SettingsCb
from notifications.reminders import ReminderScheduler
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness, fast_sender, person, read_manager
from tests.fixtures.botapi_stub import TgUser, callback_update, message_update, press

NOW = datetime(2025, 3, 12, 6, 0, tzinfo=UTC)  # 09:00 in Moscow: the daily job's time
DIRECTOR = TgUser(7301, "Dina", language_code="ru")
DIRECTOR_EN = TgUser(7302, "Dora", language_code="en")
MANAGER = TgUser(7303, "Mark", language_code="ru")


async def silent_company(db: Database, curator: Actor, name: str, days: int) -> Company:
    """A client last contacted `days` days before NOW."""
    company = await factories.raw_company(db, curator, name)
    async with db.uow() as uow:
        await uow.session.execute(
            update(Company)
            .where(Company.id == company.id)
            .values(
                created_at=NOW - timedelta(days=400), last_interaction_at=NOW - timedelta(days=days)
            )
        )
        await uow.commit()
    return company


async def forgotten_tasks(db: Database) -> list[int]:
    """The companies that have a forgotten-client task, in order."""
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(Task.company_id).where(Task.kind == "forgotten_client").order_by(Task.company_id)
        )
        return [r for r in rows if r is not None]


async def setting_audits(db: Database) -> list[dict]:  # type: ignore[type-arg]
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "app_settings").order_by(AuditEntry.id)
        )
        return [e.changes for e in rows]


async def stored_setting(db: Database) -> object:
    async with db.uow() as uow:
        row = await uow.session.get(AppSetting, company_settings.FORGOTTEN_SETTING)
        return None if row is None else row.value


# --- the service ----------------------------------------------------------------------------


async def test_setting_defaults_validates_and_is_audited(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    head = await factories.staff(db, Role.HEAD, name="Hugo")
    assert await company_settings.forgotten_days(db.uow()) == 30

    for bad in (0, 366, -5, "abc", "", True, 3.5, None):
        with pytest.raises(InvalidInput) as err:
            await company_settings.set_forgotten_days(db.uow(), director, bad)
        assert err.value.field == "days"
    with pytest.raises(AccessDenied):
        await company_settings.set_forgotten_days(db.uow(), head, 45)
    assert await stored_setting(db) is None
    assert await setting_audits(db) == []

    assert await company_settings.set_forgotten_days(db.uow(), director, 45) == 45
    assert await company_settings.set_forgotten_days(db.uow(), director, " 60 ") == 60
    assert await company_settings.set_forgotten_days(db.uow(), director, 60) == 60  # no change
    assert await company_settings.forgotten_days(db.uow()) == 60
    assert await stored_setting(db) == 60
    assert await setting_audits(db) == [{"forgotten_days": [30, 45]}, {"forgotten_days": [45, 60]}]
    # the limits themselves are allowed
    assert await company_settings.set_forgotten_days(db.uow(), director, 1) == 1
    assert await company_settings.set_forgotten_days(db.uow(), director, 365) == 365

    # a value that is no longer usable (written by hand) falls back to the default
    async with db.uow() as uow:
        row = await uow.session.get(AppSetting, company_settings.FORGOTTEN_SETTING)
        assert row is not None
        row.value = "oops"
        await uow.commit()
    assert await company_settings.forgotten_days(db.uow()) == 30


# --- the daily job ---------------------------------------------------------------------------


async def test_daily_job_reads_the_setting_on_every_run(db: Database, bot: Bot) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    anna = await factories.staff(db, name="Anna")
    forty = await silent_company(db, anna, "Forty", 40)
    fifty = await silent_company(db, anna, "Fifty", 50)
    twenty = await silent_company(db, anna, "Twenty", 20)
    sender = fast_sender(bot)
    clock = {"now": NOW}
    scheduler = ReminderScheduler(db, sender, clock=lambda: clock["now"])  # no days given
    try:
        # the director sets 45 days: the client silent for 40 days is not forgotten yet
        await company_settings.set_forgotten_days(db.uow(), director, 45)
        assert await scheduler.forgotten_clients() == 1
        assert await forgotten_tasks(db) == [fifty.id]

        # changed again, no restart: the next run uses 10 days
        await company_settings.set_forgotten_days(db.uow(), director, 10)
        clock["now"] = NOW + timedelta(days=1)
        assert await scheduler.forgotten_clients() == 2
        assert await forgotten_tasks(db) == sorted([fifty.id, forty.id, twenty.id])
        await scheduler.drain()
    finally:
        await scheduler.stop(drain=False)
        await sender.close()


async def test_daily_job_default_is_thirty_days(db: Database, bot: Bot) -> None:
    anna = await factories.staff(db, name="Anna")
    await silent_company(db, anna, "Twenty", 20)
    forty = await silent_company(db, anna, "Forty", 40)
    sender = fast_sender(bot)
    scheduler = ReminderScheduler(db, sender, clock=lambda: NOW)
    try:
        assert await scheduler.forgotten_clients() == 1
        assert await forgotten_tasks(db) == [forty.id]
        await scheduler.drain()
    finally:
        await scheduler.stop(drain=False)
        await sender.close()


# --- the report -------------------------------------------------------------------------------


async def test_report_without_n_uses_the_setting(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    anna = await factories.staff(db, name="Anna")
    await silent_company(db, anna, "Forty", 40)
    await silent_company(db, anna, "Fifty", 50)
    report = await forgotten.forgotten_report(db.uow(), director, now=NOW)
    assert (report.days, report.count) == (30, 2)
    await company_settings.set_forgotten_days(db.uow(), director, 45)
    report = await forgotten.forgotten_report(db.uow(), director, now=NOW)
    assert (report.days, report.count) == (45, 1)
    assert await forgotten.forgotten_count(db.uow(), director, now=NOW) == 1
    # an explicit N still wins
    assert (await forgotten.forgotten_report(db.uow(), director, 30, now=NOW)).count == 2


async def test_report_command_default_follows_the_setting(harness: Harness) -> None:
    with time_machine.travel(NOW, tick=False):
        await _report_command_default_follows_the_setting(harness)


async def _report_command_default_follows_the_setting(harness: Harness) -> None:
    h = harness
    await person(h.db, DIRECTOR, Role.DIRECTOR)
    director = Actor.of(await read_manager(h.db, DIRECTOR.id))
    anna = await factories.staff(h.db, name="Anna")
    await silent_company(h.db, anna, "Forty", 40)
    await company_settings.set_forgotten_days(h.db.uow(), director, 100)
    [calm] = await h.send(message_update(DIRECTOR, "/report forgotten"))
    assert "100" in calm.text and "Forty" not in calm.text
    await company_settings.set_forgotten_days(h.db.uow(), director, 35)
    [text, *_chart] = await h.send(message_update(DIRECTOR, "/report forgotten"))
    assert "Forty" in text.text and "35" in text.text
    # N given on the line still wins
    [none] = await h.send(message_update(DIRECTOR, "/report forgotten; 60"))
    assert "Forty" not in none.text and "60" in none.text


# --- /settings: the director's company settings ------------------------------------------------


async def test_director_changes_the_threshold_with_buttons_in_russian(harness: Harness) -> None:
    h = harness
    await person(h.db, DIRECTOR, Role.DIRECTOR)
    [screen] = await h.send(message_update(DIRECTOR, "/settings"))
    assert "🏢 Настройки компании" in [b["text"] for row in screen.buttons for b in row]
    [company] = await h.send(press(DIRECTOR, screen, "Настройки компании"))
    assert company.method == "editMessageText"
    assert company.text.startswith("<b>Настройки компании</b>\n")
    assert "не было 30 дн." in company.text
    assert "✓ 30" in [b["text"] for row in company.buttons for b in row]
    [changed] = await h.send(press(DIRECTOR, company, "45"))
    assert "не было 45 дн." in changed.text
    assert "✓ 45" in [b["text"] for row in changed.buttons for b in row]
    assert h.stub.alerts()[-1] == "Забытый клиент — после 45 дн. без взаимодействий. Сохранено."
    assert await stored_setting(h.db) == 45

    # "Other…": typed; a bad number is explained and nothing is written, the dialog waits
    [ask] = await h.send(press(DIRECTOR, changed, "Другое…"))
    assert ask.text.startswith("Через сколько дней без взаимодействий")
    [bad] = await h.send(message_update(DIRECTOR, "400"))
    assert bad.text == "Дни: значение должно быть от 1 до 365."
    [word] = await h.send(message_update(DIRECTOR, "много"))
    assert word.text == "Дни: это не число."
    assert await stored_setting(h.db) == 45
    [ok] = await h.send(message_update(DIRECTOR, "21"))
    assert ok.text.startswith("Забытый клиент — после 21 дн. без взаимодействий. Сохранено.")
    assert await stored_setting(h.db) == 21
    assert await setting_audits(h.db) == [
        {"forgotten_days": [30, 45]},
        {"forgotten_days": [45, 21]},
    ]


async def test_director_one_line_in_english(harness: Harness) -> None:
    h = harness
    await person(h.db, DIRECTOR_EN, Role.DIRECTOR)
    async with h.db.uow() as uow:
        await uow.session.execute(
            update(Manager).where(Manager.tg_id == DIRECTOR_EN.id).values(language="en")
        )
        await uow.commit()
    [ok] = await h.send(message_update(DIRECTOR_EN, "/settings forgotten; 60"))
    assert ok.text.startswith("Forgotten client after 60 days. Saved.\n\n<b>Company settings</b>")
    assert "A client is forgotten after 60 days without an interaction." in ok.text
    [shown] = await h.send(message_update(DIRECTOR_EN, "/settings forgotten"))
    assert "✓ 60" in [b["text"] for row in shown.buttons for b in row]
    [spaced] = await h.send(message_update(DIRECTOR_EN, "/settings forgotten 90"))
    assert spaced.text.startswith("Forgotten client after 90 days. Saved.")
    [bad] = await h.send(message_update(DIRECTOR_EN, "/settings forgotten; 0"))
    assert bad.text == "Days: this must be between 1 and 365."
    assert await stored_setting(h.db) == 90


async def test_others_cannot_change_it(harness: Harness) -> None:
    h = harness
    await person(h.db, MANAGER)
    [screen] = await h.send(message_update(MANAGER, "/settings"))
    assert "Настройки компании" not in str(screen.buttons)
    [refused] = await h.send(message_update(MANAGER, "/settings forgotten; 5"))
    assert refused.text == "Изменять настройки компании может только директор."
    for action, value in (("company", ""), ("fdays", "5"), ("fdother", "")):
        data = SettingsCb(action=action, value=value).pack()
        assert await h.send(callback_update(MANAGER, data)) == []
        assert h.stub.alerts()[-1] == "Изменять настройки компании может только директор."
    assert await stored_setting(h.db) is None
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(AppSetting)) == 0


# --- /settings: how the company's emails present it -------------------------------------------


async def test_director_sets_the_mail_identity_with_buttons(harness: Harness) -> None:
    h = harness
    await person(h.db, DIRECTOR, Role.DIRECTOR)
    [screen] = await h.send(message_update(DIRECTOR, "/settings"))
    [company] = await h.send(press(DIRECTOR, screen, "Настройки компании"))
    assert "<b>Письма компании</b> (приглашения и рассылки)" in company.text
    assert "Имя отправителя: не задано" in company.text
    [ask] = await h.send(press(DIRECTOR, company, "Имя отправителя"))
    assert ask.text.startswith("Имя отправителя, которое получатели видят в поле «От»?")
    [bad] = await h.send(message_update(DIRECTOR, "x" * 300))
    assert bad.text == "Имя отправителя: слишком длинно (не больше 200 символов)."
    [saved] = await h.send(message_update(DIRECTOR, "Ромашка <мероприятия>"))
    assert saved.text.startswith("Имя отправителя: сохранено.\n\n<b>Настройки компании</b>")
    assert "Имя отправителя: Ромашка &lt;мероприятия&gt;" in saved.text
    [ask] = await h.send(press(DIRECTOR, saved, "Подпись"))
    [signed] = await h.send(message_update(DIRECTOR, "С уважением,\nотдел продаж"))
    assert "Подпись: С уважением, отдел продаж" in signed.text
    identity = await company_settings.mail_identity(h.db.uow())
    assert (identity.sender_name, identity.signature) == (
        "Ромашка <мероприятия>",
        "С уважением,\nотдел продаж",
    )
    [ask] = await h.send(press(DIRECTOR, signed, "Подпись"))
    [removed] = await h.send(press(DIRECTOR, ask, "Удалить"))
    assert "Подпись: не задано" in removed.text
    assert h.stub.alerts()[-1] == "Подпись: убрано."
    assert (await company_settings.mail_identity(h.db.uow())).signature == ""
    async with h.db.uow() as uow:
        audits = list(
            await uow.session.scalars(
                select(AuditEntry.changes)
                .where(AuditEntry.entity == "app_settings")
                .order_by(AuditEntry.id)
            )
        )
    assert [list(a) for a in audits] == [["sender_name"], ["signature"], ["signature"]]


async def test_a_manager_cannot_set_the_mail_identity(harness: Harness) -> None:
    h = harness
    await person(h.db, MANAGER)
    for action, value in (("mail", "sender_name"), ("mailclear", "signature")):
        assert (
            await h.send(callback_update(MANAGER, SettingsCb(action=action, value=value).pack()))
            == []
        )
        assert h.stub.alerts()[-1] == "Изменять настройки компании может только директор."
    assert await company_settings.mail_identity(h.db.uow()) == company_settings.MailIdentity()
