"""The ✏ Plan editor of a claim card and renaming / removing claim causes in
/claims_settings, through the real dispatcher, in Russian and English."""

from __future__ import annotations

from sqlalchemy import func, select

from crm import when
from crm.errors import InvalidInput
from crm.models import AuditEntry, Claim, ClaimCause, Task, utcnow
from crm.services import claims
from crm.storage import Database
from handlers.claim_settings.callbacks import ClaimSetCb
from handlers.claims.callbacks import ClaimCb, PlanCb
from handlers.words import local_time
from tests.fixtures.bilingual import ANNA, BORIS, DINA, EVA, HELEN, team_with_client
from tests.fixtures.bot_harness import Harness, labels, last_alert, press, replay
from tests.fixtures.botapi_stub import Sent, TgUser, message_update
from tests.fixtures.claim_cards import file, plan_states


async def tasks_of(db: Database, claim_id: int) -> list[tuple[str, str]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(Task.title, Task.status).where(Task.claim_id == claim_id).order_by(Task.id)
        )
        return [(t, s) for t, s in rows]


async def written(db: Database) -> tuple[int, ...]:
    async with db.uow() as uow:
        return tuple(
            [
                int(await uow.session.scalar(select(func.count()).select_from(m)) or 0)
                for m in (Claim, ClaimCause, Task, AuditEntry)
            ]
        )


async def titles(db: Database) -> dict[str, str]:
    async with db.uow() as uow:
        return {c.code: c.title for c in await uow.session.scalars(select(ClaimCause))}


async def open_card(h: Harness, user: TgUser, claim_id: int) -> Sent:
    [card] = await h.send(replay(user, ClaimCb(action="open", claim_id=claim_id).pack()))
    return card


# ---------------------------------------------------------------- the plan editor


async def test_plan_editor_in_russian_add_done_remove(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    claim_id = await file(h.db, w.anna, w.company.id)
    card = await open_card(h, ANNA, claim_id)
    assert "✏ План" in labels(card)
    [plan] = await h.send(press(ANNA, card, "✏ План"))
    assert plan.text.startswith(f"<b>План по претензии №{claim_id}</b> — 🏢 Ромашка\n☐ Связаться")
    assert labels(plan) == [
        "✔ Связаться с клиентом",
        "🗑",
        "✔ Выяснить причину",
        "🗑",
        "✔ Предложить решение",
        "🗑",
        "➕ Добавить шаг",
        "« Назад к претензии",
    ]

    # add a step: the text, then when (bad answers are asked again, nothing written)
    [ask] = await h.send(press(ANNA, plan, "Добавить шаг"))
    assert ask.text.startswith(f"Претензия №{claim_id}: какой новый шаг плана?")
    before = await written(h.db)
    [too_long] = await h.send(message_update(ANNA, "я" * 300))
    assert too_long.text == "Название: слишком длинно (не больше 200 символов)."
    [when_q] = await h.send(message_update(ANNA, "Позвонить на склад"))
    assert when_q.text.startswith(
        "К какому сроку нужно выполнить шаг «Позвонить на склад»?\nНапример:"
    )
    [again] = await h.send(message_update(ANNA, "абракадабра"))
    assert again.text.startswith("Не удалось понять «абракадабра» как дату и время.\nК какому")
    [past] = await h.send(message_update(ANNA, "вчера"))
    assert "уже прошло." in past.text.split("\n")[0]
    try:
        when.parse_when("завтра в 5", "Europe/Moscow", utcnow())
        raise AssertionError("expected an ambiguous time")
    except InvalidInput as err:
        options = err.params["options"]
    [which] = await h.send(message_update(ANNA, "завтра в 5"))
    assert which.text == "«завтра в 5» можно понять по-разному. Какое время имеется в виду?"
    assert await written(h.db) == before
    evening = local_time(w.anna, options[-1])
    [added] = await h.send(press(ANNA, which, evening))
    assert added.text.startswith(
        f"Шаг добавлен: «Позвонить на склад», срок {evening}.\n\n<b>План по претензии"
    )
    assert f"☐ Позвонить на склад — {evening}" in added.text
    async with h.db.uow() as uow:
        task = (
            await uow.session.scalars(select(Task).where(Task.title == "Позвонить на склад"))
        ).one()
    assert (task.claim_id, task.due_at, task.status, task.kind, task.assignee_id) == (
        claim_id,
        options[-1],
        "open",
        claims.PLAN_KIND,
        w.anna.id,
    )
    assert await written(h.db) == (before[0], before[1], before[2] + 1, before[3] + 1)
    assert await h.send(press(ANNA, which, evening)) == []  # the same button again
    assert last_alert(h) == "Этот диалог уже завершён."

    # mark a step done
    [done] = await h.send(press(ANNA, added, "✔ Связаться с клиентом"))
    assert done.text.startswith("Выполнено: Связаться с клиентом\n\n")
    assert "☑ Связаться с клиентом" in done.text
    assert "✔ Связаться с клиентом" not in labels(done)

    # remove a step: a confirmation, Back keeps it, Yes cancels it
    [confirm] = await h.send(press(ANNA, done, "🗑"))
    assert confirm.text == (
        f"Убрать шаг «Выяснить причину» из плана претензии №{claim_id}? "
        "В истории он останется как отменённый."
    )
    [back] = await h.send(press(ANNA, confirm, "« Назад"))
    assert back.text.startswith("<b>План по претензии")
    assert await plan_states(h.db, claim_id) == ["done", "open", "open", "open"]
    [confirm] = await h.send(press(ANNA, back, "🗑"))
    [removed] = await h.send(press(ANNA, confirm, "Да, удалить"))
    assert removed.text.startswith("Шаг убран: Выяснить причину\n\n")
    assert "✖ Выяснить причину" in removed.text
    assert await tasks_of(h.db, claim_id) == [
        ("Связаться с клиентом", "done"),
        ("Выяснить причину", "cancelled"),
        ("Предложить решение", "open"),
        ("Позвонить на склад", "open"),
    ]
    assert await h.send(press(ANNA, confirm, "Да, удалить")) == []  # pressed twice
    assert last_alert(h) == "Эта задача уже закрыта."
    [card] = await h.send(press(ANNA, removed, "Назад к претензии"))
    assert card.text.startswith(f"<b>Претензия №{claim_id}</b>")


async def test_plan_step_in_one_message_in_english_by_the_head(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    claim_id = await file(h.db, w.anna, w.company.id)
    card = await open_card(h, HELEN, claim_id)
    [plan] = await h.send(press(HELEN, card, "✏ Plan"))
    assert plan.text.startswith(f"<b>Plan of claim #{claim_id}</b> — 🏢 Ромашка")
    [ask] = await h.send(press(HELEN, plan, "➕ Add a step"))
    assert ask.text.startswith(f"Claim #{claim_id}: what is the new step of the plan?")
    [empty] = await h.send(message_update(HELEN, " ; tomorrow 15:00"))
    assert empty.text == "Title: this cannot be empty."
    due = when.parse_when("tomorrow 15:00", w.helen.timezone, utcnow())
    [added] = await h.send(message_update(HELEN, "Visit the client; tomorrow 15:00"))
    shown = local_time(w.helen, due)
    assert added.text.startswith(f"Step added: «Visit the client», due {shown}.")
    async with h.db.uow() as uow:
        task = (
            await uow.session.scalars(select(Task).where(Task.title == "Visit the client"))
        ).one()
    assert (task.due_at, task.claim_id, task.created_by_id) == (due, claim_id, w.helen.id)
    # a past time in one message is asked again in English
    [ask] = await h.send(press(HELEN, added, "➕ Add a step"))
    [past] = await h.send(message_update(HELEN, "Call back; yesterday"))
    assert "has already passed." in past.text and "When is the step «Call back» due?" in past.text
    nine = when.parse_when("tomorrow 09:00", w.helen.timezone, utcnow())
    [added] = await h.send(press(HELEN, past, "Tomorrow 9:00"))
    assert added.text.startswith(
        f"Step added: «Call back», due {local_time(w.helen, nine)}.\n\n<b>Plan of claim"
    )
    # Back leaves the dialog: what is typed next is not a step
    [ask] = await h.send(press(HELEN, added, "➕ Add a step"))
    [when_q] = await h.send(message_update(HELEN, "Send the act"))
    assert when_q.text.startswith("When is the step «Send the act» due?\nFor example:")
    [back] = await h.send(press(HELEN, when_q, "« Back"))
    assert back.text.startswith("<b>Plan of claim")
    [chatter] = await h.send(message_update(HELEN, "tomorrow 10:00"))
    assert "Step added" not in (chatter.text or "")
    assert [t for t, _s in await tasks_of(h.db, claim_id)][3:] == ["Visit the client", "Call back"]


async def test_crafted_plan_buttons_of_another_manager_and_a_closed_claim(
    harness: Harness,
) -> None:
    h = harness
    w = await team_with_client(h.db)
    claim_id = await file(h.db, w.anna, w.company.id)
    task_id = (await claims.get(h.db.uow(), w.anna, claim_id)).plan[0].id
    before = await written(h.db)
    for data in [
        PlanCb(action="show", claim_id=claim_id),
        PlanCb(action="done", claim_id=claim_id, task_id=task_id),
        PlanCb(action="rm", claim_id=claim_id, task_id=task_id),
        PlanCb(action="rmyes", claim_id=claim_id, task_id=task_id),
        PlanCb(action="add", claim_id=claim_id),
    ]:
        assert await h.send(replay(BORIS, data.pack())) == []
        assert last_alert(h) == "Not found, or you have no access to it."
    [mine] = await h.send(message_update(BORIS, "Visit them; tomorrow 15:00"))
    assert "Step added" not in (mine.text or "")  # no dialog was started for him
    await h.send(replay(ANNA, PlanCb(action="at", claim_id=claim_id, at=2_000_000_000).pack()))
    assert last_alert(h) == "Этот диалог уже завершён."
    await h.send(replay(ANNA, PlanCb(action="rmyes", claim_id=claim_id, task_id=10**6).pack()))
    assert last_alert(h).startswith("Задача:")
    assert await written(h.db) == before
    assert await plan_states(h.db, claim_id) == ["open", "open", "open"]

    # a closed claim: no ✏ Plan on the card, the plan is read-only, crafted buttons refused
    await claims.change_status(h.db.uow(), w.anna, claim_id, "rejected", resolution="Unfounded")
    card = await open_card(h, ANNA, claim_id)
    assert "✏ План" not in labels(card)
    [plan] = await h.send(replay(ANNA, PlanCb(action="show", claim_id=claim_id).pack()))
    assert "Претензия закрыта: её план больше нельзя менять." in plan.text
    assert labels(plan) == ["« Назад к претензии"]
    before = await written(h.db)
    for data in [
        PlanCb(action="add", claim_id=claim_id),
        PlanCb(action="done", claim_id=claim_id, task_id=task_id),
        PlanCb(action="rmyes", claim_id=claim_id, task_id=task_id),
    ]:
        await h.send(replay(ANNA, data.pack()))
        assert last_alert(h) == "Эта претензия уже закрыта."
    assert await written(h.db) == before


# ---------------------------------------------------------------- renaming and removing causes


async def causes_world(h: Harness) -> tuple[int, int]:
    w = await team_with_client(h.db)
    await claims.add_cause(h.db.uow(), w.dina, "upakovka", "Упаковка")
    await claims.add_cause(h.db.uow(), w.dina, "labels", "Этикетки")
    used = await file(h.db, w.anna, w.company.id, cause="upakovka")
    other = await file(h.db, w.anna, w.company.id, cause="other")
    return used, other


async def test_rename_and_remove_causes_with_buttons_in_russian(harness: Harness) -> None:
    h = harness
    used, other = await causes_world(h)
    [screen] = await h.send(message_update(DINA, "/claims_settings"))
    assert labels(screen)[:3] == [
        "➕ Добавить причину",
        "✏ Переименовать причину",
        "🗑 Удалить причину",
    ]
    [pick] = await h.send(press(DINA, screen, "Переименовать причину"))
    assert pick.text == "Какую причину переименовать?"
    assert {"Упаковка", "Этикетки", "Другое", "Качество"} <= set(labels(pick))
    [ask] = await h.send(press(DINA, pick, "Упаковка"))
    assert ask.text == "Напишите новое название причины «Упаковка». Претензии с ней её сохранят."
    before = await written(h.db)
    for typed, answer in [
        ("качество", "Название: такое уже есть."),  # a built-in one as shown in Russian
        ("Этикетки", "Название: такое уже есть."),
        ("я" * 101, "Название: слишком длинно (не больше 100 символов)."),
    ]:
        [reply] = await h.send(message_update(DINA, typed))
        assert reply.text == answer
    assert await written(h.db) == before
    [renamed] = await h.send(message_update(DINA, "Тара и упаковка"))
    assert renamed.text.startswith(
        "Причина «Упаковка» переименована в «Тара и упаковка»; претензии с ней её сохраняют."
        "\n\n<b>Настройки претензий</b>"
    )
    assert "• Тара и упаковка" in renamed.text
    assert (await titles(h.db))["upakovka"] == "Тара и упаковка"
    assert "Причина: Тара и упаковка" in (await open_card(h, ANNA, used)).text

    # a built-in cause renamed shows its new name everywhere, also on old claims
    [pick] = await h.send(press(DINA, renamed, "Переименовать причину"))
    [ask] = await h.send(press(DINA, pick, "Другое"))
    [renamed] = await h.send(message_update(DINA, "Прочее"))
    assert "• Прочее" in renamed.text and "• Другое" not in renamed.text
    assert "Причина: Прочее" in (await open_card(h, ANNA, other)).text
    # … the claims report included
    report = await h.send(message_update(DINA, "/report claims"))
    assert "Прочее" in report[0].text and "Другое" not in report[0].text

    # removing: a used cause stays (with the count), a built-in one too, an unused one goes
    before = await written(h.db)
    [pick] = await h.send(press(DINA, renamed, "Удалить причину"))
    assert pick.text.startswith("Какую причину удалить?")
    [refused] = await h.send(press(DINA, pick, "Тара и упаковка"))
    assert refused.text.startswith(
        "Претензий с причиной «Тара и упаковка»: 1. Причину, которая есть у претензий, "
        "удалить нельзя"
    )
    [pick] = await h.send(press(DINA, refused, "Удалить причину"))
    [refused] = await h.send(press(DINA, pick, "Качество"))
    assert refused.text.startswith("«Качество» — встроенная причина: удалить её нельзя")
    assert await written(h.db) == before
    [pick] = await h.send(press(DINA, refused, "Удалить причину"))
    [confirm] = await h.send(press(DINA, pick, "Этикетки"))
    assert confirm.text == "Удалить причину «Этикетки»? Ни у одной претензии её нет."
    [back] = await h.send(press(DINA, confirm, "« Назад"))
    assert "• Этикетки" in back.text
    [pick] = await h.send(press(DINA, back, "Удалить причину"))
    [confirm] = await h.send(press(DINA, pick, "Этикетки"))
    [gone] = await h.send(press(DINA, confirm, "Да, удалить"))
    assert gone.text.startswith("Причина «Этикетки» удалена.\n\n<b>Настройки претензий</b>")
    assert "• Этикетки" not in gone.text
    assert "labels" not in await titles(h.db)
    await h.send(press(DINA, confirm, "Да, удалить"))  # pressed again
    assert last_alert(h) == "Причина: ничего такого не найдено."
    async with h.db.uow() as uow:
        assert list(await uow.session.scalars(select(Claim.cause).order_by(Claim.id))) == [
            "upakovka",
            "other",
        ]


async def test_rename_and_remove_causes_on_one_line(harness: Harness) -> None:
    h = harness
    used, _other = await causes_world(h)
    await h.send(message_update(DINA, "/claims_settings cause; packaging; Packaging"))
    before = await written(h.db)
    for command, answer in [
        ("/claims_settings cause rename; Nope; X", "Cause: nothing like this was found."),
        ("/claims_settings cause rename; Packaging", "Write <code>/claims_settings cause;"),
        ("/claims_settings cause rename; Packaging; Quality", "Title: this already exists."),
        ("/claims_settings cause rename; Packaging;  ", "Write <code>/claims_settings cause;"),
        ("/claims_settings cause rename; Packaging; " + "x" * 101, "Title: this is too long"),
        ("/claims_settings cause remove", "Write <code>/claims_settings cause;"),
        ("/claims_settings cause remove; Упаковка", "Claims with the cause «Упаковка»: 1."),
        ("/claims_settings cause remove; Delivery", "«Delivery» is a built-in cause"),
    ]:
        [reply] = await h.send(message_update(EVA, command))
        assert reply.text.startswith(answer), (command[:60], reply.text)
    assert await written(h.db) == before
    [done] = await h.send(message_update(EVA, "/claims_settings cause rename; packaging; Boxes"))
    assert done.text.startswith(
        "Cause «Packaging» renamed to «Boxes»; its claims keep it.\n\n<b>Claim settings</b>"
    )
    [done] = await h.send(message_update(EVA, "/claims_settings cause remove; BOXES"))
    assert done.text.startswith("Cause «Boxes» removed.")
    [done] = await h.send(message_update(DINA, "/claims_settings причина удалить; Этикетки"))
    assert done.text.startswith("Причина «Этикетки» удалена.")
    [done] = await h.send(
        message_update(DINA, "/claims_settings причина переименовать; Упаковка; Тара")
    )
    assert done.text.startswith("Причина «Упаковка» переименована в «Тара»")
    [refused] = await h.send(message_update(DINA, "/claims_settings причина удалить; Доставка"))
    assert refused.text.startswith("«Доставка» — встроенная причина")
    assert set(await titles(h.db)) == {
        "billing",
        "delivery",
        "other",
        "quality",
        "service",
        "upakovka",
    }
    assert (await titles(h.db))["upakovka"] == "Тара"
    assert (await read_cause_of(h.db, used)) == "upakovka"


async def read_cause_of(db: Database, claim_id: int) -> str:
    async with db.uow() as uow:
        return str(await uow.session.scalar(select(Claim.cause).where(Claim.id == claim_id)))


async def test_others_cannot_rename_or_remove_causes_even_with_crafted_buttons(
    harness: Harness,
) -> None:
    h = harness
    await causes_world(h)
    before = await written(h.db)
    [refused] = await h.send(message_update(ANNA, "/claims_settings cause remove; Этикетки"))
    assert refused.text == "Настройки претензий может менять только директор."
    [refused] = await h.send(message_update(HELEN, "/claims_settings cause rename; Этикетки; X"))
    assert refused.text == "Only a director can change the claim settings."
    for data in [
        ClaimSetCb(action="renpick"),
        ClaimSetCb(action="ren", code="labels"),
        ClaimSetCb(action="rmpick"),
        ClaimSetCb(action="rm", code="labels"),
        ClaimSetCb(action="rmyes", code="labels"),
    ]:
        assert await h.send(replay(ANNA, data.pack())) == []
        assert last_alert(h) == "Не найдено, или у вас нет к этому доступа."
        await h.send(replay(HELEN, data.pack()))
        assert last_alert(h) == "Not found, or you have no access to it."
    [reply] = await h.send(message_update(ANNA, "Новое имя"))  # no rename dialog was started
    assert "переименована" not in (reply.text or "")
    assert await written(h.db) == before
    assert (await titles(h.db))["labels"] == "Этикетки"
