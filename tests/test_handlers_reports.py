"""/report through the real dispatcher: the menu, each report as text and a PNG chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from crm.models import Claim, Company, Deal, Inquiry, Manager, Sale
from crm.models.enums import Role
from crm.storage import Database
from handlers.reports import REPORTS
from tests import factories
from tests.bot_harness import Harness, press
from tests.botapi_stub import TgUser, message_update

ANNA = TgUser(7301, "Anna", language_code="ru")  # manager, Russian
HELEN = TgUser(7302, "Helen", language_code="en")  # head of Anna's department
DINA = TgUser(7303, "Dina", language_code="en")  # director
NEWBIE = TgUser(7304, "Nick", language_code="en")  # a manager with nothing yet
PNG = b"\x89PNG\r\n\x1a\n"


def months_ago(n: int, day: int = 10) -> date:
    """A day `n` full months before the current month (inside the ABC period for 1..12)."""
    first = datetime.now(UTC).date().replace(day=1)
    index = first.year * 12 + first.month - 1 - n
    return date(index // 12, index % 12 + 1, day)


async def world(db: Database) -> None:
    sales = await factories.department(db)
    anna = await factories.staff(db, department_id=sales.id, language="ru", tg_id=ANNA.id)
    await factories.staff(
        db, Role.HEAD, department_id=sales.id, name="Helen", language="en", tg_id=HELEN.id
    )
    await factories.staff(db, Role.DIRECTOR, name="Dina", language="en", tg_id=DINA.id)
    await factories.staff(db, name="Nick", language="en", tg_id=NEWBIE.id)
    now = datetime.now(UTC)
    async with db.uow() as uow:
        manager = await uow.session.get(Manager, anna.id)
        assert manager is not None
        manager.sales_plan = Decimal(10000)
        alfa = Company(name="Alfa", name_key="alfa", curator_id=anna.id, stage="regular", tags=[])
        beta = Company(
            name="Beta",
            name_key="beta",
            curator_id=anna.id,
            stage="one_time",
            tags=[],
            created_at=now - timedelta(days=400),
        )
        uow.session.add_all([alfa, beta])
        await uow.flush()
        for n in (1, 2, 3):
            uow.session.add(
                Sale(company_id=alfa.id, manager_id=anna.id, sold_on=months_ago(n), amount=6000)
            )
        uow.session.add(
            Sale(company_id=beta.id, manager_id=anna.id, sold_on=months_ago(2), amount=1500)
        )
        uow.session.add(
            Sale(company_id=alfa.id, manager_id=anna.id, sold_on=now.date(), amount=2500)
        )
        deal = Deal(
            company_id=alfa.id,
            curator_id=anna.id,
            title="Pumps",
            stage="proposal",
            amount=Decimal(4000),
            probability=50,
            expected_close=now.date() + timedelta(days=20),
        )
        uow.session.add(deal)
        await uow.flush()
        uow.session.add(Inquiry(source="web", manager_id=anna.id, deal_id=deal.id))
        uow.session.add(
            Claim(
                company_id=alfa.id,
                text="broken",
                cause="quality",
                priority="normal",
                due_at=now + timedelta(days=3),
                responsible_id=anna.id,
            )
        )
        await uow.commit()


def photos(harness: Harness, chat_id: int) -> list[bytes]:
    found = []
    for call in harness.stub.calls_of("sendPhoto"):
        if str(call.params.get("chat_id")) == str(chat_id):
            found.extend(call.files.values())
    return found


async def test_menu_depends_on_the_role(harness: Harness) -> None:
    await world(harness.db)
    [menu] = await harness.send(message_update(ANNA, "/report"))
    labels = [b["text"] for row in menu.buttons for b in row]
    assert "ABC" in labels and "XYZ" in labels and "ABC×XYZ" in labels
    assert not any(label in ("Managers", "Менеджеры") for label in labels)
    [head_menu] = await harness.send(message_update(HELEN, "/report"))
    head_labels = [b["text"] for row in head_menu.buttons for b in row]
    assert "Managers" in head_labels and "Forgotten clients" in head_labels
    assert head_menu.text.startswith("<b>Reports</b>") or "Reports" in head_menu.text


async def test_a_button_sends_text_and_a_chart(harness: Harness) -> None:
    await world(harness.db)
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
    await world(harness.db)
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
    assert len(REPORTS) == 10


async def test_one_line_form_and_russian(harness: Harness) -> None:
    await world(harness.db)
    shown = await harness.send(message_update(ANNA, "/report abc; маржа"))
    assert "маржа" in shown[0].text and "Alfa" in shown[0].text
    assert shown[1].method == "sendPhoto"
    shown = await harness.send(message_update(ANNA, "/report funnel"))
    assert "Воронка" in shown[0].text
    [usage] = await harness.send(message_update(DINA, "/report nonsense"))
    assert "/report abc" in usage.text and usage.buttons


async def test_empty_data_and_refusals(harness: Harness) -> None:
    await world(harness.db)
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
