"""/invite, /team and /reassign through the real dispatcher."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm.access import Actor
from crm.models import Company, Deal, Invite, Manager, Task, utcnow
from crm.models.enums import Role
from crm.services import companies, deals
from crm.services.companies import CompanyInput
from crm.services.deals import DealInput
from crm.storage import Database
from handlers.team import ReassignCb
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness
from tests.fixtures.botapi_stub import BOT_USERNAME, TgUser, callback_update, message_update, press
from tests.fixtures.queries import count

HEAD = TgUser(8201, "Olga", language_code="en")
DIRECTOR = TgUser(8202, "Dima", language_code="en")
ANNA = TgUser(8203, "Anna", username="anna_k", language_code="en")
BORIS = TgUser(8204, "Boris", language_code="en")
REFUSAL = "Only heads of department and directors can do this."


async def team(db: Database) -> dict[str, int]:
    sales = await factories.department(db, "Sales")
    other = await factories.department(db, "Other")
    ids = {"sales": sales.id, "other": other.id}
    for user, role, dept in (
        (HEAD, Role.HEAD, sales.id),
        (DIRECTOR, Role.DIRECTOR, None),
        (ANNA, Role.MANAGER, sales.id),
        (BORIS, Role.MANAGER, sales.id),
    ):
        actor = await factories.staff(db, role, dept, user.first_name, tg_id=user.id)
        ids[user.first_name] = actor.id
    async with db.uow() as uow:
        anna = await uow.session.get(Manager, ids["Anna"])
        assert anna is not None
        anna.username = "anna_k"
        await uow.commit()
    outsider = await factories.staff(db, Role.MANAGER, other.id, "Zoe")
    ids["Zoe"] = outsider.id
    return ids


def alert(h: Harness) -> str:
    return str(h.stub.calls_of("answerCallbackQuery")[-1].params.get("text", ""))


# --- /invite ------------------------------------------------------------------------------------


async def test_invite_links_by_role(harness: Harness) -> None:
    h = harness
    ids = await team(h.db)
    [no] = await h.send(message_update(ANNA, "/invite manager"))
    assert no.text == REFUSAL
    [menu] = await h.send(message_update(HEAD, "/invite"))
    assert menu.text == "Whom do you invite?"
    assert [b["text"] for row in menu.buttons for b in row] == ["Manager"]
    [link] = await h.send(press(HEAD, menu, "Manager"))
    async with h.db.uow() as uow:
        invite = (await uow.session.scalars(select(Invite))).one()
    assert (invite.role, invite.department_id, invite.created_by_id) == (
        "manager",
        ids["sales"],
        ids["Olga"],
    )
    expires = invite.expires_at.astimezone(ZoneInfo("Europe/Moscow")).strftime("%d.%m.%Y %H:%M")
    assert link.text == (
        "An invite for a manager. Send this link to your colleague: it works once, "
        f"until {expires}.\n\nhttps://t.me/{BOT_USERNAME}?start={invite.code}"
    )
    [head_only] = await h.send(message_update(HEAD, "/invite director"))
    assert head_only.text == "You can invite: manager."
    # a replayed button for a role the head may not invite is refused by the service
    await h.send(callback_update(HEAD, "iv:director"))
    assert alert(h) == "Not found, or you have no access to it."
    assert await count(h.db, Invite) == 1

    [dm] = await h.send(message_update(DIRECTOR, "/invite"))
    assert [b["text"] for row in dm.buttons for b in row] == [
        "Manager",
        "Head of department",
        "Director",
    ]
    [ru] = await h.send(message_update(DIRECTOR, "/invite руководитель; other"))
    assert ru.text.startswith("An invite for a head of department.")
    [bad] = await h.send(message_update(DIRECTOR, "/invite boss 🔥"))
    assert bad.text == "Role: this must be one of: manager, head, director."
    [nowhere] = await h.send(message_update(DIRECTOR, "/invite manager; Marketing"))
    assert nowhere.text == "Department: nothing like this was found."
    async with h.db.uow() as uow:
        rows = (await uow.session.execute(select(Invite.role, Invite.department_id))).all()
    assert sorted(rows) == [("head", ids["other"]), ("manager", ids["sales"])]
    await h.send(callback_update(ANNA, "iv:manager"))
    assert alert(h) == "Not found, or you have no access to it."
    assert await count(h.db, Invite) == 2


# --- /team --------------------------------------------------------------------------------------


async def test_team_figures_in_one_view(harness: Harness) -> None:
    h = harness
    ids = await team(h.db)
    async with h.db.uow() as uow:
        actors = {m.name: m for m in await uow.session.scalars(select(Manager))}
    anna, zoe = Actor.of(actors["Anna"]), Actor.of(actors["Zoe"])
    company = await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))
    for amount in (100, 250):
        await deals.open(h.db.uow(), anna, DealInput(company.id, "D", amount=amount))
    won = await deals.open(h.db.uow(), anna, DealInput(company.id, "W", amount=999))
    await deals.move(h.db.uow(), anna, won.id, "won")
    zoe_co = await companies.create(h.db.uow(), zoe, CompanyInput(name="Far"))
    await deals.open(h.db.uow(), zoe, DealInput(zoe_co.id, "Z", amount=7))
    now = utcnow()
    async with h.db.uow() as uow:
        for due, status, who in (
            (now - timedelta(days=1), "open", ids["Anna"]),
            (now - timedelta(hours=1), "open", ids["Anna"]),
            (now - timedelta(days=1), "done", ids["Anna"]),
            (now + timedelta(days=1), "open", ids["Boris"]),
            (now - timedelta(days=1), "open", ids["Zoe"]),
        ):
            uow.session.add(Task(title="t", due_at=due, status=status, assignee_id=who))
        await uow.commit()

    [view] = await h.send(message_update(HEAD, "/team"))
    assert view.text.splitlines() == [
        "<b>Your team: 3</b>",
        "Anna (manager) — open deals: 2 for 350.00; overdue tasks: 2",
        "Boris (manager) — open deals: 0 for 0.00; overdue tasks: 0",
        "Olga (head of department) — open deals: 0 for 0.00; overdue tasks: 0",
    ]
    [no] = await h.send(message_update(BORIS, "/team"))
    assert no.text == REFUSAL
    await h.send(callback_update(BORIS, "tm:0"))
    assert alert(h) == "Not found, or you have no access to it."

    # the director sees everyone, paged
    for n in range(5):
        await factories.staff(h.db, Role.MANAGER, ids["other"], f"Y{n}")
    [page] = await h.send(message_update(DIRECTOR, "/team"))
    lines = page.text.splitlines()
    assert lines[0] == "<b>All staff: 10</b>" and len(lines) == 9
    assert "Zoe (manager) — open deals: 1 for 7.00; overdue tasks: 1" not in lines
    assert [b["text"] for b in page.buttons[0]] == ["1/2", "»"]
    [page2] = await h.send(press(DIRECTOR, page, "»"))
    assert page2.text.splitlines()[1:] == [
        "Y4 (manager) — open deals: 0 for 0.00; overdue tasks: 0",
        "Zoe (manager) — open deals: 1 for 7.00; overdue tasks: 1",
    ]


# --- /reassign ----------------------------------------------------------------------------------


async def clients_of(db: Database, manager_id: int) -> list[str]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(Company.name).where(Company.curator_id == manager_id).order_by(Company.name)
        )
        return list(rows)


async def test_reassign_on_one_line(harness: Harness) -> None:
    h = harness
    ids = await team(h.db)
    async with h.db.uow() as uow:
        anna = Actor.of(await uow.session.get(Manager, ids["Anna"]))  # type: ignore[arg-type]
    company = await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))
    await companies.create(h.db.uow(), anna, CompanyInput(name="Lutik"))
    await deals.open(h.db.uow(), anna, DealInput(company.id, "Pumps", amount=10))

    [no] = await h.send(message_update(ANNA, "/reassign Anna; Boris"))
    assert no.text == REFUSAL
    for text, answer in (
        ("/reassign Anna", "Write <code>/reassign from; to</code>"),
        ("/reassign Nobody; Boris", "Manager: nobody called “Nobody” in your team."),
        ("/reassign Zoe; Boris", "Manager: nobody called “Zoe” in your team."),
        ("/reassign Anna; anna", "Manager: this is the same person."),
        ("/reassign 🔥; Boris", "Manager: nobody called “🔥” in your team."),
        ("/reassign " + "A" * 300 + "; Boris", "Manager: this is too long"),
    ):
        [reply] = await h.send(message_update(HEAD, text))
        assert reply.text.startswith(answer), (text, reply.text)
    assert await clients_of(h.db, ids["Anna"]) == ["Lutik", "Romashka"]

    [sure] = await h.send(message_update(HEAD, "/reassign @anna_k; bor"))
    assert sure.text == (  # what moves is counted before anything moves
        "Hand all clients of Anna to Boris?\n"
        "Companies: 2, contacts: 0, open deals: 1, open tasks: 0."
    )
    assert await clients_of(h.db, ids["Anna"]) == ["Lutik", "Romashka"]
    [done] = await h.send(press(HEAD, sure, "Hand over"))
    assert done.text == (
        "Done: the clients of Anna now belong to Boris.\n"
        "Companies: 2, contacts: 0, open deals: 1, open tasks: 0."
    )
    assert await clients_of(h.db, ids["Boris"]) == ["Lutik", "Romashka"]
    async with h.db.uow() as uow:
        assert (await uow.session.scalars(select(Deal.curator_id))).one() == ids["Boris"]


async def test_reassign_with_buttons_and_replays(harness: Harness) -> None:
    h = harness
    ids = await team(h.db)
    async with h.db.uow() as uow:
        anna = Actor.of(await uow.session.get(Manager, ids["Anna"]))  # type: ignore[arg-type]
    await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))

    # a manager replaying the head's final button is refused; nothing moves
    replay = ReassignCb(action="ok", from_id=ids["Anna"], to_id=ids["Boris"]).pack()
    await h.send(callback_update(BORIS, replay))
    assert alert(h) == "Not found, or you have no access to it."
    assert await clients_of(h.db, ids["Anna"]) == ["Romashka"]

    [who] = await h.send(message_update(HEAD, "/reassign"))
    assert who.text == "Whose clients do you hand over?"
    names = [b["text"] for row in who.buttons for b in row]
    assert names == ["Anna · companies: 1", "Boris · companies: 0", "Olga · companies: 0", "Cancel"]
    [to] = await h.send(press(HEAD, who, "Anna"))
    assert to.text == "To whom do the clients of Anna go?"
    assert [b["text"] for row in to.buttons for b in row] == [
        "Boris · companies: 0",
        "Olga · companies: 0",
        "Cancel",
    ]
    [sure] = await h.send(press(HEAD, to, "Boris"))
    assert sure.text == (
        "Hand all clients of Anna to Boris?\n"
        "Companies: 1, contacts: 0, open deals: 0, open tasks: 0."
    )
    [bye] = await h.send(press(HEAD, sure, "Cancel"))
    assert bye.text == "Cancelled. Nothing was saved."
    assert await clients_of(h.db, ids["Anna"]) == ["Romashka"]
    [done] = await h.send(press(HEAD, sure, "Hand over"))
    assert done.text.startswith("Done: the clients of Anna now belong to Boris.")
    assert await clients_of(h.db, ids["Boris"]) == ["Romashka"]
    # a head of another department cannot move people of this one
    other_head = TgUser(8299, "Pavel", language_code="en")
    await factories.staff(h.db, Role.HEAD, ids["other"], "Pavel", tg_id=other_head.id)
    back = ReassignCb(action="ok", from_id=ids["Boris"], to_id=ids["Zoe"]).pack()
    await h.send(callback_update(other_head, back))
    assert alert(h) == "Not found, or you have no access to it."
    assert await clients_of(h.db, ids["Boris"]) == ["Romashka"]


async def test_reassign_tolerates_a_typo_and_speaks_russian(harness: Harness) -> None:
    h = harness
    ids = await team(h.db)
    async with h.db.uow() as uow:
        boris = await uow.session.get(Manager, ids["Boris"])
        assert boris is not None
        boris.name = "Boris Emilianov"
        await uow.commit()
        anna = Actor.of(await uow.session.get(Manager, ids["Anna"]))  # type: ignore[arg-type]
    await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))
    # a letter missing from each name, as /find forgives
    [sure] = await h.send(message_update(HEAD, "/reassign Ana; Boris Emlianov"))
    assert sure.text == (
        "Hand all clients of Anna to Boris Emilianov?\n"
        "Companies: 1, contacts: 0, open deals: 0, open tasks: 0."
    )
    assert await clients_of(h.db, ids["Anna"]) == ["Romashka"]
    ru = TgUser(8290, "Dasha", language_code="en")  # her stored language is Russian
    await factories.staff(h.db, Role.DIRECTOR, None, "Dasha", language="ru", tg_id=ru.id)
    [who] = await h.send(message_update(ru, "/reassign"))
    assert [b["text"] for row in who.buttons for b in row][:2] == [
        "Anna · компаний: 1",
        "Boris Emilianov · компаний: 0",
    ]
    [sure] = await h.send(message_update(ru, "/reassign Anna; Boris"))
    assert sure.text == (
        "Передать всех клиентов Anna куратору Boris Emilianov?\n"
        "Компаний: 1, контактов: 0, открытых сделок: 0, открытых задач: 0."
    )
