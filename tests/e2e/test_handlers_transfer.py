"""/import and /export through the real dispatcher and the Bot API stand-in."""

from __future__ import annotations

import asyncio
import io
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from crm.models import AuditEntry, Company, Contact, Sale, utcnow
from crm.models.enums import Role
from crm.services import events
from crm.services.events import EventInput
from handlers.transfer import export as transfer
from handlers.transfer import importing
from handlers.transfer.importing import ImportCb
from tests.fixtures import factories
from tests.fixtures.bilingual import ANNA, DINA, EMILY, HELEN, team
from tests.fixtures.bot_harness import Harness, labels, press
from tests.fixtures.botapi_stub import TgUser, as_update, callback_update, message_update
from tests.fixtures.import_files import bomb, inn, written
from tests.fixtures.queries import count

SAFE_ANNA = TgUser(7501, "Anna", language_code="ru")
SAFE_HELEN = TgUser(7502, "Helen", language_code="en")

CONTACTS_CSV = (
    "ФИО;Телефон;Почта;Компания\n"
    "Иван Петров;+7 912 345-67-89;ivan@example.com;Ромашка\n"
    "Мария Сидорова;12;;Ромашка\n"
    "Олег Смирнов;;oleg@example.com;Лютик\n"
).encode("cp1251")


def document(
    h: Harness, file_id: str, name: str, content: bytes, size: int | None = None
) -> dict[str, Any]:
    h.stub.add_file(file_id, content, f"documents/{name}")
    return {
        "file_id": file_id,
        "file_unique_id": file_id,
        "file_name": name,
        "file_size": len(content) if size is None else size,
    }


async def test_an_export_too_big_for_telegram_is_explained_not_sent(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await team(h.db)
    monkeypatch.setattr(transfer, "MAX_DOCUMENT", 1024)  # any workbook is bigger than 1 KB
    [told] = await h.send(message_update(ANNA, "/export"))
    assert told.method == "sendMessage"
    assert "больше, чем Telegram позволяет" in told.text
    assert f"chatcrm export FILE --as {ANNA.id}" in told.text
    assert h.stub.calls_of("sendDocument") == []


async def test_export_sends_a_workbook_of_what_the_user_sees(harness: Harness) -> None:
    h = harness
    await team(h.db)
    await h.send(message_update(ANNA, "/import"))
    await h.send(message_update(ANNA, document=document(h, "f1", "c.csv", CONTACTS_CSV)))

    [sent] = await h.send(message_update(ANNA, "/export"))
    assert sent.method == "sendDocument"
    assert sent.text.startswith("Выгрузка ChatCRM на ")
    assert "компании: 2" in sent.text and "контакты: 2" in sent.text
    [call] = h.stub.calls_of("sendDocument")
    assert call.params["chat_id"] == ANNA.id
    attached = str(call.params["document"]).removeprefix("attach://")
    workbook = load_workbook(io.BytesIO(call.files[attached]))
    assert workbook.sheetnames[:2] == ["Компании", "Контакты"]
    companies = [r[1] for r in workbook["Компании"].iter_rows(min_row=2, values_only=True)]
    assert sorted(companies) == ["Лютик", "Ромашка"]
    assert workbook["Контакты"]["B1"].value == "ФИО"

    [english] = await h.send(message_update(HELEN, "/export"))
    assert english.text.startswith("What you can see in ChatCRM on ")
    assert "companies: 2" in english.text  # a head sees the department
    async with h.db.uow() as uow:
        exported = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")
        )
    assert exported == 2


async def test_import_dialog_in_russian(harness: Harness) -> None:
    h = harness
    await team(h.db)
    [ask] = await h.send(message_update(ANNA, "/import"))
    assert ask.text.startswith("Что загружаем?")
    labels = [b["text"] for row in ask.buttons for b in row]
    assert labels == ["🏢 Компании", "👤 Контакты", "Отмена"]  # no sales for a manager

    [which] = await h.send(press(ANNA, ask, "Контакты"))
    assert which.text.startswith("Отправьте файл (контакты): CSV или XLSX")
    # not a file: a polite word, and the dialog keeps waiting
    [hint] = await h.send(message_update(ANNA, "вот он"))
    assert hint.text.startswith("Пожалуйста, отправьте таблицу файлом")
    photo = [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}]
    [hint] = await h.send(message_update(ANNA, photo=photo))
    assert hint.text.startswith("Пожалуйста, отправьте таблицу файлом")
    [hint] = await h.send(message_update(ANNA, document=document(h, "pdf", "a.pdf", b"%PDF")))
    assert hint.text.startswith("Я читаю только файлы CSV и XLSX")
    # Telegram lets a bot download 20 MB: a bigger file is refused before asking for it
    huge = document(h, "big", "big.csv", b"x", size=20 * 1024 * 1024 + 1)
    [hint] = await h.send(message_update(ANNA, document=huge))
    assert hint.text.startswith("Файл больше 20 МБ — больше Telegram не даёт боту скачать")
    assert "chatcrm import" in hint.text
    assert h.stub.calls_of("getFile") == []
    assert await count(h.db, Company) == 0

    [report] = await h.send(message_update(ANNA, document=document(h, "f", "c.csv", CONTACTS_CSV)))
    assert report.text.splitlines() == [
        "<b>Загрузка: контакты</b> — прочитано строк: 3",
        "✅ Добавлено: 2",
        "↩ Уже есть, пропущено: 0",
        "🏢 Новых компаний: 2",
        "❌ Отклонено: 1",
        "• строка 3: Телефон: это не похоже на номер телефона.",
        "Исправьте эти строки и загрузите файл снова: уже добавленные строки будут пропущены.",
    ]
    assert await count(h.db, Contact) == 2
    assert await count(h.db, Company) == 2
    # the dialog is over: another document is not imported
    await h.send(message_update(ANNA, document=document(h, "f2", "c.csv", CONTACTS_CSV)))
    assert await count(h.db, Contact) == 2


async def test_a_file_sent_without_import_is_offered_and_checked(harness: Harness) -> None:
    """The tester's three: a file with no /import got "I did not understand"; the INN
    1234567890 (a wrong check digit) was imported; 12,500.00 was "not a number"."""
    h = harness
    await team(h.db)
    companies_csv = b"Name,INN\nRomashka,7707083893\nFake Ltd,1234567890\nPerson Ltd,500100732259\n"
    [offer] = await h.send(
        message_update(HELEN, document=document(h, "c1", "clients.csv", companies_csv))
    )
    assert offer.text.startswith("Import <b>clients.csv</b>? I will recognise whether it holds")
    assert labels(offer) == ["📥 Import it", "🏢 Companies", "👤 Contacts", "💰 Sales", "Cancel"]
    assert await count(h.db, Company) == 0
    *_, report = await h.send(press(HELEN, offer, "Import it"))
    lines = report.text.splitlines()
    assert lines[0] == "<b>Import of companies</b> — rows read: 3"
    assert "✅ Added: 2" in lines
    assert "• row 3: Tax id (INN): this tax id has a wrong check digit: look for a typo." in lines
    async with h.db.uow() as uow:
        names = set(await uow.session.scalars(select(Company.name)))
    assert names == {"Romashka", "Person Ltd"}

    sales_csv = b'Date,Company,Amount\n01.03.2026,Romashka,"12,500.00"\n'
    [offer] = await h.send(message_update(HELEN, document=document(h, "s1", "s.csv", sales_csv)))
    *_, report = await h.send(press(HELEN, offer, "💰 Sales"))
    assert "✅ Added: 1" in report.text.splitlines()
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(Sale.amount)) == 12500


async def test_bad_file_writes_nothing_and_cancel_ends(harness: Harness) -> None:
    h = harness
    await team(h.db)
    await h.send(message_update(ANNA, "/import"))
    bad = "Город;Отрасль\nМосква;Опт\n".encode()
    [hint] = await h.send(message_update(ANNA, document=document(h, "b", "b.csv", bad)))
    assert hint.text.startswith("Не удалось распознать столбцы.")
    assert "Ничего не загружено." in hint.text
    assert await count(h.db, Company) == 0
    assert await count(h.db, AuditEntry) == 0
    [done] = await h.send(press(ANNA, hint, "Отмена"))
    assert done.text == "Отменено. Ничего не сохранено."
    await h.send(message_update(ANNA, document=document(h, "c", "c.csv", CONTACTS_CSV)))
    assert await count(h.db, Contact) == 0


async def test_sales_by_a_head_in_english_and_refused_to_a_manager(harness: Harness) -> None:
    h = harness
    await team(h.db)
    await h.send(message_update(HELEN, "/company Romashka"))
    sales = b"Date,Company,Amount,Number\n01.03.2026,Romashka,1000,A-1\n02.03.2026,Nobody,5,A-2\n"
    [ask] = await h.send(message_update(HELEN, "/import"))
    assert [b["text"] for b in ask.buttons[0]] == ["🏢 Companies", "👤 Contacts", "💰 Sales"]
    # a loaded machine may show the progress first: the outcome is the last word
    *_, report = await h.send(message_update(HELEN, document=document(h, "s", "s.csv", sales)))
    assert report.text.splitlines()[:4] == [
        "<b>Import of sales</b> — rows read: 2",
        "✅ Added: 1",
        "↩ Already there, skipped: 0",
        "❌ Rejected: 1",
    ]
    assert "• row 3: Company: no such company among those you see." in report.text
    assert await count(h.db, Sale) == 1

    # a manager: no Sales button, a crafted one and a sales file are refused politely
    await h.send(message_update(ANNA, "/import"))
    crafted = callback_update(ANNA, ImportCb(action="kind", kind="sales").pack(), 1, ANNA.id)
    await h.send(crafted)
    assert "Не найдено" in h.stub.alerts()[-1]
    [hint] = await h.send(message_update(ANNA, document=document(h, "s2", "s.csv", sales)))
    assert hint.text.startswith("Продажи загружают только руководители")
    assert await count(h.db, Sale) == 1


async def test_document_with_the_import_caption(harness: Harness) -> None:
    h = harness
    await team(h.db)
    companies = "Название;ИНН\nРомашка;7701234560\n".encode()
    doc = document(h, "cap", "companies.csv", companies)
    [report] = await h.send(message_update(ANNA, caption="/import", document=doc))
    assert report.text.startswith("<b>Загрузка: компании</b> — прочитано строк: 1")
    assert "✅ Добавлено: 1" in report.text
    assert await count(h.db, Company) == 1


# ---------------------------------------------------------------- /import


async def test_import_with_a_kind_not_allowed_or_unknown(harness: Harness) -> None:
    await team(harness.db)
    [sales] = await harness.send(message_update(ANNA, "/import продажи"))
    assert sales.text.startswith("Продажи загружают только руководители и директор.\n")
    assert "Что загружаем?" in sales.text
    assert labels(sales) == ["🏢 Компании", "👤 Контакты", "Отмена"]
    [odd] = await harness.send(message_update(ANNA, "/import 😀"))
    assert odd.text.startswith("Не знаю, что такое «😀».\nЧто загружаем?")
    assert "companies" not in odd.text
    [en] = await harness.send(message_update(EMILY, "/import sales"))
    assert en.text.startswith("Only heads and directors import sales.\nWhat do you import?")
    [cancelled] = await harness.send(press(EMILY, en, "Cancel"))
    assert "Nothing was saved" in cancelled.text or cancelled.text


# ---------------------------------------------------------------- /export: words, not codes


def workbook_of(harness: Harness, index: int) -> Workbook:
    call = harness.stub.calls_of("sendDocument")[index]
    attached = str(call.params["document"]).removeprefix("attach://")
    return load_workbook(io.BytesIO(call.files[attached]))


async def test_export_shows_stages_and_statuses_in_words(harness: Harness) -> None:
    w = await team(harness.db)
    await harness.send(message_update(ANNA, "/company Ромашка"))
    await harness.send(message_update(ANNA, "/deal Ромашка; Плёнка; 1000"))
    await harness.send(message_update(ANNA, "/claim Ромашка; Мятая плёнка"))
    await events.create(
        harness.db.uow(),
        w.anna,
        EventInput(title="Семинар", starts_at=utcnow() + timedelta(days=9)),
    )
    [sent] = await harness.send(message_update(ANNA, "/export"))
    assert sent.method == "sendDocument"
    book = workbook_of(harness, 0)
    companies = list(book["Компании"].iter_rows(min_row=2, values_only=True))
    assert companies[0][1] == "Ромашка" and companies[0][5] == "потенциальный"
    deals = list(book["Сделки"].iter_rows(min_row=2, values_only=True))
    assert deals[0][3] == "лид"
    claims = list(book["Претензии"].iter_rows(min_row=2, values_only=True))
    assert claims[0][3:6] == ("Качество", "обычный", "новая")  # «мятая»: guessed quality
    kinds = {row[4] for row in book["Задачи"].iter_rows(min_row=2, values_only=True)}
    assert kinds == {"подготовка мероприятия", "план по претензии"}
    statuses = {row[3] for row in book["Задачи"].iter_rows(min_row=2, values_only=True)}
    assert statuses == {"к выполнению"}
    # English words for an English user
    await harness.send(message_update(HELEN, "/export"))
    english = workbook_of(harness, 1)
    rows = list(english["Companies"].iter_rows(min_row=2, values_only=True))
    assert rows[0][5] == "potential"
    claim = next(english["Claims"].iter_rows(min_row=2, values_only=True))
    assert claim[3:6] == ("Quality", "normal", "new")


async def test_the_bot_explains_a_bomb(harness: Harness) -> None:
    h = harness
    await factories.staff(h.db, name="Anna", language="ru", tg_id=SAFE_ANNA.id)
    await h.send(message_update(SAFE_ANNA, "/import"))
    content = bomb()
    h.stub.add_file("bomb", content, "documents/bomb.xlsx")
    doc = {"file_id": "bomb", "file_unique_id": "bomb", "file_name": "bomb.xlsx",
           "file_size": len(content)}  # fmt: skip
    [told] = await h.send(message_update(SAFE_ANNA, document=doc))
    assert told.text.startswith("Этот XLSX распаковывается в 60 МБ или больше")
    assert "Ничего не загружено" in told.text
    assert await written(h.db) == (0, 0)


async def test_the_bot_answers_others_while_an_import_runs(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await factories.staff(h.db, name="Anna", language="ru", tg_id=SAFE_ANNA.id)
    await factories.staff(h.db, Role.HEAD, name="Helen", language="en", tg_id=SAFE_HELEN.id)
    monkeypatch.setattr(importing.ImportProgress, "AFTER", 0.0)
    monkeypatch.setattr(importing.ImportProgress, "EVERY", 0.0)
    rows = 40_000
    body = "".join(f"Компания {i};{inn(i)};Розница\n" for i in range(rows))
    content = ("Название;ИНН;Отрасль\n" + body).encode("cp1251")
    h.stub.add_file("big", content, "documents/big.csv")
    doc = {"file_id": "big", "file_unique_id": "big", "file_name": "big.csv",
           "file_size": len(content)}  # fmt: skip
    await h.send(message_update(SAFE_ANNA, "/import"))
    running = asyncio.create_task(
        h.dp.feed_update(h.bot, as_update(message_update(SAFE_ANNA, document=doc), h.bot))
    )
    for _ in range(600):  # until the progress message shows the import under way
        if any((s.text or "").startswith("⏳") for s in h.stub.sent_to(SAFE_ANNA.id)):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("no progress message")
    answer = await h.send(message_update(SAFE_HELEN, "/help"))
    assert answer and answer[0].text and not running.done()
    await running
    report = h.stub.sent_to(SAFE_ANNA.id)[-1]
    assert "Добавлено: 40000" in report.text, report.text
    edits = h.stub.calls_of("editMessageText")
    assert len(edits) >= 2  # progress, then the report in the same message
    assert await written(h.db) == (rows, rows)


HOLDINGS_CSV = (
    b"Name;INN;Parent company\n"
    b"Northwind Retail;;Northwind Group\n"
    b"Northwind Group;7701234560;\n"
    b"Northwind Depot;;7701234560\n"
    b"Stray;;Nobody Ltd\n"
)


async def test_companies_import_and_export_carry_the_parent(harness: Harness) -> None:
    h = harness
    await team(h.db)
    doc = document(h, "h1", "holdings.csv", HOLDINGS_CSV)
    *_progress, report = await h.send(message_update(EMILY, caption="/import", document=doc))
    assert "✅ Added: 3" in report.text
    assert "• row 5: Parent company: nothing like this was found." in report.text
    [sent] = await h.send(message_update(EMILY, "/export"))
    [call] = h.stub.calls_of("sendDocument")
    workbook = load_workbook(io.BytesIO(call.files[str(call.params["document"])[9:]]))
    sheet = workbook["Companies"]
    header = [c.value for c in sheet[1]]
    at = header.index("Parent company")
    rows = {r[1]: r[at] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows == {
        "Northwind Retail": "Northwind Group",
        "Northwind Group": None,
        "Northwind Depot": "Northwind Group",
    }
    assert sent.method == "sendDocument"

    russian = "Название;Головная компания\nЛютик;Ромашка\n".encode()
    doc = document(h, "h2", "holdings-ru.csv", russian)
    *_progress, report = await h.send(message_update(ANNA, caption="/import", document=doc))
    assert "• строка 2: Головная компания: ничего такого не найдено." in report.text


async def test_sales_with_a_paid_date_column_in_both_languages(harness: Harness) -> None:
    """The paid-date column: new sales come paid, a bad date is refused with its row number,
    and a file that names a sale imported before marks it paid (audited)."""
    h = harness
    await team(h.db)
    await h.send(message_update(HELEN, "/company Romashka"))
    sales = (
        b"Date,Company,Amount,Invoice,Paid on\n"
        b"01.03.2026,Romashka,1000,A-1,05.03.2026\n"
        b"02.03.2026,Romashka,200,A-2,\n"
        b"03.03.2026,Romashka,300,A-3,31.02.2026\n"
    )
    await h.send(message_update(HELEN, "/import"))
    # a loaded machine may show the progress first: the outcome is the last word
    *_, report = await h.send(message_update(HELEN, document=document(h, "p1", "paid1.csv", sales)))
    assert report.text.splitlines()[:4] == [
        "<b>Import of sales</b> — rows read: 3",
        "✅ Added: 2",
        "↩ Already there, skipped: 0",
        "❌ Rejected: 1",
    ]
    assert "• row 4: Paid on: write the date as dd.mm.yyyy or yyyy-mm-dd." in report.text
    async with h.db.uow() as uow:
        paid = dict((await uow.session.execute(select(Sale.external_ref, Sale.paid_on))).all())
    assert paid == {"A-1": date(2026, 3, 5), "A-2": None}

    # the director's Russian file: A-2 paid since, A-4 new and unpaid
    russian = (
        "Дата;Компания;Сумма;Номер;Дата оплаты\n"
        "02.03.2026;Romashka;200;A-2;10.03.2026\n"
        "01.03.2026;Romashka;1000;A-1;07.03.2026\n"
        "04.03.2026;Romashka;400;A-4;\n"
    ).encode()
    await h.send(message_update(DINA, "/import"))
    *_, again = await h.send(message_update(DINA, document=document(h, "p2", "paid2.csv", russian)))
    assert "✅ Добавлено: 1" in again.text
    assert "💰 Отмечено оплаченными: 1" in again.text  # A-1 was paid already: kept
    async with h.db.uow() as uow:
        paid = dict((await uow.session.execute(select(Sale.external_ref, Sale.paid_on))).all())
        marks = list(
            await uow.session.scalars(
                select(AuditEntry.changes).where(
                    AuditEntry.entity == "sales", AuditEntry.action == "update"
                )
            )
        )
    assert paid == {"A-1": date(2026, 3, 5), "A-2": date(2026, 3, 10), "A-4": None}
    assert marks == [{"paid_on": [None, "2026-03-10"]}]
