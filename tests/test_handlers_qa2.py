"""Second QA round (chatcrm shell as a new user): the small things fixed, each checked through
the real dispatcher or the service, in Russian and in English."""

from __future__ import annotations

from sqlalchemy import select

from crm.access import Actor
from crm.models import AuditEntry, Task
from crm.models.enums import Role, TaskStatus
from crm.services import claims, events, playbooks
from crm.services.playbooks import PlaybookInput
from crm.storage import Database
from tests import factories
from tests.bot_harness import Harness
from tests.botapi_stub import Sent, TgUser, message_update, press
from tests.test_events import BASE, NOW, SENDER, company, contact, new_event
from tests.test_handlers_events import future_day

ANNA = TgUser(7701, "Anna", language_code="ru")  # manager, Russian
EMILY = TgUser(7702, "Emily", language_code="en")  # manager, English
HELEN = TgUser(7703, "Helen", language_code="en")  # head, English
DINA = TgUser(7704, "Dina", language_code="ru")  # director, Russian
EVA = TgUser(7705, "Eva", language_code="en")  # director, English


class Staff:
    anna: Actor
    emily: Actor
    helen: Actor
    dina: Actor
    eva: Actor


async def staff(db: Database) -> Staff:
    s = Staff()
    sales = await factories.department(db)
    s.anna = await factories.staff(db, Role.MANAGER, sales.id, "Anna", language="ru", tg_id=ANNA.id)
    s.emily = await factories.staff(
        db, Role.MANAGER, sales.id, "Emily", language="en", tg_id=EMILY.id
    )
    s.helen = await factories.staff(db, Role.HEAD, sales.id, "Helen", language="en", tg_id=HELEN.id)
    s.dina = await factories.staff(db, Role.DIRECTOR, name="Dina", language="ru", tg_id=DINA.id)
    s.eva = await factories.staff(db, Role.DIRECTOR, name="Eva", language="en", tg_id=EVA.id)
    return s


def labels(sent: Sent) -> list[str]:
    return [b["text"] for row in sent.buttons for b in row]


# ---------------------------------------------------------------- error texts


async def test_an_unparseable_time_is_answered_with_examples(harness: Harness) -> None:
    h = harness
    await staff(h.db)
    [ru] = await h.send(message_update(ANNA, "/event Семинар; когда-нибудь; Зал"))
    assert ru.text == (
        "Когда: не удалось понять: напишите, например, «завтра в 15:00», «через 2 часа», "
        "«25.12 10:00»."
    )
    [en] = await h.send(message_update(EMILY, "/event Seminar; some day; Hall"))
    assert en.text == (
        "When: this could not be understood: write e.g. “tomorrow at 15:00”, “in 2 hours”, "
        "“25.12 10:00”."
    )


async def test_generic_reasons_read_right_after_any_field_in_russian(harness: Harness) -> None:
    h = harness
    await staff(h.db)
    [negative] = await h.send(message_update(ANNA, "/deal Ромашка; Поставка; -5"))
    assert negative.text == "Сумма: значение не может быть отрицательным."
    [en] = await h.send(message_update(EMILY, "/deal Romashka; Supply; -5"))
    assert en.text == "Amount: this cannot be negative."
    [empty] = await h.send(message_update(DINA, "/playbook сделка; Новый клиент"))
    assert empty.text == "Шаги: значение не может быть пустым."
    [bounds] = await h.send(message_update(DINA, "/playbook сделка; Новый; позвонить +400"))
    assert bounds.text == "День шага: значение должно быть от 0 до 365."


# ---------------------------------------------------------------- /report and /help by role


async def test_managers_are_not_offered_the_managers_report(harness: Harness) -> None:
    h = harness
    await staff(h.db)
    [usage] = await h.send(message_update(EMILY, "/report nonsense"))
    assert usage.text == (
        "Which report? /report abc | xyz | matrix | funnel | forecast | inquiries | forgotten "
        "| claims | events"
    )
    [usage_ru] = await h.send(message_update(ANNA, "/report чтото"))
    assert "managers" not in usage_ru.text and usage_ru.text.startswith("Какой отчёт?")
    [help_en] = await h.send(message_update(EMILY, "/help"))
    report_line = next(line for line in help_en.text.splitlines() if line.startswith("/report"))
    assert report_line == (
        "/report <i>abc|xyz|matrix|funnel|forecast|inquiries|forgotten|claims</i> — "
        "analytics: ABC, XYZ, funnel, forecast and more, with charts"
    )
    [help_ru] = await h.send(message_update(ANNA, "/help"))
    assert "managers" not in help_ru.text and "менеджеры" not in help_ru.text
    assert "/report <i>abc|xyz|matrix|funnel|forecast|inquiries|forgotten|claims</i>" in (
        help_ru.text
    )
    # heads and directors still see it
    [usage_head] = await h.send(message_update(HELEN, "/report nonsense"))
    assert "| forecast | managers | inquiries" in usage_head.text
    [help_head] = await h.send(message_update(HELEN, "/help"))
    assert "forecast|managers|inquiries" in help_head.text
    assert "forecast, managers and more" in help_head.text
    [help_director] = await h.send(message_update(DINA, "/help"))
    assert "прогноз, менеджеры и другое" in help_director.text


# ---------------------------------------------------------------- /claims_settings order


async def test_claim_causes_are_listed_by_their_shown_name(harness: Harness) -> None:
    h = harness
    await staff(h.db)
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


# ---------------------------------------------------------------- events


async def test_the_all_clients_segment_is_named_for_the_role(harness: Harness) -> None:
    h = harness
    await staff(h.db)
    for user in (EMILY, HELEN, DINA):
        [card] = await h.send(message_update(user, f"/event Seminar; {future_day()} 15:00; Hall"))
        add = "➕ Add invitees" if user.language_code == "en" else "➕ Добавить приглашённых"
        [menu] = await h.send(press(user, card, add))
        first = labels(menu)[0]
        expected = {
            EMILY.id: "All my clients",
            HELEN.id: "All clients you can see",
            DINA.id: "Все доступные вам клиенты",
        }[user.id]
        assert first == expected


async def plan_of(db: Database, event_id: int) -> dict[str, tuple[str, object]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(Task).where(Task.event_id == event_id))
        return {t.title: (t.status, t.done_at) for t in rows}


async def invitees_of(db: Database, actor: Actor) -> None:
    steel = await company(db, actor, "Steel", stage="regular")
    await contact(db, actor, "Ivan", "ivan@steel.example", steel.id)


async def test_sending_invitations_closes_the_built_in_step(db: Database) -> None:
    s = await staff(db)
    await invitees_of(db, s.emily)
    event = (await new_event(db, s.emily)).event
    await events.add_invitees(db.uow(), s.emily, event.id, events.Segment(), now=NOW)
    sent = await events.send_invitations(  # a head sends: the step of Emily's plan
        db.uow(), s.helen, event.id, base_url=BASE, sender=SENDER, now=NOW
    )
    assert sent.queued == 1
    plan = await plan_of(db, event.id)
    assert plan["Send the invitations"][0] == TaskStatus.DONE.value
    assert plan["Send the invitations"][1] is not None
    others = [status for title, (status, _) in plan.items() if title != "Send the invitations"]
    assert others == [TaskStatus.OPEN.value] * 3
    async with db.uow() as uow:
        audit = (
            await uow.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity == "tasks", AuditEntry.action == "update"
                )
            )
        ).one()
    assert audit.actor_id == s.helen.id
    assert audit.changes["status"] == ["open", "done"]
    again = await events.send_invitations(
        db.uow(), s.emily, event.id, base_url=BASE, sender=SENDER, now=NOW
    )
    assert (again.queued, again.already) == (0, 1)  # nothing new, the step stays done


async def test_sending_with_nothing_queued_or_a_playbook_plan_closes_nothing(db: Database) -> None:
    s = await staff(db)
    # Russian built-in plan, but no invitee with an email: no invitation, the step stays open
    event = (await new_event(db, s.anna)).event
    await events.send_invitations(db.uow(), s.anna, event.id, base_url=BASE, sender=SENDER, now=NOW)
    assert (await plan_of(db, event.id))["Разослать приглашения"][0] == TaskStatus.OPEN.value
    await invitees_of(db, s.anna)
    await events.add_invitees(db.uow(), s.anna, event.id, events.Segment(), now=NOW)
    await events.send_invitations(db.uow(), s.anna, event.id, base_url=BASE, sender=SENDER, now=NOW)
    assert (await plan_of(db, event.id))["Разослать приглашения"][0] == TaskStatus.DONE.value
    # a director's own events playbook: its steps are theirs to close
    await playbooks.create(
        db.uow(),
        s.dina,
        PlaybookInput(
            name="Seminar", kind="event", steps=[("Mail the guests", 5)], is_default=True
        ),
    )
    own = (await new_event(db, s.anna, title="Autumn seminar")).event
    await events.add_invitees(db.uow(), s.anna, own.id, events.Segment(), now=NOW)
    sent = await events.send_invitations(
        db.uow(), s.anna, own.id, base_url=BASE, sender=SENDER, now=NOW
    )
    assert sent.queued == 1
    assert await plan_of(db, own.id) == {"Mail the guests": (TaskStatus.OPEN.value, None)}


async def test_the_event_card_counts_the_step_done_after_sending(harness: Harness) -> None:
    h = harness
    s = await staff(h.db)
    await invitees_of(h.db, s.helen)
    [card] = await h.send(message_update(HELEN, f"/event Seminar; {future_day()} 15:00; Hall"))
    assert "Preparation: 0 of 4 tasks done" in card.text
    [menu] = await h.send(press(HELEN, card, "➕ Add invitees"))
    [added] = await h.send(press(HELEN, menu, "All clients you can see"))
    [sent] = await h.send(press(HELEN, added, "✉ Send invitations"))
    assert sent.text.startswith("Invitations queued: 1.")
    assert "Preparation: 1 of 4 tasks done" in sent.text
