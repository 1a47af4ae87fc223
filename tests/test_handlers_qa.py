"""Rough edges found by trying the bot as a new user would (chatcrm shell), each through the
real dispatcher: what the user sees in Russian and in English."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import Workbook, load_workbook
from sqlalchemy import update

from crm.access import Actor
from crm.models import Company, Event, Inquiry, utcnow
from crm.models.enums import Role
from crm.services import events
from crm.services.events import EventInput
from crm.storage import Database
from tests import factories
from tests.bot_harness import Harness, only_a_hint, press
from tests.botapi_stub import Sent, TgUser, message_update
from tests.test_events import contact
from tests.test_handlers_events import future_day

ANNA = TgUser(7601, "Anna", language_code="ru")  # manager, Russian
EMILY = TgUser(7602, "Emily", language_code="en")  # manager, English
HELEN = TgUser(7603, "Helen", language_code="en")  # head of both


class World:
    anna: Actor
    emily: Actor
    helen: Actor


async def world(db: Database) -> World:
    w = World()
    sales = await factories.department(db)
    w.anna = await factories.staff(
        db, department_id=sales.id, name="Анна", language="ru", tg_id=ANNA.id
    )
    w.emily = await factories.staff(
        db, department_id=sales.id, name="Emily", language="en", tg_id=EMILY.id
    )
    w.helen = await factories.staff(
        db, Role.HEAD, department_id=sales.id, name="Helen", language="en", tg_id=HELEN.id
    )
    return w


def labels(sent: Sent) -> list[str]:
    return [b["text"] for row in sent.buttons for b in row]


async def add_company(db: Database, curator_id: int, name: str, **fields: object) -> Company:
    async with db.uow() as uow:
        company = Company(
            name=name, name_key=name.lower(), curator_id=curator_id, tags=[], **fields
        )
        uow.session.add(company)
        await uow.commit()
        return company


# ---------------------------------------------------------------- /report inquiries


async def test_inquiry_sources_are_named_in_the_users_language(harness: Harness) -> None:
    w = await world(harness.db)
    async with harness.db.uow() as uow:
        for source in ("exhibition", "referral", "cold_call", "partner fair"):
            uow.session.add(Inquiry(source=source, manager_id=w.anna.id))
        await uow.commit()
    ru = (await harness.send(message_update(ANNA, "/report inquiries")))[0].text
    assert "Выставка" in ru and "Рекомендация" in ru and "Холодный звонок" in ru
    assert "exhibition" not in ru and "cold_call" not in ru
    assert "partner fair" in ru  # a source of one's own stays as it was written
    en = (await harness.send(message_update(HELEN, "/report inquiries")))[0].text
    assert "Exhibition" in en and "Cold call" in en and "cold_call" not in en


# ---------------------------------------------------------------- /report forgotten


async def test_forgotten_footnote_only_when_a_row_has_the_star(harness: Harness) -> None:
    w = await world(harness.db)
    long_ago = utcnow() - timedelta(days=400)
    await add_company(
        harness.db,
        w.anna.id,
        "Молчун",
        created_at=long_ago,
        last_interaction_at=utcnow() - timedelta(days=60),
    )
    [text, photo] = await harness.send(message_update(ANNA, "/report forgotten"))
    assert "Молчун" in text.text and "60" in text.text
    assert "взаимодействий не было" not in text.text and photo.method == "sendPhoto"
    await add_company(harness.db, w.anna.id, "Новичок", created_at=long_ago)
    [text, _photo] = await harness.send(message_update(ANNA, "/report forgotten"))
    assert "400*" in text.text
    assert "* взаимодействий не было: дни с добавления клиента." in text.text


# ---------------------------------------------------------------- leaders only


async def test_a_manager_is_told_what_is_for_leaders(harness: Harness) -> None:
    await world(harness.db)
    [digest] = await harness.send(message_update(ANNA, "/digest"))
    assert digest.text.startswith("Ежедневная сводка приходит руководителям и директору.")
    assert "/today" in digest.text and "Не найдено" not in digest.text
    [digest_en] = await harness.send(message_update(EMILY, "/digest"))
    assert digest_en.text.startswith("The daily digest is for heads and directors.")
    # the head still gets the digest itself
    shown = await harness.send(message_update(HELEN, "/digest"))
    assert shown[0].text.startswith("<b>Digest") or "Digest" in shown[0].text

    [managers] = await harness.send(message_update(ANNA, "/report managers"))
    assert managers.text.startswith("Отчёт «Менеджеры» доступен только руководителям")
    assert "Воронка" in labels(managers) and "Менеджеры" not in labels(managers)
    [claims] = await harness.send(message_update(ANNA, "/report claims"))
    assert claims.text == (
        "Претензии: за этот период претензий нет. Зарегистрировать претензию: /claim."
    )


# ---------------------------------------------------------------- /import


async def test_import_with_a_kind_not_allowed_or_unknown(harness: Harness) -> None:
    await world(harness.db)
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


# ---------------------------------------------------------------- event tasks in /today


async def test_event_tasks_name_their_event(harness: Harness) -> None:
    w = await world(harness.db)
    await events.create(
        harness.db.uow(),
        w.anna,
        EventInput(title="Весенний семинар", starts_at=utcnow() + timedelta(hours=20)),
    )
    [today] = await harness.send(message_update(ANNA, "/today"))
    assert "Забронировать площадку · 📅 Весенний семинар" in today.text
    [listed] = await harness.send(message_update(ANNA, "/tasks"))
    assert "📅 Весенний семинар" in listed.text


# ---------------------------------------------------------------- /event: attendance after the end


async def test_an_ended_event_stays_reachable_to_mark_attendance(harness: Harness) -> None:
    w = await world(harness.db)
    view = await events.create(
        harness.db.uow(),
        w.emily,
        EventInput(title="Product day", starts_at=utcnow() + timedelta(days=2)),
    )
    async with harness.db.uow() as uow:
        await uow.session.execute(
            update(Event)
            .where(Event.id == view.event.id)
            .values(
                starts_at=utcnow() - timedelta(days=3),
                ends_at=utcnow() - timedelta(days=3) + timedelta(hours=2),
            )
        )
        await uow.commit()
    [page] = await harness.send(message_update(EMILY, "/event"))
    assert "No upcoming events" in page.text
    assert "Recently held: open one to mark who came." in page.text
    [recent] = [label for label in labels(page) if "Product day" in label]
    assert recent.startswith("✅ ")
    [card] = await harness.send(press(EMILY, page, recent))
    assert "Product day" in card.text
    assert "👥 Invitees (0)" in labels(card) and "➕ Add invitees" not in labels(card)
    # Russian, and an event that ended long ago is not offered any more
    [ru] = await harness.send(message_update(ANNA, "/event"))
    assert "Недавно прошли" not in ru.text  # Anna does not see Emily's event
    async with harness.db.uow() as uow:
        await uow.session.execute(update(Event).values(responsible_id=w.anna.id))
        await uow.commit()
    [ru] = await harness.send(message_update(ANNA, "/event"))
    assert "Недавно прошли — откройте, чтобы отметить, кто пришёл:" in ru.text
    async with harness.db.uow() as uow:
        await uow.session.execute(
            update(Event).values(
                starts_at=utcnow() - timedelta(days=30), ends_at=utcnow() - timedelta(days=29)
            )
        )
        await uow.commit()
    [old] = await harness.send(message_update(ANNA, "/event"))
    assert "Недавно прошли" not in old.text and not any("✅" in x for x in labels(old))


# ---------------------------------------------------------------- /export: words, not codes


def workbook_of(harness: Harness, index: int) -> Workbook:
    call = harness.stub.calls_of("sendDocument")[index]
    attached = str(call.params["document"]).removeprefix("attach://")
    return load_workbook(io.BytesIO(call.files[attached]))


async def test_export_shows_stages_and_statuses_in_words(harness: Harness) -> None:
    w = await world(harness.db)
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
    assert claims[0][3:6] == ("Другое", "обычный", "новая")
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
    assert claim[3:6] == ("Other", "normal", "new")


# ---------------------------------------------------------------- the demo's figures make sense


async def test_demo_data_gives_believable_reports(harness: Harness) -> None:
    from crm import demo

    await demo.generate(harness.db, companies=120)
    director = TgUser(demo.TG_BASE + 1, "Ирина", language_code="ru")
    [xyz, _chart] = await harness.send(message_update(director, "/report xyz"))
    counts = dict(
        (line.split()[0], int(line.split()[-1]))
        for line in xyz.text.splitlines()
        if line.split() and line.split()[0] in ("X", "Y", "Z")
    )
    assert counts["X"] > 0 and counts["Y"] > 0, xyz.text  # not every regular client in Z
    [managers, _chart] = await harness.send(message_update(director, "/report managers"))
    shares = [int(p) for p in re.findall(r"(\d+)%", managers.text)]
    assert shares and max(shares) < 400, managers.text  # plans near what they sell
    head_rows = [line for line in managers.text.splitlines() if "Алексей" in line]
    assert head_rows and "—" in head_rows[0]  # a head has no personal plan


# ---------------------------------------------------------------- /event: a company by its name


async def test_event_company_is_found_by_a_typed_name(harness: Harness) -> None:
    w = await world(harness.db)
    for name in ("Атлас Логистик", "Атлас Трейд", "Бета", "Гамма 100%"):
        company = await add_company(harness.db, w.anna.id, name)
        await contact(
            harness.db, w.anna, f"Контакт {name}", f"c{company.id}@example.com", company.id
        )
    await harness.send(message_update(ANNA, f"/event Семинар; {future_day()} 10:00; Зал"))
    [card] = harness.stub.sent_to(ANNA.id)[-1:]
    [menu] = await harness.send(press(ANNA, card, "➕ Добавить приглашённых"))
    [companies] = await harness.send(press(ANNA, menu, "По компании"))
    assert companies.text == "Выберите компанию или напишите часть её названия:"
    [found] = await harness.send(message_update(ANNA, "атлас"))
    assert found.text == "Найдено по запросу «атлас» — выберите компанию:"
    assert labels(found) == ["Атлас Логистик", "Атлас Трейд", "« Назад"]
    [none] = await harness.send(message_update(ANNA, "Омега"))
    assert none.text.startswith("Среди ваших компаний с почтой нет похожих на «Омега».")
    [percent] = await harness.send(message_update(ANNA, "100%"))
    assert labels(percent) == ["Гамма 100%", "« Назад"]  # % is a letter, not a wildcard
    [added] = await harness.send(press(ANNA, found, "Атлас Трейд"))
    assert added.text.startswith("Добавлено приглашённых: 1.")
    # the search is over: a text is chatter again
    assert only_a_hint(await harness.send(message_update(ANNA, "атлас")))
    # English, and the Back button ends the search too
    await events.create(
        harness.db.uow(), w.emily, EventInput(title="Demo", starts_at=utcnow() + timedelta(days=5))
    )
    beta = await add_company(harness.db, w.emily.id, "Zeta Foods")
    await contact(harness.db, w.emily, "Zed", "zed@example.com", beta.id)
    [page] = await harness.send(message_update(EMILY, "/event"))
    [card] = await harness.send(press(EMILY, page, next(x for x in labels(page) if "Demo" in x)))
    [menu] = await harness.send(press(EMILY, card, "➕ Add invitees"))
    [companies] = await harness.send(press(EMILY, menu, "By company"))
    assert companies.text == "Choose the company, or type a part of its name:"
    [found] = await harness.send(message_update(EMILY, "zeta"))
    assert found.text == "Found for “zeta”: choose the company." and "Zeta Foods" in labels(found)
    await harness.send(press(EMILY, found, "« Back"))
    assert only_a_hint(await harness.send(message_update(EMILY, "zeta")))
