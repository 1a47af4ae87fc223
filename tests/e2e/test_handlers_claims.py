"""/claim, /claims, the claim card and the claim notices, through the real dispatcher."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from aiogram import Dispatcher
from sqlalchemy import select, update

from bot.i18n import create_i18n
from crm.models import AuditEntry, Claim, ClaimAttachment, Manager, Task
from crm.services import claims, companies
from crm.services.companies import CompanyInput
from crm.storage import Database
from handlers.cards.callbacks import CardCb
from handlers.claims.callbacks import ClaimCb, ClaimFormCb, ClaimsListCb, NewClaimCb
from handlers.claims.notice import render_notice
from notifications import claims_notify
from notifications.reminders import ReminderScheduler
from notifications.telegram_sender import TelegramSender
from tests.fixtures import factories
from tests.fixtures.bilingual import ANNA, BORIS, DINA, HELEN, team_with_client
from tests.fixtures.bot_harness import Harness, labels, only_a_hint, press, replay
from tests.fixtures.botapi_stub import message_update
from tests.fixtures.claim_cards import file, plan_states
from tests.fixtures.queries import count

MB = 1024 * 1024
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


async def written(db: Database) -> tuple[int, ...]:
    return tuple([await count(db, m) for m in (Claim, ClaimAttachment, Task, AuditEntry)])


async def only_claim(db: Database) -> Claim:
    async with db.uow() as uow:
        return (await uow.session.scalars(select(Claim))).one()


async def read_claim(db: Database, claim_id: int) -> Claim:
    async with db.uow() as uow:
        claim = await uow.session.get(Claim, claim_id)
        assert claim is not None
        return claim


def photo(file_id: str, size: int) -> list[dict]:  # type: ignore[type-arg]
    return [
        {"file_id": file_id + "_s", "file_unique_id": "s", "width": 90, "height": 90},
        {
            "file_id": file_id,
            "file_unique_id": file_id,
            "width": 1280,
            "height": 960,
            "file_size": size,
        },
    ]


def document(file_id: str, size: int) -> dict:  # type: ignore[type-arg]
    return {
        "file_id": file_id,
        "file_unique_id": file_id,
        "file_name": "act.pdf",
        "file_size": size,
    }


# ---------------------------------------------------------------- /claim on one line


async def test_one_line_claim_with_an_exact_name_files_it_at_once(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    [card] = await h.send(message_update(ANNA, "/claim ромашка; Половина поддонов разбита; мокрые"))
    claim = await only_claim(h.db)
    assert card.text.startswith(f"<b>Претензия №{claim.id}</b> — 🏢 Ромашка")
    assert "Статус: новая" in card.text
    assert "Приоритет: 🔵 обычный" in card.text
    assert "Причина: Качество" in card.text  # guessed from «разбита»
    assert "Ответственный: Anna" in card.text
    assert "Половина поддонов разбита; мокрые" in card.text
    assert "☐ Связаться с клиентом" in card.text
    assert "Вложения: 0" in card.text
    # a manager's new claim: investigate or reject, nothing else
    assert labels(card)[:2] == ["🔍 Расследовать", "🚫 Отклонить"]
    assert not any("Решить" in t for t in labels(card))
    assert (claim.company_id, claim.responsible_id, claim.priority, claim.cause) == (
        w.company.id,
        w.anna.id,
        "normal",
        "quality",
    )
    assert claim.text == "Половина поддонов разбита; мокрые"
    assert claim.due_at - claim.created_at == timedelta(days=7)
    # a normal claim is not announced to anyone
    assert h.stub.sent_to(HELEN.id) == []


async def test_one_line_near_name_asks_which_company(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    await companies.create(h.db.uow(), w.anna, CompanyInput(name="Ромашка Плюс"))
    [which] = await h.send(message_update(ANNA, "/claim Ромашк; Сломан станок"))
    assert which.text == "Какую компанию вы имеете в виду?"
    assert await count(h.db, Claim) == 0
    [card] = await h.send(press(ANNA, which, "Ромашка Плюс"))
    assert card.method == "editMessageText"
    assert "🏢 Ромашка Плюс" in card.text
    claim = await only_claim(h.db)
    assert claim.text == "Сломан станок"
    # the stale button of the finished choice does nothing more
    await h.send(press(ANNA, which, "Ромашка Плюс"))
    assert await count(h.db, Claim) == 1


async def test_one_line_bad_input_writes_nothing(harness: Harness) -> None:
    h = harness
    await team_with_client(h.db)
    before = await written(h.db)
    [unknown] = await h.send(message_update(ANNA, "/claim Неведомая ООО; текст"))
    assert unknown.text.startswith("Среди ваших клиентов нет компании «Неведомая ООО».")
    [en] = await h.send(message_update(BORIS, "/claim Ромашка; broken"))  # not his client
    assert en.text.startswith("No company like «Ромашка» among your clients.")
    [empty] = await h.send(message_update(ANNA, "/claim Ромашка;   "))
    assert empty.text == "Текст: значение не может быть пустым."
    [huge] = await h.send(message_update(ANNA, "/claim Ромашка; " + "я" * 10_000))
    assert huge.text.startswith("Текст: слишком длинно")
    [usage] = await h.send(message_update(ANNA, "/claim ; текст"))
    assert usage.text.startswith("Напишите <code>/claim компания; текст</code>")
    [mixed] = await h.send(message_update(ANNA, "/claim Ромашка; 🔥 Broken упаковка 包装"))
    assert "🔥 Broken упаковка 包装" in mixed.text
    assert (await written(h.db))[0] == before[0] + 1


# ---------------------------------------------------------------- /claim as a dialog


async def test_dialog_in_english_with_back_cancel_photos_and_notices(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    anna_contact = await factories.raw_contact(h.db, w.anna, "Ivan Petrov", w.company.id)
    # Helen (a head, English) files for Anna's client: Anna, responsible, hears of it
    [ask] = await h.send(message_update(HELEN, "/claim"))
    assert ask.text == "Which company is the claim from? Type a part of its name."
    [cancelled] = await h.send(press(HELEN, ask, "Cancel"))
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert only_a_hint(await h.send(message_update(HELEN, "Ромашка")))  # the dialog is over

    [ask] = await h.send(message_update(HELEN, "/claim"))
    [nothing] = await h.send(message_update(HELEN, "Лютик"))
    assert nothing.text.startswith("No company like «Лютик» among your clients.")
    [contact] = await h.send(message_update(HELEN, "ромашка"))
    assert "Company: Ромашка" in contact.text
    assert "Who complains? Choose the contact, or skip." in contact.text
    assert labels(contact) == ["Ivan Petrov", "Skip", "« Back", "Cancel"]
    [back] = await h.send(press(HELEN, contact, "« Back"))
    assert back.text == "Which company is the claim from? Type a part of its name."
    [contact] = await h.send(message_update(HELEN, "Ромашка"))
    [cause] = await h.send(press(HELEN, contact, "Ivan Petrov"))
    assert "Contact: Ivan Petrov" in cause.text
    defaults = {"Quality", "Delivery", "Billing", "Service", "Other"}
    assert defaults <= set(labels(cause))
    assert [t for t in labels(cause) if t in defaults][-1] == "Other"  # the catch-all last
    [prio] = await h.send(press(HELEN, cause, "Delivery"))
    [cause] = await h.send(press(HELEN, prio, "« Back"))
    assert "What is the cause?" in cause.text
    [prio] = await h.send(press(HELEN, cause, "Quality"))
    assert "Cause: Quality" in prio.text
    [text] = await h.send(press(HELEN, prio, "high"))
    assert text.text.endswith("Describe the claim: what happened?")
    [too_long] = await h.send(message_update(HELEN, "x" * 10_000))
    assert too_long.text == "Text: this is too long (at most 4000 characters)."
    [files] = await h.send(message_update(HELEN, "Scratched paint on 3 of 10 units"))
    assert files.text.endswith("(up to 20 MB each), then press Done.")

    [one] = await h.send(message_update(HELEN, photo=photo("AgACphoto1", 2 * MB)))
    assert "Attached: 1." in one.text
    [big] = await h.send(message_update(HELEN, photo=photo("AgAChuge", 21 * MB)))
    assert big.text == "Attachment: this file is larger than 20 MB: send a smaller one."
    [big_doc] = await h.send(message_update(HELEN, document=document("BQAChuge", 50 * MB)))
    assert big_doc.text.startswith("Attachment: this file is larger than 20 MB")
    [two] = await h.send(message_update(HELEN, document=document("BQACact", 300_000)))
    assert "Attached: 2." in two.text
    assert await count(h.db, Claim) == 0  # nothing is written before Done

    [card] = await h.send(press(HELEN, two, "Done"))
    claim = await only_claim(h.db)
    assert card.text.startswith(f"<b>Claim #{claim.id}</b> — 🏢 Ромашка")
    assert "Contact: Ivan Petrov" in card.text
    assert "Priority: 🟠 high" in card.text
    assert "Attachments: 2" in card.text
    assert (claim.contact_id, claim.cause, claim.priority, claim.responsible_id) == (
        anna_contact.id,
        "quality",
        "high",
        w.anna.id,
    )
    assert claim.due_at - claim.created_at == timedelta(days=3)
    async with h.db.uow() as uow:
        stored = list(
            await uow.session.execute(
                select(ClaimAttachment.file_id, ClaimAttachment.kind, ClaimAttachment.file_size)
                .where(ClaimAttachment.claim_id == claim.id)
                .order_by(ClaimAttachment.id)
            )
        )
    assert [tuple(r) for r in stored] == [
        ("AgACphoto1", "photo", 2 * MB),
        ("BQACact", "document", 300_000),
    ]

    # high priority: the responsible manager is told at once, in Russian; the head who
    # filed it is not told again
    [notice] = h.stub.sent_to(ANNA.id)
    assert notice.text.startswith(
        f"⚠ Новая претензия №{claim.id} от <b>Ромашка</b>.\nПриоритет: 🟠 высокий\n"
    )
    assert "Ответственный: Anna" in notice.text
    assert not any(s.text.startswith("⚠") for s in h.stub.sent_to(HELEN.id))

    # Anna opens it from the notice and gets the attachments back
    [opened] = await h.send(press(ANNA, notice, "Открыть претензию"))
    assert opened.text.startswith(f"<b>Претензия №{claim.id}</b>")
    await h.send(press(ANNA, opened, "📎 Вложения (2)"))
    photos = [c.params for c in h.stub.calls_of("sendPhoto")]
    docs = [c.params for c in h.stub.calls_of("sendDocument")]
    assert [(p["chat_id"], p["photo"]) for p in photos] == [(ANNA.id, "AgACphoto1")]
    assert [(d["chat_id"], d["document"]) for d in docs] == [(ANNA.id, "BQACact")]
    assert photos[0]["caption"] == f"Претензия №{claim.id}"


async def test_dialog_with_only_the_company_named_and_no_contacts(harness: Harness) -> None:
    h = harness
    await team_with_client(h.db)
    [contact] = await h.send(message_update(ANNA, "/claim Ромашка"))
    assert "У компании пока нет контактов: нажмите «Пропустить»." in contact.text
    [cause] = await h.send(press(ANNA, contact, "Пропустить"))
    [prio] = await h.send(press(ANNA, cause, "Доставка"))
    [_text] = await h.send(press(ANNA, prio, "критический"))
    [empty] = await h.send(message_update(ANNA, "   "))
    assert empty.text == "Текст: значение не может быть пустым."
    [files] = await h.send(message_update(ANNA, "Машина не приехала"))
    [hint] = await h.send(message_update(ANNA, "а фото нет"))
    assert hint.text == "Пришлите фото или документы или нажмите «Готово»."
    # a crafted button of another step is refused politely
    await h.send(replay(ANNA, ClaimFormCb(action="prio", value="low").pack()))
    assert h.stub.alerts()[-1] == "Эта кнопка с предыдущего шага."
    [card] = await h.send(press(ANNA, files, "Готово"))
    claim = await only_claim(h.db)
    assert (claim.priority, claim.cause, claim.contact_id) == ("critical", "delivery", None)
    assert "Срок:" in card.text and "Приоритет: 🔴 критический" in card.text
    assert claim.due_at - claim.created_at == timedelta(days=1)
    # Anna filed it herself: only her head is told (in English)
    [notice] = h.stub.sent_to(HELEN.id)
    # the priority is said once, on its own line
    assert notice.text.startswith(
        f"⚠ New claim #{claim.id} from <b>Ромашка</b>.\nPriority: 🔴 critical\n"
    )
    assert notice.text.count("critical") == 1
    assert [s.text for s in h.stub.sent_to(ANNA.id)].count(notice.text) == 0


async def test_company_card_button_starts_the_dialog_at_the_contact(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    [company_card] = await h.send(replay(ANNA, CardCb(kind="co", id=w.company.id).pack()))
    [contact] = await h.send(press(ANNA, company_card, "⚠ Зарегистрировать претензию"))
    assert contact.text.startswith("<b>Новая претензия</b>\nКомпания: Ромашка")
    assert "У компании пока нет контактов" in contact.text
    # someone else's company: refused, and no dialog is started
    await h.send(replay(BORIS, NewClaimCb(company_id=w.company.id).pack()))
    assert h.stub.alerts()[-1] == "Not found, or you have no access to it."
    assert only_a_hint(await h.send(message_update(BORIS, "Ромашка")))


async def test_recipients_skip_the_inactive_and_those_who_blocked_the_bot(db: Database) -> None:
    sales = await factories.department(db)
    a = await factories.staff(db, department_id=sales.id, name="A")
    b = await factories.staff(db, department_id=sales.id, name="B")
    c = await factories.staff(db, department_id=sales.id, name="C")
    async with db.uow() as uow:
        await uow.session.execute(update(Manager).where(Manager.id == b.id).values(active=False))
        await uow.session.execute(
            update(Manager).where(Manager.id == c.id).values(bot_blocked=True)
        )
        await uow.commit()
    found = await claims.recipients(db.uow(), [a.id, b.id, c.id, a.id, 999_999])
    assert [m.id for m in found] == [a.id]
    assert await claims.recipients(db.uow(), []) == []


# ---------------------------------------------------------------- the card's status buttons


async def test_status_buttons_resolve_with_open_plan_and_head_override(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    claim_id = await file(h.db, w.anna, w.company.id)
    [card] = await h.send(replay(ANNA, ClaimCb(action="open", claim_id=claim_id).pack()))
    [card] = await h.send(press(ANNA, card, "Расследовать"))
    assert "Статус: расследуется" in card.text
    assert h.stub.alerts()[-1] == "Статус: расследуется"
    assert (await read_claim(h.db, claim_id)).status == "investigating"
    assert labels(card)[:2] == ["✅ Решить", "🚫 Отклонить"]
    # three plan tasks, each with a Done button
    assert [t for t in labels(card) if t.startswith("✔")] == [
        "✔ Связаться с клиентом",
        "✔ Выяснить причину",
        "✔ Предложить решение",
    ]

    # a manager cannot resolve while the plan has open tasks, nor override
    [refused] = await h.send(press(ANNA, card, "Решить"))
    assert refused.text.startswith("В плане расследования есть открытые задачи (3)")
    assert labels(refused) == ["« Назад"]
    before = await written(h.db)
    await h.send(replay(ANNA, ClaimCb(action="over", claim_id=claim_id).pack()))
    assert h.stub.alerts()[-1] == "Не найдено, или у вас нет к этому доступа."
    assert await written(h.db) == before
    assert (await read_claim(h.db, claim_id)).status == "investigating"

    # the head overrides: resolution text, then a compensation
    [card] = await h.send(replay(HELEN, ClaimCb(action="open", claim_id=claim_id).pack()))
    [offer] = await h.send(press(HELEN, card, "Resolve"))
    assert offer.text.startswith("The investigation plan still has open tasks (3)")
    [ask] = await h.send(press(HELEN, offer, "Resolve anyway"))
    assert ask.text == f"Claim #{claim_id}: write the resolution — what was done for the client."
    [_comp] = await h.send(message_update(HELEN, "Replaced the pallets"))
    [bad] = await h.send(message_update(HELEN, "a lot"))
    assert bad.text == "Compensation: this is not a number."
    [done] = await h.send(message_update(HELEN, "1500"))
    assert "Status: resolved" in done.text
    assert "Resolution: Replaced the pallets" in done.text
    assert "Compensation: 1 500.00" in done.text
    # a closed claim: a head may reopen it
    assert labels(done)[0] == "↩ Reopen"
    claim = await read_claim(h.db, claim_id)
    assert (claim.status, claim.resolution, claim.compensation) == (
        "resolved",
        "Replaced the pallets",
        Decimal("1500.00"),
    )
    assert await plan_states(h.db, claim_id) == ["cancelled"] * 3
    # Anna (a manager) sees no status buttons on the closed claim
    [closed] = await h.send(replay(ANNA, ClaimCb(action="open", claim_id=claim_id).pack()))
    assert not any(t in labels(closed) for t in ("↩ Открыть заново", "✅ Решить"))
    await h.send(
        replay(ANNA, ClaimCb(action="st", claim_id=claim_id, value="investigating").pack())
    )
    assert h.stub.alerts()[-1] == "Сейчас нельзя перевести претензию в этот статус."
    assert (await read_claim(h.db, claim_id)).status == "resolved"


async def test_manager_closes_the_plan_then_resolves_or_rejects(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    first = await file(h.db, w.anna, w.company.id)
    [card] = await h.send(replay(ANNA, ClaimCb(action="open", claim_id=first).pack()))
    [card] = await h.send(press(ANNA, card, "Расследовать"))
    for title in ("Связаться с клиентом", "Выяснить причину", "Предложить решение"):
        [card] = await h.send(press(ANNA, card, "✔ " + title))
        assert f"☑ {title}" in card.text
    assert await plan_states(h.db, first) == ["done"] * 3
    [ask] = await h.send(press(ANNA, card, "Решить"))
    assert ask.text.startswith(f"Претензия №{first}: напишите решение")
    [comp] = await h.send(message_update(ANNA, "Заменили товар"))
    [done] = await h.send(press(ANNA, comp, "Без компенсации"))
    assert "Статус: решена" in done.text
    claim = await read_claim(h.db, first)
    assert (claim.status, claim.resolution, claim.compensation) == (
        "resolved",
        "Заменили товар",
        None,
    )

    second = await file(h.db, w.anna, w.company.id)
    [card] = await h.send(replay(ANNA, ClaimCb(action="open", claim_id=second).pack()))
    # Reject says first what it does to the open plan tasks
    [confirm] = await h.send(press(ANNA, card, "Отклонить"))
    assert confirm.text == (
        f"Отклонение претензии №{second} отменит открытые задачи её плана (3). Отклонить?"
    )
    assert labels(confirm) == ["🚫 Отклонить и отменить задачи", "« Назад"]
    assert await plan_states(h.db, second) == ["open"] * 3
    [card] = await h.send(press(ANNA, confirm, "Назад"))
    assert "Статус: новая" in card.text
    [confirm] = await h.send(press(ANNA, card, "Отклонить"))
    [card, ask] = await h.send(press(ANNA, confirm, "Отклонить и отменить"))
    assert card.text.startswith(f"<b>Претензия №{second}</b>")
    assert ask.text == f"Претензия №{second}: напишите, почему претензия отклонена."
    [cancelled] = await h.send(press(ANNA, ask, "Отмена"))
    assert cancelled.text == "Отменено. Ничего не сохранено."
    assert (await read_claim(h.db, second)).status == "new"
    [confirm] = await h.send(press(ANNA, card, "Отклонить"))
    [_card, _ask] = await h.send(press(ANNA, confirm, "Отклонить и отменить"))
    [done] = await h.send(message_update(ANNA, "Повреждение при разгрузке клиентом"))
    assert "Статус: отклонена" in done.text
    assert (await read_claim(h.db, second)).status == "rejected"
    assert await plan_states(h.db, second) == ["cancelled"] * 3


async def test_replayed_callbacks_of_another_managers_claim_change_nothing(
    harness: Harness,
) -> None:
    h = harness
    w = await team_with_client(h.db)
    claim_id = await file(h.db, w.anna, w.company.id, attachments=[claims.AttachmentInput("Ag1")])
    before = await written(h.db)
    refusal = "Not found, or you have no access to it."
    for data in (
        ClaimCb(action="st", claim_id=claim_id, value="investigating"),
        ClaimCb(action="st", claim_id=claim_id, value="rejected"),
        ClaimCb(action="ask", claim_id=claim_id, value="rejected"),
        ClaimCb(action="rejok", claim_id=claim_id, value="rejected"),
        ClaimCb(action="edit", claim_id=claim_id),
        ClaimCb(action="open", claim_id=claim_id),
        ClaimCb(action="files", claim_id=claim_id),
        ClaimCb(action="task", claim_id=claim_id, value="1"),
        ClaimCb(action="open", claim_id=claim_id + 1000),
    ):
        sent = await h.send(replay(BORIS, data.pack()))
        assert sent == []
        assert h.stub.alerts()[-1] == refusal, data
    assert h.stub.calls_of("sendPhoto") == []
    assert await written(h.db) == before
    assert (await read_claim(h.db, claim_id)).status == "new"
    # nor does his typing afterwards: no dialog was started for him
    assert only_a_hint(await h.send(message_update(BORIS, "unfounded")))
    assert (await read_claim(h.db, claim_id)).status == "new"


# ---------------------------------------------------------------- /claims


async def test_claims_list_scoped_filtered_and_paged(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    ids = [
        await file(h.db, w.anna, w.company.id, priority="critical" if i < 2 else "normal")
        for i in range(10)
    ]
    async with h.db.uow() as uow:
        await uow.session.execute(
            update(Claim).where(Claim.id.in_(ids[8:])).values(status="resolved")
        )
        await uow.commit()
    boris_company = await companies.create(h.db.uow(), w.boris, CompanyInput(name="Лютик"))
    await file(h.db, w.boris, boris_company.id)

    [page] = await h.send(message_update(ANNA, "/claims"))
    assert page.text.startswith("<b>Ваши претензии</b>\nСтатус: открытые\nНайдено: 8")
    claim_buttons = [t for t in labels(page) if "#" in t]
    assert len(claim_buttons) == 8
    assert claim_buttons[0].startswith(f"🔴 #{ids[0]} Ромашка · новая · ")
    assert "• открытые" in labels(page)
    [resolved] = await h.send(press(ANNA, page, "решена"))
    assert "Найдено: 2" in resolved.text
    assert len([t for t in labels(resolved) if "#" in t]) == 2
    [everything] = await h.send(press(ANNA, resolved, "все"))
    assert "Найдено: 10" in everything.text
    assert "1/2" in labels(everything)
    [second] = await h.send(press(ANNA, everything, "»"))
    assert len([t for t in labels(second) if "#" in t]) == 2
    [critical] = await h.send(press(ANNA, second, "критический"))
    assert "Статус: все · Приоритет: критический\nНайдено: 2" in critical.text
    [card] = await h.send(press(ANNA, critical, f"#{ids[1]} "))
    assert card.text.startswith(f"<b>Претензия №{ids[1]}</b>")
    assert card.method == "sendMessage"

    [none] = await h.send(message_update(BORIS, "/claims"))
    assert none.text.startswith("<b>Your claims</b>\nStatus: open\nFound: 1")
    [dept] = await h.send(message_update(HELEN, "/claims"))
    assert dept.text.startswith("<b>Claims of your department</b>\nStatus: open\nFound: 8")
    [director] = await h.send(message_update(DINA, "/claims"))
    assert director.text.startswith("<b>Все претензии</b>\nСтатус: открытые\nНайдено: 9")
    # a crafted filter value falls back to the default
    [odd] = await h.send(replay(ANNA, ClaimsListCb(status="bogus", prio="x").pack()))
    assert "Статус: открытые\nНайдено: 8" in odd.text


# ---------------------------------------------------------------- notices and escalation


async def test_urgent_claim_notice_goes_through_the_reminders_sender(harness: Harness) -> None:
    h = harness
    await team_with_client(h.db)
    sender = TelegramSender(h.bot)
    h.dp["reminders"] = SimpleNamespace(sender=sender)
    h.stub.block(HELEN.id)  # the head blocked the bot: the others still hear of it
    try:
        [contact] = await h.send(message_update(DINA, "/claim Ромашка"))
        [cause] = await h.send(press(DINA, contact, "Пропустить"))
        [prio] = await h.send(press(DINA, cause, "Качество"))
        [_text] = await h.send(press(DINA, prio, "высокий"))
        [files] = await h.send(message_update(DINA, "Брак партии"))
        [card] = await h.send(press(DINA, files, "Готово"))
    finally:
        await sender.close()
    claim = await only_claim(h.db)
    assert card.text.startswith(f"<b>Претензия №{claim.id}</b>")
    [notice] = h.stub.sent_to(ANNA.id)
    assert notice.text.startswith(f"⚠ Новая претензия №{claim.id} от <b>Ромашка</b>")
    assert (sender.stats.sent, sender.stats.blocked) == (1, 1)
    assert h.stub.sent_to(DINA.id)[-1].text == card.text  # the director filed it: no notice


async def escalate(h: Harness, now: datetime) -> int:
    return await claims_notify.escalate(h.db, h.bot, create_i18n(), render_notice, now=now)


async def test_escalation_to_the_head_then_the_director_with_a_controlled_clock(
    harness: Harness,
) -> None:
    h = harness
    w = await team_with_client(h.db)
    critical = await file(h.db, w.anna, w.company.id, priority="critical", now=T0)
    normal = await file(h.db, w.anna, w.company.id, now=T0)
    resolved = await file(h.db, w.anna, w.company.id, priority="critical", now=T0)
    await claims.change_status(h.db.uow(), w.anna, resolved, "rejected", resolution="no")

    assert await escalate(h, T0 + timedelta(hours=23)) == 0
    assert h.stub.sent_to(HELEN.id) == []

    # the critical one is a day old: the head hears of it, in English, in her timezone
    assert await escalate(h, T0 + timedelta(days=1, minutes=1)) == 1
    [late] = h.stub.sent_to(HELEN.id)
    assert late.text.startswith(
        f"⏰ Claim #{critical} from <b>Ромашка</b> is overdue: it was due 03.03.2026 12:30."
    )
    assert late.button("Open the claim")
    assert h.stub.sent_to(DINA.id) == []
    # once only, however often the job runs
    assert await escalate(h, T0 + timedelta(days=1, minutes=5)) == 0
    assert len(h.stub.sent_to(HELEN.id)) == 1

    # as long again: the director
    assert await escalate(h, T0 + timedelta(days=2, minutes=1)) == 1
    [later] = h.stub.sent_to(DINA.id)
    assert later.text.startswith(
        f"🚨 Претензия №{critical} от <b>Ромашка</b> всё ещё не решена: срок был 03.03.2026 12:30."
    )
    assert len(h.stub.sent_to(HELEN.id)) == 1

    # the normal one, missed until twice its SLA: head and director at once
    assert await escalate(h, T0 + timedelta(days=15)) == 1
    assert f"#{normal} " in h.stub.sent_to(HELEN.id)[-1].text
    assert f"№{normal} " in h.stub.sent_to(DINA.id)[-1].text
    # the rejected claim never escalated; nobody else was told anything
    assert (await read_claim(h.db, resolved)).escalation_level == 0
    assert h.stub.sent_to(BORIS.id) == []
    assert (await read_claim(h.db, critical)).escalation_level == 2

    # the head opens the claim from the notice
    [card] = await h.send(press(HELEN, late, "Open the claim"))
    assert "Due: 03.03.2026 12:30 ⚠ overdue" in card.text


async def test_escalation_job_runs_in_the_leaders_reminder_scheduler(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    claim_id = await file(
        h.db,
        w.anna,
        w.company.id,
        priority="critical",
        now=datetime.now(UTC) - timedelta(days=1, hours=1),
    )
    sender = TelegramSender(h.bot)
    scheduler = ReminderScheduler(h.db, sender, sweep_seconds=3600)
    h.dp["reminders"] = SimpleNamespace(sender=sender, scheduler=scheduler)
    escalation = claims_notify.setup(Dispatcher(), render_notice)
    await escalation.on_startup(h.dp, h.bot, h.db, create_i18n())
    assert escalation.own is None  # no scheduler of its own
    try:
        await scheduler.start()  # as when this process is elected
        [notice] = await h.stub.wait_sent(HELEN.id)
        assert notice.text.startswith(f"⏰ Claim #{claim_id} from <b>Ромашка</b> is overdue")
        job = scheduler.scheduler.get_job(claims_notify.ESCALATION_JOB)  # type: ignore[union-attr]
        assert job is not None and job.trigger.interval == timedelta(minutes=5)
    finally:
        await scheduler.stop()
        await sender.close()
    # a new leader adds the job again
    await scheduler.start()
    try:
        assert scheduler.scheduler.get_job(claims_notify.ESCALATION_JOB) is not None  # type: ignore[union-attr]
    finally:
        await scheduler.stop()


async def test_escalation_job_without_the_reminders_runtime(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    claim_id = await file(
        h.db, w.anna, w.company.id, priority="critical", now=datetime.now(UTC) - timedelta(days=3)
    )
    escalation = claims_notify.setup(Dispatcher(), render_notice)
    await escalation.on_startup(h.dp, h.bot, h.db, create_i18n())
    own = escalation.own
    assert own is not None
    try:
        assert own.elector.is_leader
        await h.stub.wait_sent(DINA.id)
        assert h.stub.sent_to(DINA.id)[0].text.startswith(f"🚨 Претензия №{claim_id}")
        assert h.stub.sent_to(HELEN.id)[0].text.startswith(f"🚨 Claim #{claim_id}")  # 0 → 2
    finally:
        await escalation.on_shutdown()
    assert escalation.own is None
    await asyncio.sleep(0)
