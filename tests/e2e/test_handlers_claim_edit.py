"""✏ Edit on a claim card (issue 10), the cause of a one-line /claim and the open claims of
a company card (issue 12), through the real dispatcher, in Russian and English."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from crm.models import Claim
from crm.services import companies
from crm.services.companies import CompanyInput
from crm.storage import Database
from handlers.cards.callbacks import CardCb
from handlers.claims.callbacks import ClaimCb
from handlers.claims.edit import ClaimEditCb
from tests.fixtures.bilingual import ANNA, BORIS, EMILY, HELEN, team_with_client
from tests.fixtures.bot_harness import Harness, labels, press, replay
from tests.fixtures.botapi_stub import message_update
from tests.fixtures.claim_cards import file
from tests.fixtures.claims import written
from tests.fixtures.queries import count


async def read_claim(db: Database, claim_id: int) -> Claim:
    async with db.uow() as uow:
        claim = await uow.session.get(Claim, claim_id)
        assert claim is not None
        return claim


async def test_a_manager_changes_the_cause_and_raises_the_priority(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    claim_id = await file(h.db, w.anna, w.company.id)
    [card] = await h.send(replay(ANNA, ClaimCb(action="open", claim_id=claim_id).pack()))
    assert "✏ Изменить" in labels(card)
    [what] = await h.send(press(ANNA, card, "✏ Изменить"))
    assert what.method == "editMessageText"
    assert what.text.endswith("Что изменить?")
    assert "Причина: Другое" in what.text and "Приоритет: 🔵 обычный" in what.text
    assert labels(what) == ["Причина", "Приоритет", "Отмена"]
    [cause] = await h.send(press(ANNA, what, "Причина"))
    assert cause.text.endswith("Новая причина?")
    assert "Другое" not in labels(cause)  # the current cause is not offered
    assert labels(cause)[-2:] == ["« Назад", "Отмена"]
    [card] = await h.send(press(ANNA, cause, "Доставка"))
    assert "Причина: Доставка" in card.text
    assert h.stub.alerts()[-1] == "Причина: Доставка"
    assert (await read_claim(h.db, claim_id)).cause == "delivery"

    # the priority: a manager is offered only higher ones; Back returns to the question
    [what] = await h.send(press(ANNA, card, "✏ Изменить"))
    [prio] = await h.send(press(ANNA, what, "Приоритет"))
    assert labels(prio) == ["🟠 высокий", "🔴 критический", "« Назад", "Отмена"]
    assert "Понизить его может руководитель отдела или директор." in prio.text
    [what] = await h.send(press(ANNA, prio, "Назад"))
    assert what.text.endswith("Что изменить?")
    [prio] = await h.send(press(ANNA, what, "Приоритет"))
    [card] = await h.send(press(ANNA, prio, "критический"))
    assert "Приоритет: 🔴 критический" in card.text
    claim = await read_claim(h.db, claim_id)
    assert claim.priority == "critical"
    assert claim.due_at - claim.created_at == timedelta(days=1)  # from the filing
    # now urgent: her head hears of it as of an urgent claim filed, in English; not Anna
    [notice] = h.stub.sent_to(HELEN.id)
    assert notice.text.startswith(
        f"⚠ Claim #{claim_id} from <b>Ромашка</b> is now urgent.\nPriority: 🔴 critical\n"
    )
    assert labels(notice) == ["Open the claim"]
    assert not any("срочн" in s.text for s in h.stub.sent_to(ANNA.id))

    # a crafted press to lower it is refused with the reason, nothing written
    [what] = await h.send(press(ANNA, card, "✏ Изменить"))
    await h.send(press(ANNA, what, "Приоритет"))
    before = await written(h.db)
    await h.send(replay(ANNA, ClaimEditCb(action="prio", value="low").pack()))
    assert h.stub.alerts()[-1] == (
        "Понизить приоритет претензии может только руководитель отдела или директор: "
        "это отодвигает срок."
    )
    assert await written(h.db) == before
    assert (await read_claim(h.db, claim_id)).priority == "critical"


async def test_a_head_lowers_the_priority_and_a_closed_claim_is_not_edited(
    harness: Harness,
) -> None:
    h = harness
    w = await team_with_client(h.db)
    claim_id = await file(h.db, w.anna, w.company.id, priority="high")
    [card] = await h.send(replay(HELEN, ClaimCb(action="open", claim_id=claim_id).pack()))
    [what] = await h.send(press(HELEN, card, "✏ Edit"))
    assert labels(what) == ["Cause", "Priority", "Cancel"]
    [prio] = await h.send(press(HELEN, what, "Priority"))
    assert prio.text.endswith(
        "The new priority? The due date follows it, counted from when the claim was filed."
    )
    assert labels(prio) == ["⚪ low", "🔵 normal", "🔴 critical", "« Back", "Cancel"]
    [card] = await h.send(press(HELEN, prio, "low"))
    assert "Priority: ⚪ low" in card.text
    assert h.stub.sent_to(ANNA.id) == []  # lowered: nobody is told
    claim = await read_claim(h.db, claim_id)
    assert claim.due_at - claim.created_at == timedelta(days=14)

    # another department's manager: the same answer as a forged id
    before = await written(h.db)
    await h.send(replay(BORIS, ClaimCb(action="edit", claim_id=claim_id).pack()))
    assert h.stub.alerts()[-1] == "Not found, or you have no access to it."
    # Cancel forgets the dialog and shows the claim's card again, from either step
    [what] = await h.send(press(HELEN, card, "✏ Edit"))
    [cancelled] = await h.send(press(HELEN, what, "Cancel"))
    assert cancelled.method == "editMessageText" and cancelled.message_id == what.message_id
    assert cancelled.text == card.text and "✏ Edit" in labels(cancelled)
    assert h.stub.alerts()[-1] == "Cancelled. Nothing was saved."
    [what] = await h.send(press(HELEN, cancelled, "✏ Edit"))
    [prio] = await h.send(press(HELEN, what, "Priority"))
    [cancelled] = await h.send(press(HELEN, prio, "Cancel"))
    assert cancelled.text == card.text
    await h.send(press(HELEN, prio, "normal"))  # the dialog is over: nothing changes
    assert h.stub.alerts()[-1] == "This dialog is over."
    assert await written(h.db) == before

    # a closed claim: no ✏ Edit, and a crafted one, or a dialog left open, is refused
    [what] = await h.send(press(HELEN, card, "✏ Edit"))
    [cause] = await h.send(press(HELEN, what, "Cause"))
    async with h.db.uow() as uow:
        await uow.session.execute(
            update(Claim).where(Claim.id == claim_id).values(status="rejected")
        )
        await uow.commit()
    reason = (
        "This claim is closed: its cause and priority stay as they were decided. "
        "A head or a director can reopen it first."
    )
    await h.send(press(HELEN, cause, "Billing"))
    assert h.stub.alerts()[-1] == reason
    [closed] = await h.send(replay(HELEN, ClaimCb(action="show", claim_id=claim_id).pack()))
    assert "✏ Edit" not in labels(closed)
    await h.send(replay(HELEN, ClaimCb(action="edit", claim_id=claim_id).pack()))
    assert h.stub.alerts()[-1] == reason
    assert (await read_claim(h.db, claim_id)).cause == "other"


async def test_one_line_claim_guesses_the_cause_or_asks_with_buttons(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    [ask] = await h.send(message_update(ANNA, "/claim Ромашка; Клиент недоволен"))
    assert ask.text.startswith("<b>Новая претензия</b>\nКомпания: Ромашка")
    assert ask.text.endswith("По тексту причину определить не удалось. Какая она?")
    assert labels(ask)[-1] == "Отмена" and "« Назад" not in labels(ask)
    assert labels(ask)[-2] == "Другое"  # "other" is last
    assert await count(h.db, Claim) == 0
    [card] = await h.send(press(ANNA, ask, "Счета и оплата"))
    assert "Причина: Счета и оплата" in card.text
    assert "Клиент недоволен" in card.text

    # in English, the words point to the cause: filed at once
    await companies.create(h.db.uow(), w.emily, CompanyInput(name="Acme"))
    [card] = await h.send(message_update(EMILY, "/claim Acme; The invoice was charged twice"))
    assert "Cause: Billing" in card.text
    [card] = await h.send(message_update(EMILY, "/claim Acme; Delivery is two weeks late"))
    assert "Cause: Delivery" in card.text


async def test_company_card_opens_its_open_claims(harness: Harness) -> None:
    h = harness
    w = await team_with_client(h.db)
    urgent = await file(h.db, w.anna, w.company.id, priority="critical", text="Сломан станок")
    normal = await file(h.db, w.anna, w.company.id, text="Разбиты поддоны")
    [company] = await h.send(replay(ANNA, CardCb(kind="co", id=w.company.id).pack()))
    assert [t for t in labels(company) if "Претензия" in t] == [
        f"🔴 Претензия №{urgent}: Сломан станок",
        f"🔵 Претензия №{normal}: Разбиты поддоны",
    ]
    # listed once, as the buttons that open them (not again in the card's text)
    assert "Сломан станок" not in company.text and "Разбиты поддоны" not in company.text
    [card] = await h.send(press(ANNA, company, f"Претензия №{normal}"))
    assert card.method == "editMessageText"
    assert card.text.startswith(f"<b>Претензия №{normal}</b> — 🏢 Ромашка")
    # the head reads it in English; a manager of another department sees no card at all
    [company] = await h.send(replay(HELEN, CardCb(kind="co", id=w.company.id).pack()))
    assert f"🔴 Claim #{urgent}: Сломан станок" in labels(company)
    await h.send(replay(BORIS, CardCb(kind="co", id=w.company.id).pack()))
    assert h.stub.alerts()[-1] == "Not found, or you have no access to it."
