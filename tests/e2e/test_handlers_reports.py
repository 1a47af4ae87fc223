"""/report through the real dispatcher: the menu, each report as text and a PNG chart."""

from __future__ import annotations

import re
from datetime import timedelta

from crm.models import Inquiry, utcnow
from handlers.reports import REPORTS
from tests.fixtures import bilingual
from tests.fixtures.bot_harness import Harness, labels, press
from tests.fixtures.botapi_stub import TgUser, message_update
from tests.fixtures.factories import add_company
from tests.fixtures.movers_year import ANNA as MOVERS_ANNA
from tests.fixtures.movers_year import DINA as MOVERS_DINA
from tests.fixtures.movers_year import slipped_client
from tests.fixtures.report_data import ANNA, DINA, HELEN, NEWBIE, something_for_every_report

PNG = b"\x89PNG\r\n\x1a\n"


def photos(harness: Harness, chat_id: int) -> list[bytes]:
    found = []
    for call in harness.stub.calls_of("sendPhoto"):
        if str(call.params.get("chat_id")) == str(chat_id):
            found.extend(call.files.values())
    return found


async def test_menu_depends_on_the_role(harness: Harness) -> None:
    await something_for_every_report(harness.db)
    [menu] = await harness.send(message_update(ANNA, "/report"))
    labels = [b["text"] for row in menu.buttons for b in row]
    assert "ABC" in labels and "XYZ" in labels and "ABC×XYZ" in labels
    assert not any(label in ("Managers", "Менеджеры") for label in labels)
    [head_menu] = await harness.send(message_update(HELEN, "/report"))
    head_labels = [b["text"] for row in head_menu.buttons for b in row]
    assert "Managers" in head_labels and "Forgotten clients" in head_labels
    assert head_menu.text.startswith("<b>Reports</b>") or "Reports" in head_menu.text


async def test_a_button_sends_text_and_a_chart(harness: Harness) -> None:
    await something_for_every_report(harness.db)
    [menu] = await harness.send(message_update(HELEN, "/report"))
    shown = await harness.send(press(HELEN, menu, "ABC"))
    text, photo = shown
    assert text.method == "sendMessage" and photo.method == "sendPhoto"
    assert "ABC" in text.text and "revenue" in text.text
    assert "Alfa" in text.text and "18 000.00" in text.text and "1 500.00" in text.text
    [png] = photos(harness, HELEN.id)
    assert png.startswith(PNG)
    # the metric buttons under the ABC text switch to margin
    margin = await harness.send(press(HELEN, text, "margin"))
    assert "margin" in margin[0].text and margin[1].method == "sendPhoto"


async def test_every_report_for_the_director(harness: Harness) -> None:
    await something_for_every_report(harness.db)
    [menu] = await harness.send(message_update(DINA, "/report"))
    expected = {
        "ABC×XYZ": "AX",
        "XYZ": "Alfa",
        "Funnel": "Proposal",
        "Forecast": "2 000.00",  # 4000 × 50 %
        "Managers": "2 500.00",  # this month's sale
        "Inquiries": "web",
        "Forgotten clients": "Beta",
        "Claims": "Quality",
    }
    for label, fragment in expected.items():
        shown = await harness.send(press(DINA, menu, label))
        assert fragment in shown[0].text, (label, shown[0].text)
        assert shown[-1].method == "sendPhoto", label
    assert len(photos(harness, DINA.id)) == len(expected)
    assert all(p.startswith(PNG) for p in photos(harness, DINA.id))
    assert len(REPORTS) == 11
    # the legend says what Revenue counts: imported sales too, not only deals won
    [managers, _chart] = await harness.send(message_update(DINA, "/report managers"))
    assert (
        "Revenue: sales credited to the manager in the period (deals won and imported sales);"
        in managers.text
    )


async def test_one_line_form_and_russian(harness: Harness) -> None:
    await something_for_every_report(harness.db)
    shown = await harness.send(message_update(ANNA, "/report abc; маржа"))
    assert "маржа" in shown[0].text and "Alfa" in shown[0].text
    assert shown[1].method == "sendPhoto"
    shown = await harness.send(message_update(ANNA, "/report funnel"))
    assert "Воронка" in shown[0].text
    [usage] = await harness.send(message_update(DINA, "/report nonsense"))
    assert "/report abc" in usage.text and usage.buttons


async def test_empty_data_and_refusals(harness: Harness) -> None:
    await something_for_every_report(harness.db)
    before = len(harness.stub.calls_of("sendPhoto"))
    [empty] = await harness.send(message_update(NEWBIE, "/report abc"))
    assert "no data yet" in empty.text
    [calm] = await harness.send(message_update(NEWBIE, "/report forgotten"))
    assert "No forgotten clients" in calm.text
    assert len(harness.stub.calls_of("sendPhoto")) == before
    [denied] = await harness.send(message_update(NEWBIE, "/report managers"))
    assert denied.text.startswith("The report “Managers” is for heads and directors.")
    assert "Managers" not in [b["text"] for row in denied.buttons for b in row]
    [bad] = await harness.send(message_update(NEWBIE, "/report abc; weight"))
    assert bad.method == "sendMessage" and "no data" not in bad.text


# ---------------------------------------------------------------- /report inquiries


async def test_inquiry_sources_are_named_in_the_users_language(harness: Harness) -> None:
    w = await bilingual.team(harness.db)
    async with harness.db.uow() as uow:
        for source in ("exhibition", "referral", "cold_call", "partner fair"):
            uow.session.add(Inquiry(source=source, manager_id=w.anna.id))
        await uow.commit()
    ru = (await harness.send(message_update(bilingual.ANNA, "/report inquiries")))[0].text
    assert "Выставка" in ru and "Рекомендация" in ru and "Холодный звонок" in ru
    assert "exhibition" not in ru and "cold_call" not in ru
    assert "partner fair" in ru  # a source of one's own stays as it was written
    en = (await harness.send(message_update(bilingual.HELEN, "/report inquiries")))[0].text
    assert "Exhibition" in en and "Cold call" in en and "cold_call" not in en


# ---------------------------------------------------------------- /report forgotten


async def test_forgotten_footnote_only_when_a_row_has_the_star(harness: Harness) -> None:
    w = await bilingual.team(harness.db)
    long_ago = utcnow() - timedelta(days=400)
    await add_company(
        harness.db,
        w.anna.id,
        "Молчун",
        created_at=long_ago,
        last_interaction_at=utcnow() - timedelta(days=60),
    )
    [text, photo] = await harness.send(message_update(bilingual.ANNA, "/report forgotten"))
    assert "Молчун" in text.text and "60" in text.text
    assert "взаимодействий не было" not in text.text and photo.method == "sendPhoto"
    await add_company(harness.db, w.anna.id, "Новичок", created_at=long_ago)
    [text, _photo] = await harness.send(message_update(bilingual.ANNA, "/report forgotten"))
    assert "400*" in text.text
    assert "* взаимодействий не было: дни с добавления клиента." in text.text


# ---------------------------------------------------------------- leaders only


async def test_a_manager_is_told_what_is_for_leaders(harness: Harness) -> None:
    await bilingual.team(harness.db)
    [digest] = await harness.send(message_update(bilingual.ANNA, "/digest"))
    assert digest.text.startswith("Ежедневная сводка приходит руководителям и директору.")
    assert "/today" in digest.text and "Не найдено" not in digest.text
    [digest_en] = await harness.send(message_update(bilingual.EMILY, "/digest"))
    assert digest_en.text.startswith("The daily digest is for heads and directors.")
    # the head still gets the digest itself
    shown = await harness.send(message_update(bilingual.HELEN, "/digest"))
    assert shown[0].text.startswith("<b>Digest") or "Digest" in shown[0].text

    [managers] = await harness.send(message_update(bilingual.ANNA, "/report managers"))
    assert managers.text.startswith("Отчёт «Менеджеры» доступен только руководителям")
    assert "Воронка" in labels(managers) and "Менеджеры" not in labels(managers)
    [claims] = await harness.send(message_update(bilingual.ANNA, "/report claims"))
    assert claims.text == (
        "Претензии: за этот период претензий нет. Зарегистрировать претензию: /claim."
    )


# ---------------------------------------------------------------- /report and /help by role


async def test_managers_are_not_offered_the_managers_report(harness: Harness) -> None:
    h = harness
    await bilingual.team(h.db)
    [usage] = await h.send(message_update(bilingual.EMILY, "/report nonsense"))
    assert usage.text == (
        "Which report? /report abc | xyz | matrix | funnel | forecast | inquiries | forgotten "
        "| claims | events | receivables"
    )
    [usage_ru] = await h.send(message_update(bilingual.ANNA, "/report чтото"))
    assert "managers" not in usage_ru.text and usage_ru.text.startswith("Какой отчёт?")
    [help_en] = await h.send(message_update(bilingual.EMILY, "/help"))
    report_line = next(line for line in help_en.text.splitlines() if line.startswith("/report"))
    assert report_line == (
        "/report <i>abc|xyz|matrix|funnel|forecast|inquiries|forgotten|claims</i> — "
        "analytics: ABC, XYZ, funnel, forecast and more, with charts"
    )
    [help_ru] = await h.send(message_update(bilingual.ANNA, "/help"))
    assert "managers" not in help_ru.text and "менеджеры" not in help_ru.text
    assert "/report <i>abc|xyz|matrix|funnel|forecast|inquiries|forgotten|claims</i>" in (
        help_ru.text
    )
    # heads and directors still see it
    [usage_head] = await h.send(message_update(bilingual.HELEN, "/report nonsense"))
    assert "| forecast | managers | inquiries" in usage_head.text
    [help_head] = await h.send(message_update(bilingual.HELEN, "/help"))
    assert "forecast|managers|inquiries" in help_head.text
    assert "forecast, managers and more" in help_head.text
    [help_director] = await h.send(message_update(bilingual.DINA, "/help"))
    assert "прогноз, менеджеры и другое" in help_director.text


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


async def test_report_abc_and_the_digest_name_the_movers(harness: Harness) -> None:
    await slipped_client(harness.db)
    shown = await harness.send(message_update(MOVERS_DINA, "/report abc"))
    assert "Class changes since " in shown[0].text
    assert "• A → B: Alfa, −80 %" in shown[0].text
    digest = await harness.send(message_update(MOVERS_DINA, "/digest"))
    assert "Class changes since " in digest[0].text and ": 1\n" in digest[0].text
    assert "• A → B: Alfa, −80 %" in digest[0].text
    russian = await harness.send(message_update(MOVERS_ANNA, "/report abc"))
    assert "Сменили класс по сравнению с периодом " in russian[0].text
    assert "• A → B: Alfa, −80 %" in russian[0].text


# ---------------------------------------------------------------- ABC and XYZ by holding


async def holding_world(harness: Harness) -> bilingual.Team:
    """Emily's Group with two subsidiaries (one of them Boris's), and a client on its own."""
    from crm.models import Sale
    from tests.fixtures.report_data import months_ago

    w = await bilingual.team(harness.db)
    group = await add_company(harness.db, w.emily.id, "Group", stage="regular")
    north = await add_company(harness.db, w.emily.id, "North", stage="regular", parent_id=group.id)
    south = await add_company(harness.db, w.boris.id, "South", stage="regular", parent_id=group.id)
    solo = await add_company(harness.db, w.emily.id, "Solo", stage="regular")
    async with harness.db.uow() as uow:
        for n in range(1, 13):
            uow.session.add(Sale(company_id=north.id, sold_on=months_ago(n), amount=1000))
            uow.session.add(Sale(company_id=south.id, sold_on=months_ago(n), amount=500))
            uow.session.add(Sale(company_id=solo.id, sold_on=months_ago(n), amount=1200))
        uow.session.add(Sale(company_id=group.id, sold_on=months_ago(3), amount=600))
        await uow.commit()
    return w


async def test_abc_and_xyz_by_holding(harness: Harness) -> None:
    await holding_world(harness)
    text, _chart = await harness.send(message_update(bilingual.EVA, "/report abc; holdings"))
    assert "by holding" in text.text and "Top holdings:" in text.text
    # Group = North 12,000 + South 6,000 + its own 600
    assert re.search(r"Group\s+A\s+18 600\.00", text.text), text.text
    assert re.search(r"Solo\s+A\s+14 400\.00", text.text), text.text
    assert "North" not in text.text
    assert labels(text)[-2:] == ["By client", "• By holding"]
    by_client, _chart = await harness.send(press(bilingual.EVA, text, "By client"))
    assert re.search(r"North\s+\w\s+12 000\.00", by_client.text), by_client.text
    margin, _chart = await harness.send(press(bilingual.EVA, text, "margin"))
    assert "margin · by holding" in margin.text

    # Emily does not see Boris's South: her Group is North and the Group's own sales
    text, _chart = await harness.send(message_update(bilingual.EMILY, "/report abc holdings"))
    assert re.search(r"Group\s+\w\s+12 600\.00", text.text), text.text

    xyz, _chart = await harness.send(message_update(bilingual.DINA, "/report xyz; по холдингам"))
    assert "по холдингам" in xyz.text
    assert "Постоянные холдинги" in xyz.text
    assert re.search(r"Group\s+Y\s+1 550,00", xyz.text), xyz.text  # 18,600 / 12 months
    assert labels(xyz) == ["По клиентам", "• По холдингам"]
    [bad] = await harness.send(message_update(bilingual.DINA, "/report xyz; маржа"))
    assert bad.method == "sendMessage" and "Группа" not in bad.text


# ---------------------------------------------------------------- /report receivables


async def test_receivables_by_client_and_manager_in_both_languages(harness: Harness) -> None:
    from crm.models import Sale
    from handlers.reports.layout import local_today

    w = await bilingual.team(harness.db)
    ours = await add_company(harness.db, w.emily.id, "Northwind")
    theirs = await add_company(harness.db, w.boris.id, "Southwind")
    today = local_today(w.emily)
    async with harness.db.uow() as uow:
        for company, manager, late, amount in (
            (ours.id, w.emily.id, 5, 1000),
            (ours.id, w.emily.id, 75, 250),
            (theirs.id, w.boris.id, 120, 99),
        ):
            uow.session.add(
                Sale(
                    company_id=company,
                    manager_id=manager,
                    sold_on=today - timedelta(days=late + 30),
                    due_on=today - timedelta(days=late),
                    amount=amount,
                    source="import",
                )
            )
        await uow.commit()
    [text] = await harness.send(message_update(bilingual.EMILY, "/report receivables"))
    assert text.text.startswith("<b>Receivables</b>\noverdue on ")
    assert "Overdue: 1 250.00, days late in columns." in text.text
    assert re.search(r"Northwind\s+1 000\.00\s+0\.00\s+250\.00\s+0\.00\s+1 250\.00", text.text)
    assert "Southwind" not in text.text and re.search(r"Emily\s+1 000\.00", text.text)
    [russian] = await harness.send(message_update(bilingual.DINA, "/report receivables"))
    assert russian.text.startswith("<b>Дебиторка</b>\nпросрочено на ")
    assert "Просрочено: 1 349,00" in russian.text and "По менеджерам:" in russian.text
    assert re.search(r"Southwind\s+0,00\s+0,00\s+0,00\s+99,00\s+99,00", russian.text)
    [calm] = await harness.send(message_update(bilingual.HELEN, "/report receivables"))
    assert "Northwind" in calm.text  # the head sees her department's client
    [nothing] = await harness.send(message_update(bilingual.ANNA, "/report receivables"))
    assert nothing.text.endswith("Просроченных оплат нет.")
    # the company card says it too, to whoever sees the company
    from handlers.cards.callbacks import CardCb
    from tests.fixtures.botapi_stub import callback_update

    opened = CardCb(kind="co", id=ours.id).pack()
    [card] = await harness.send(callback_update(bilingual.EMILY, opened))
    assert "⚠ Overdue payments: 1 250.00" in card.text
    opened = CardCb(kind="co", id=theirs.id).pack()
    [card] = await harness.send(callback_update(bilingual.DINA, opened))
    assert "⚠ Просроченные оплаты: 99,00" in card.text
