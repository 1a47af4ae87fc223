"""/playbook and the plan chosen in the /deal dialog, through the real dispatcher."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.access import Actor
from crm.models import AuditEntry, Deal, Playbook, PlaybookStep, Task
from crm.services import companies, playbooks
from crm.services.companies import CompanyInput
from crm.services.playbooks import PlaybookInput
from crm.storage import Database
from handlers.playbooks.callbacks import PlaybookCb, PlaybookFormCb, PlaybookListCb
from tests.fixtures.bilingual import ANNA, DINA, EVA, HELEN, team
from tests.fixtures.bot_harness import Harness, labels, last_alert, replay
from tests.fixtures.botapi_stub import message_update, press

PLAN = [("Call", 1), ("Send offer", 3), ("Follow up", 7)]


async def written(db: Database) -> tuple[int, ...]:
    async with db.uow() as uow:
        return tuple(
            [
                int(await uow.session.scalar(select(func.count()).select_from(m)) or 0)
                for m in (Playbook, PlaybookStep, AuditEntry)
            ]
        )


async def stored(
    db: Database, director: Actor
) -> list[tuple[str, str, bool, list[tuple[str, int]]]]:
    result = []
    for kind in ("deal", "claim", "event"):
        for p in await playbooks.list_playbooks(db.uow(), director, kind):
            result.append(
                (p.kind, p.name, p.is_default, [(s.title, s.offset_days) for s in p.steps])
            )
    return result


# --- one line ---------------------------------------------------------------------------------


async def test_one_line_in_russian_and_english(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
    [card] = await h.send(
        message_update(
            DINA, "/playbook сделка; Новый клиент; позвонить +1; отправить КП +3; перезвонить +7"
        )
    )
    assert card.text == (
        "<b>Сценарий «Новый клиент»</b>\nВид: Сделки\n"
        "⭐ По умолчанию: каждая новая сделка получает его задачи.\n\n"
        "<b>Шаги</b> (дни от начала):\n"
        "1. позвонить — через 1 дн.\n2. отправить КП — через 3 дн.\n3. перезвонить — через 7 дн."
    )
    assert labels(card) == ["✏ Шаги", "🗑 Удалить", "« Сценарии"]  # already the default
    # the second of a kind is not the default; a step without +N is due at once
    [en] = await h.send(message_update(EVA, "/playbook deals; Big client; meeting; offer +2d"))
    assert "Not the default." in en.text
    assert "1. meeting — at once\n2. offer — in 2 d." in en.text
    assert labels(en)[0] == "⭐ Make default"
    [claim] = await h.send(message_update(EVA, "/playbook claim; Complaint; call the client"))
    assert "Kind: Claims" in claim.text
    assert await stored(h.db, w.dina) == [
        ("deal", "Новый клиент", True, [("позвонить", 1), ("отправить КП", 3), ("перезвонить", 7)]),
        ("deal", "Big client", False, [("meeting", 0), ("offer", 2)]),
        ("claim", "Complaint", True, [("call the client", 0)]),
    ]


async def test_one_line_bad_input_names_the_field_and_writes_nothing(harness: Harness) -> None:
    h = harness
    await team(h.db)
    before = await written(h.db)
    cases = [
        ("/playbook сделка; Новый клиент", "Шаги: значение не может быть пустым."),
        ("/playbook сделка; Новый клиент; ;  ", "Шаги: значение не может быть пустым."),
        ("/playbook сделка; Новый; позвонить +завтра", "День шага: это не число."),
        ("/playbook сделка; Новый; позвонить +400", "День шага: значение должно быть от 0 до 365."),
        (
            "/playbook сделка; Новый; позвонить +99999999999",
            "День шага: значение должно быть от 0 до 365.",
        ),
        ("/playbook сделка; " + "я" * 10_000 + "; позвонить +1", "Название: слишком длинно"),
        ("/playbook сделка;  ; позвонить +1", "Название: значение не может быть пустым."),
        ("/playbook сделка; Новый; " + "x" * 300 + " +1", "Шаг: слишком длинно"),
        ("/playbook сделка; Новый; " + "; ".join(["шаг +1"] * 31), "Шаги: слишком много"),
        (
            "/playbook встреча; Новый; позвонить +1",
            "Вид: допустимые значения: Сделки, Претензии, Мероприятия, Ответы клиентам.",
        ),
    ]
    for command, answer in cases:
        [reply] = await h.send(message_update(DINA, command))
        assert reply.text.startswith(answer), (command[:60], reply.text)
    [usage] = await h.send(message_update(DINA, "/playbook сделка"))
    assert usage.text.startswith("Напишите <code>/playbook сделка; Новый клиент;")
    # not a director: refused, whatever the arguments
    for user in (ANNA, HELEN):
        [refused] = await h.send(message_update(user, "/playbook deal; Mine; call +1"))
        assert refused.text in (
            "Сценарии работы настраивает только директор.",
            "Only a director can set up playbooks.",
        )
    assert await written(h.db) == before


# --- the list, the card, default, delete -----------------------------------------------------


async def test_list_card_default_and_delete_with_confirmation(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
    [empty] = await h.send(message_update(EVA, "/playbook"))
    assert empty.text.startswith(
        "<b>Playbooks</b> · Deals\nNo default yet: new deals get no tasks.\nFound: 0"
    )
    assert labels(empty) == ["• Deals", "Claims", "Events", "Replies to clients", "➕ New playbook"]
    [claims_tab] = await h.send(press(EVA, empty, "Claims"))
    assert "No default yet: new claims get the built-in plan." in claims_tab.text

    first = await playbooks.create(h.db.uow(), w.eva, PlaybookInput("Alpha", "deal", PLAN, True))
    second = await playbooks.create(h.db.uow(), w.eva, PlaybookInput("Beta", "deal", PLAN[:1]))
    for n in range(9):
        await playbooks.create(h.db.uow(), w.eva, PlaybookInput(f"Z{n}", "deal", PLAN[:2]))
    [listed] = await h.send(message_update(DINA, "/playbook"))
    assert listed.text.startswith(
        "<b>Сценарии работы</b> · Сделки\n"
        "⭐ По умолчанию: каждая новая сделка получает его задачи.\nНайдено: 11"
    )
    assert labels(listed)[:3] == ["⭐ Alpha · шагов: 3", "Beta · шагов: 1", "Z0 · шагов: 2"]
    assert "1/2" in labels(listed) and "»" in labels(listed)
    [page2] = await h.send(press(DINA, listed, "»"))
    assert labels(page2)[:3] == ["Z6 · шагов: 2", "Z7 · шагов: 2", "Z8 · шагов: 2"]

    [card] = await h.send(press(DINA, listed, "Beta"))
    assert card.method == "editMessageText"
    assert card.text.startswith("<b>Сценарий «Beta»</b>\nВид: Сделки\nНе по умолчанию.")
    [card] = await h.send(press(DINA, card, "Сделать по умолчанию"))
    assert last_alert(h) == "Теперь это сценарий по умолчанию."
    assert "⭐ По умолчанию" in card.text
    defaults = [
        (p.name, p.is_default) for p in await playbooks.list_playbooks(h.db.uow(), w.dina, "deal")
    ]
    assert defaults[:2] == [("Beta", True), ("Alpha", False)]

    [ask] = await h.send(press(DINA, card, "Удалить"))
    assert ask.text == "Удалить сценарий «Beta»? Уже созданные по нему задачи останутся."
    [card] = await h.send(press(DINA, ask, "« Назад"))
    assert card.text.startswith("<b>Сценарий «Beta»</b>")
    [ask] = await h.send(press(DINA, card, "Удалить"))
    [after] = await h.send(press(DINA, ask, "Да, удалить"))
    assert last_alert(h) == "Удалено."
    assert after.text.startswith("<b>Сценарии работы</b> · Сделки\nСценария по умолчанию нет")
    assert "Найдено: 10" in after.text
    ids = [p.id for p in await playbooks.list_playbooks(h.db.uow(), w.dina, "deal")]
    assert second.id not in ids and first.id in ids
    # the stale confirmation of a deleted playbook
    await h.send(press(DINA, ask, "Да, удалить"))
    assert last_alert(h) == "Не найдено, или у вас нет к этому доступа."


async def test_a_manager_replaying_director_buttons_is_refused(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
    made = await playbooks.create(h.db.uow(), w.dina, PlaybookInput("Alpha", "deal", PLAN))
    other = await playbooks.create(h.db.uow(), w.dina, PlaybookInput("Beta", "deal", PLAN))
    before = await written(h.db)
    for data in [
        PlaybookCb(action="show", id=made.id),
        PlaybookCb(action="default", id=other.id),
        PlaybookCb(action="delete", id=made.id),
        PlaybookCb(action="really", id=made.id),
        PlaybookCb(action="steps", id=made.id),
        PlaybookListCb(kind="deal"),
        PlaybookFormCb(action="new"),
    ]:
        assert await h.send(replay(ANNA, data.pack())) == []
        assert last_alert(h) == "Не найдено, или у вас нет к этому доступа."
        await h.send(replay(HELEN, data.pack()))
        assert last_alert(h) == "Not found, or you have no access to it."
    # buttons of a dialog she never started
    await h.send(replay(ANNA, PlaybookFormCb(action="create").pack()))
    assert last_alert(h) == "Этот диалог уже завершён. Начните заново: /playbook."
    assert await written(h.db) == before
    listed = await playbooks.list_playbooks(h.db.uow(), w.dina, "deal")
    assert [(p.name, p.is_default) for p in listed] == [("Alpha", False), ("Beta", False)]


# --- the dialog ---------------------------------------------------------------------------------


async def test_dialog_with_back_undo_errors_and_create_as_default(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
    await playbooks.create(h.db.uow(), w.eva, PlaybookInput("Old", "deal", PLAN, True))
    [listed] = await h.send(message_update(EVA, "/playbook"))
    [kind] = await h.send(press(EVA, listed, "New playbook"))
    assert kind.text == "<b>New playbook</b>\nWhat is it for?"
    assert labels(kind) == ["Deals", "Claims", "Events", "Replies to clients", "Cancel"]
    [name] = await h.send(press(EVA, kind, "Claims"))
    assert name.text.endswith("The name of the playbook? E.g. “New client”.")
    [back] = await h.send(press(EVA, name, "« Back"))
    assert back.text == "<b>New playbook</b>\nWhat is it for?"
    [name] = await h.send(press(EVA, back, "Deals"))
    assert "Kind: Deals" in name.text
    [too_long] = await h.send(message_update(EVA, "N" * 10_000))
    assert too_long.text == "Name: this is too long (at most 200 characters)."
    [steps] = await h.send(message_update(EVA, "Big 🔥 клиент"))
    assert "Name: Big 🔥 клиент" in steps.text
    assert labels(steps) == ["« Back", "Cancel"]  # no Done before a step
    [bad] = await h.send(message_update(EVA, "call +tomorrow"))
    assert bad.text == "Day of the step: this is not a number."
    [bad] = await h.send(message_update(EVA, "call +366"))
    assert bad.text == "Day of the step: this must be between 0 and 365."
    [steps] = await h.send(message_update(EVA, "Call +1"))
    assert "Steps:\n1. Call — in 1 d." in steps.text
    [steps] = await h.send(message_update(EVA, "Оффер +3\nwrong line\nFollow up +7"))
    assert "2. Оффер — in 3 d.\n3. wrong line — at once\n4. Follow up — in 7 d." in steps.text
    [steps] = await h.send(press(EVA, steps, "Remove the last step"))
    [steps] = await h.send(press(EVA, steps, "Remove the last step"))
    [steps] = await h.send(message_update(EVA, "Follow up +7"))
    assert steps.text.count("\n1. ") == 1 and "3. Follow up — in 7 d." in steps.text
    [confirm] = await h.send(press(EVA, steps, "Done"))
    assert confirm.text.endswith("Create this playbook?")
    assert labels(confirm) == ["✅ Create", "⭐ Create as the default", "« Back", "Cancel"]
    [steps] = await h.send(press(EVA, confirm, "« Back"))
    assert "3. Follow up" in steps.text
    [confirm] = await h.send(press(EVA, steps, "Done"))
    assert (
        len(await playbooks.list_playbooks(h.db.uow(), w.dina, "deal")) == 1
    )  # nothing written yet
    [card] = await h.send(press(EVA, confirm, "Create as the default"))
    assert card.text.startswith("<b>Playbook «Big 🔥 клиент»</b>\nKind: Deals\n⭐ The default")
    assert await stored(h.db, w.dina) == [
        ("deal", "Big 🔥 клиент", True, [("Call", 1), ("Оффер", 3), ("Follow up", 7)]),
        ("deal", "Old", False, PLAN),
    ]
    # the dialog is over: its buttons do nothing more
    await h.send(press(EVA, confirm, "Create as the default"))
    assert last_alert(h) == "This dialog is over. Start again with /playbook."
    assert len(await playbooks.list_playbooks(h.db.uow(), w.dina, "deal")) == 2


async def test_dialog_cancel_and_a_command_end_it(harness: Harness) -> None:
    h = harness
    await team(h.db)
    before = await written(h.db)
    [listed] = await h.send(message_update(DINA, "/playbook"))
    [kind] = await h.send(press(DINA, listed, "Новый сценарий"))
    [name] = await h.send(press(DINA, kind, "Мероприятия"))
    [steps] = await h.send(message_update(DINA, "Выставка"))
    [steps] = await h.send(message_update(DINA, "пригласить +1"))
    [cancelled] = await h.send(press(DINA, steps, "Отмена"))
    assert cancelled.text == "Отменено. Ничего не сохранено."
    [listed] = await h.send(message_update(DINA, "/playbook"))
    [kind] = await h.send(press(DINA, listed, "Новый сценарий"))
    [name] = await h.send(press(DINA, kind, "Мероприятия"))
    [help_] = await h.send(message_update(DINA, "/help"))  # a command ends the dialog
    assert "/playbook" in help_.text and "/claims_settings" in help_.text
    [done] = await h.send(press(DINA, name, "Отмена"))
    assert await written(h.db) == before
    del done


async def test_edit_steps(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
    made = await playbooks.create(h.db.uow(), w.dina, PlaybookInput("Alpha", "claim", PLAN))
    [listed] = await h.send(message_update(DINA, "/playbook"))
    [tab] = await h.send(press(DINA, listed, "Претензии"))
    [card] = await h.send(press(DINA, tab, "Alpha"))
    [steps] = await h.send(press(DINA, card, "Шаги"))
    assert steps.text.startswith("<b>Сценарий «Alpha»: новые шаги</b>\nСейчас:\n1. Call")
    assert labels(steps) == ["Отмена"]
    [steps] = await h.send(message_update(DINA, "Связаться с клиентом\nВыяснить причину +1"))
    assert "Новые шаги:\n1. Связаться с клиентом — сразу\n2. Выяснить причину" in steps.text
    [confirm] = await h.send(press(DINA, steps, "Готово"))
    assert confirm.text.endswith("Заменить шаги на эти?")
    assert await stored(h.db, w.dina) == [("claim", "Alpha", False, PLAN)]  # not yet
    [card] = await h.send(press(DINA, confirm, "Сохранить"))
    assert card.text.startswith("<b>Сценарий «Alpha»</b>")
    assert "1. Связаться с клиентом — сразу\n2. Выяснить причину — через 1 дн." in card.text
    assert await stored(h.db, w.dina) == [
        ("claim", "Alpha", False, [("Связаться с клиентом", 0), ("Выяснить причину", 1)])
    ]
    del made


# --- choosing the plan of a new deal ------------------------------------------------------------


async def test_deal_dialog_cycles_through_the_deal_playbooks(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
    company = await companies.create(h.db.uow(), w.anna, CompanyInput(name="Ромашка"))
    # one playbook: no choice to make, the default applies
    await playbooks.create(h.db.uow(), w.dina, PlaybookInput("Alpha", "deal", PLAN, True))
    [which] = await h.send(message_update(ANNA, "/deal Ромашк; Насосы; 100"))
    [confirm] = await h.send(press(ANNA, which, "Ромашка"))
    assert not any(t.startswith("План") for t in labels(confirm))
    [cancelled] = await h.send(press(ANNA, confirm, "Отмена"))
    del cancelled

    await playbooks.create(h.db.uow(), w.dina, PlaybookInput("Quick", "deal", [("Звонок", 0)]))
    [which] = await h.send(message_update(ANNA, "/deal Ромашк; Насосы; 100"))
    [confirm] = await h.send(press(ANNA, which, "Ромашка"))
    assert "План: Alpha ▸" in labels(confirm)
    [confirm] = await h.send(press(ANNA, confirm, "План: Alpha"))
    assert "План: Quick ▸" in labels(confirm)
    [confirm] = await h.send(press(ANNA, confirm, "План: Quick"))
    assert "План: Alpha ▸" in labels(confirm)  # round again
    [confirm] = await h.send(press(ANNA, confirm, "План: Alpha"))
    [card] = await h.send(press(ANNA, confirm, "Открыть сделку"))
    assert "Насосы" in card.text
    async with h.db.uow() as uow:
        deal = (await uow.session.scalars(select(Deal))).one()
        made = list(await uow.session.scalars(select(Task).where(Task.deal_id == deal.id)))
    assert deal.company_id == company.id
    assert [(t.title, t.assignee_id) for t in made] == [("Звонок", w.anna.id)]

    # the one-line /deal keeps the default
    [card] = await h.send(message_update(ANNA, "/deal Ромашка; Клапаны; 50"))
    async with h.db.uow() as uow:
        titles = list(
            await uow.session.scalars(
                select(Task.title)
                .join(Deal, Task.deal_id == Deal.id)
                .where(Deal.title == "Клапаны")
            )
        )
    assert sorted(titles) == sorted(t for t, _ in PLAN)
