"""/claims_settings (causes and SLA days) and the ⚙ button of /claims, through the dispatcher."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models import AppSetting, AuditEntry, ClaimCause
from crm.services import claims
from crm.storage import Database
from handlers.claim_settings.callbacks import ClaimSetCb
from tests.fixtures.bilingual import ANNA, DINA, EVA, HELEN, team
from tests.fixtures.bot_harness import Harness, labels, last_alert, replay
from tests.fixtures.botapi_stub import message_update, press

DEFAULT_SLA = {"critical": 1, "high": 3, "normal": 7, "low": 14}


async def written(db: Database) -> tuple[int, ...]:
    async with db.uow() as uow:
        return tuple(
            [
                int(await uow.session.scalar(select(func.count()).select_from(m)) or 0)
                for m in (ClaimCause, AppSetting, AuditEntry)
            ]
        )


async def causes(db: Database) -> dict[str, str]:
    return {c.code: c.title for c in await claims.list_causes(db.uow())}


async def test_screen_add_a_cause_and_change_an_sla_with_buttons(harness: Harness) -> None:
    h = harness
    await team(h.db)
    await claims.list_causes(h.db.uow())  # the default causes, as after the first claim
    [screen] = await h.send(message_update(DINA, "/claims_settings"))
    assert screen.text.startswith(
        "<b>Настройки претензий</b>\n\n<b>Причины</b>\n"
        "• Доставка\n• Качество\n• Обслуживание\n• Счета и оплата\n• Другое\n\n"
        "<b>SLA</b>, дней на решение претензии:\n"
        "🔴 критический: 1\n🟠 высокий: 3\n🔵 обычный: 7\n⚪ низкий: 14"
    )
    assert labels(screen) == [
        "➕ Добавить причину",
        "✏ Переименовать причину",
        "🗑 Удалить причину",
        "🔴 критический: 1 дн.",
        "🟠 высокий: 3 дн.",
        "🔵 обычный: 7 дн.",
        "⚪ низкий: 14 дн.",
    ]
    before = await written(h.db)

    [ask] = await h.send(press(DINA, screen, "Добавить причину"))
    assert ask.text.startswith("Напишите название новой причины")
    [back] = await h.send(press(DINA, ask, "« Назад"))
    assert back.text.startswith("<b>Настройки претензий</b>")
    assert await h.send(message_update(DINA, "Упаковка")) != []  # the dialog is over: fallback
    assert "upakovka" not in await causes(h.db)

    [ask] = await h.send(press(DINA, back, "Добавить причину"))
    [too_long] = await h.send(message_update(DINA, "я" * 10_000))
    assert too_long.text == "Название: слишком длинно (не больше 100 символов)."
    [duplicate] = await h.send(message_update(DINA, "качество"))  # a built-in one, in Russian
    assert duplicate.text == "Такое уже есть."
    [bad_code] = await h.send(message_update(DINA, "1плохой; Плохой код"))
    assert bad_code.text == "Код: недопустимое значение."
    assert await written(h.db) == before
    [added] = await h.send(message_update(DINA, "Упаковка 📦"))
    assert added.text.startswith("Причина «Упаковка 📦» добавлена.\n\n<b>Настройки претензий</b>")
    assert "• Упаковка 📦" in added.text
    assert (await causes(h.db))["upakovka"] == "Упаковка 📦"

    [ask] = await h.send(press(DINA, added, "высокий"))
    assert ask.text == (
        "SLA претензий с приоритетом 🟠 высокий, сейчас 3 дн. Сколько дней? "
        "Нажмите или напишите число от 1 до 365."
    )
    assert labels(ask)[:9] == ["1", "2", "3", "5", "7", "10", "14", "21", "30"]
    [saved] = await h.send(press(DINA, ask, "2"))
    assert saved.text.startswith("SLA претензий с приоритетом «высокий»: 2 дн.")
    assert "🟠 высокий: 2" in saved.text
    [ask] = await h.send(press(DINA, saved, "критический"))
    for typed, answer in [
        ("завтра", "SLA, дней: это не число."),
        ("0", "SLA, дней: значение должно быть от 1 до 365."),
        ("400", "SLA, дней: значение должно быть от 1 до 365."),
        ("9" * 10_000, "SLA, дней: это не число."),
    ]:
        [reply] = await h.send(message_update(DINA, typed))
        assert reply.text == answer
    [saved] = await h.send(message_update(DINA, "2 дн."))
    assert "🔴 критический: 2" in saved.text
    assert await claims.sla_days(h.db.uow()) == {**DEFAULT_SLA, "high": 2, "critical": 2}


async def test_one_line_in_english_and_russian_with_bad_input(harness: Harness) -> None:
    h = harness
    await team(h.db)
    await claims.list_causes(h.db.uow())  # the default causes, as after the first claim
    before = await written(h.db)
    for command, answer in [
        ("/claims_settings sla; urgent; 2", "Priority: this must be one of: low, normal, high"),
        ("/claims_settings sla; high; two", "SLA, days: this is not a number."),
        ("/claims_settings sla; high; 366", "SLA, days: this must be between 1 and 365."),
        ("/claims_settings cause;  ", "Write <code>/claims_settings cause; Packaging</code>"),
        ("/claims_settings cause; " + "x" * 10_000, "Title: this is too long"),
        ("/claims_settings cause; Quality", "This already exists."),
        ("/claims_settings cause; a; b; c", "Title: this value is not valid."),
        ("/claims_settings whatever", "Write <code>/claims_settings cause; Packaging</code>"),
    ]:
        [reply] = await h.send(message_update(EVA, command))
        assert reply.text.startswith(answer), (command[:50], reply.text)
    assert await written(h.db) == before

    [done] = await h.send(message_update(EVA, "/claims_settings sla; High; 5"))
    assert done.text.startswith("SLA of high claims: 5 d.\n\n<b>Claim settings</b>")
    [done] = await h.send(message_update(EVA, "/claims_settings cause; packaging; Packaging"))
    assert done.text.startswith("Cause «Packaging» added.")
    [done] = await h.send(message_update(DINA, "/claims_settings срок; низкий; 30"))
    assert "⚪ низкий: 30" in done.text
    [done] = await h.send(message_update(DINA, "/claims_settings причина; Сроки поставки"))
    assert done.text.startswith("Причина «Сроки поставки» добавлена.")
    assert await claims.sla_days(h.db.uow()) == {**DEFAULT_SLA, "high": 5, "low": 30}
    found = await causes(h.db)
    assert (found["packaging"], found["sroki_postavki"]) == ("Packaging", "Сроки поставки")
    # the new causes are offered in the /claim dialog
    assert {"Packaging", "Сроки поставки"} <= set(found.values())


async def test_others_are_refused_also_with_replayed_buttons(harness: Harness) -> None:
    h = harness
    await team(h.db)
    await claims.list_causes(h.db.uow())  # the default causes, as after the first claim
    before = await written(h.db)
    [refused] = await h.send(message_update(ANNA, "/claims_settings"))
    assert refused.text == "Настройки претензий может менять только директор."
    [refused] = await h.send(message_update(HELEN, "/claims_settings sla; high; 1"))
    assert refused.text == "Only a director can change the claim settings."
    for data in [
        ClaimSetCb(action="days", prio="high", days=30),
        ClaimSetCb(action="sla", prio="high"),
        ClaimSetCb(action="cause"),
        ClaimSetCb(action="open"),
        ClaimSetCb(action="show"),
    ]:
        assert await h.send(replay(ANNA, data.pack())) == []
        assert last_alert(h) == "Не найдено, или у вас нет к этому доступа."
        await h.send(replay(HELEN, data.pack()))
        assert last_alert(h) == "Not found, or you have no access to it."
    # no dialog was started: her next words do not become a cause
    [reply] = await h.send(message_update(ANNA, "Упаковка"))
    assert "Упаковка" not in reply.text
    assert await written(h.db) == before
    assert await claims.sla_days(h.db.uow()) == DEFAULT_SLA


async def test_settings_button_of_claims_for_directors_only(harness: Harness) -> None:
    h = harness
    await team(h.db)
    await claims.list_causes(h.db.uow())  # the default causes, as after the first claim
    [listed] = await h.send(message_update(DINA, "/claims"))
    assert labels(listed)[-1] == "⚙ Настройки"
    [screen] = await h.send(press(DINA, listed, "⚙ Настройки"))
    assert screen.method == "sendMessage"  # the list stays where it was
    assert screen.text.startswith("<b>Настройки претензий</b>")
    [mine] = await h.send(message_update(ANNA, "/claims"))
    assert "⚙ Настройки" not in labels(mine)


# ---------------------------------------------------------------- /claims_settings order


async def test_claim_causes_are_listed_by_their_shown_name(harness: Harness) -> None:
    h = harness
    await team(h.db)
    await claims.list_causes(h.db.uow())
    [added] = await h.send(message_update(EVA, "/claims_settings cause; acoustics"))
    causes = added.text.split("<b>Causes</b>\n", 1)[1].split("\n\n", 1)[0]
    # case-insensitively by the name shown, the catch-all "Other" last
    assert causes.splitlines() == [
        "• acoustics",
        "• Billing",
        "• Delivery",
        "• Quality",
        "• Service",
        "• Other",
    ]
    [pick] = await h.send(press(EVA, added, "✏ Rename a cause"))
    assert labels(pick)[:6] == ["acoustics", "Billing", "Delivery", "Quality", "Service", "Other"]
    [screen] = await h.send(message_update(DINA, "/claims_settings"))
    assert "• acoustics\n• Доставка\n• Качество\n• Обслуживание\n• Счета и оплата\n• Другое" in (
        screen.text
    )
    [pick_ru] = await h.send(press(DINA, screen, "🗑 Удалить причину"))
    assert labels(pick_ru)[:6] == [
        "acoustics",
        "Доставка",
        "Качество",
        "Обслуживание",
        "Счета и оплата",
        "Другое",
    ]
