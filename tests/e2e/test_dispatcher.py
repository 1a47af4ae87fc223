"""What the dispatcher does for every handler, driven through it (`dp.feed_update`) with a Bot
pointed at the stand-in: errors become polite messages, inactive staff are strangers, a button
that changes nothing is answered quietly, unhandled text gets a hint, a new command ends a
dialog."""

from __future__ import annotations

import logging

import pytest
from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy import func, select

from bot.app import RedactingFormatter
from crm.errors import AccessDenied, InvalidInput
from crm.models import Company, Manager
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness, person, press, read_manager
from tests.fixtures.botapi_stub import TgUser, callback_update, message_update

OLGA = TgUser(7001, "Olga", language_code="ru")


def failing_router() -> Router:
    router = Router(name="failing")

    @router.message(Command("phone"))
    async def bad_phone(message: Message) -> None:
        raise InvalidInput("phone", "invalid")

    @router.message(Command("long"))
    async def too_long(message: Message) -> None:
        raise InvalidInput("name", "too_long", max=200)

    @router.message(Command("peek"))
    async def peek(message: Message) -> None:
        raise AccessDenied("company")

    @router.message(Command("boom"))
    async def boom(message: Message, bot: Bot) -> None:
        raise RuntimeError(f"could not reach /bot{bot.token}/sendMessage")

    @router.callback_query(F.data == "peek")
    async def peek_button(callback: CallbackQuery) -> None:
        raise AccessDenied("deal")

    return router


async def test_errors_become_polite_messages_in_the_users_language(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    h.dp.include_router(failing_router())
    h.dp.sub_routers.insert(0, h.dp.sub_routers.pop())  # before the fallback, which is last
    anna = TgUser(7002, "Anna", language_code="en")
    await person(h.db, OLGA)
    await factories.staff(h.db, name="Anna", language="en", tg_id=anna.id)

    assert [s.text for s in await h.send(message_update(anna, "/phone"))] == [
        "Phone: this does not look like a phone number."
    ]
    assert [s.text for s in await h.send(message_update(OLGA, "/phone"))] == [
        "Телефон: это не похоже на номер телефона."
    ]
    assert [s.text for s in await h.send(message_update(OLGA, "/long"))] == [
        "Название: слишком длинно (не больше 200 символов)."
    ]
    assert [s.text for s in await h.send(message_update(anna, "/peek"))] == [
        "Not found, or you have no access to it."
    ]
    await h.send(callback_update(anna, "peek"))
    last = h.stub.calls_of("answerCallbackQuery")[-1].params
    assert (last["text"], last["show_alert"]) == ("Not found, or you have no access to it.", True)

    # a crafted button is checked by the service, and answered as an alert
    await h.send(callback_update(OLGA, "st:lang:de"))
    last = h.stub.calls_of("answerCallbackQuery")[-1].params
    assert last["text"] == "Язык: допустимые значения: ru, en."
    assert (await read_manager(h.db, OLGA.id)).language == "ru"

    with caplog.at_level(logging.ERROR, logger="chatcrm.bot"):
        assert [s.text for s in await h.send(message_update(anna, "/boom"))] == [
            "Something went wrong, nothing was changed."
        ]
    [record] = [r for r in caplog.records if r.name == "chatcrm.bot"]
    assert record.exc_info is not None
    formatted = RedactingFormatter([h.bot.token], "%(message)s").format(record)
    assert "RuntimeError" in formatted and "Traceback" in formatted
    assert h.bot.token not in formatted


async def test_inactive_manager_is_a_stranger(harness: Harness) -> None:
    h = harness
    await person(h.db, OLGA)
    async with h.db.uow() as uow:
        manager = await read_manager(h.db, OLGA.id)
        record = await uow.session.get(Manager, manager.id)
        assert record is not None
        record.active = False
        await uow.commit()
    [answer] = await h.send(message_update(OLGA, "/settings"))
    assert answer.text.startswith("Этот бот только для сотрудников.")


async def test_a_button_that_changes_nothing_is_answered_quietly(harness: Harness) -> None:
    h = harness
    await person(h.db, OLGA)
    [menu] = await h.send(message_update(OLGA, "/settings"))
    # the language it already has: the same menu again, which Telegram refuses as "not modified"
    shown = await h.send(press(OLGA, menu, "Русский"))
    assert [s.method for s in shown] == ["editMessageText"]
    assert h.stub.calls_of("answerCallbackQuery"), "the button's spinner must be stopped"
    assert all(not c.params.get("show_alert") for c in h.stub.calls_of("answerCallbackQuery"))
    assert h.stub.calls_of("sendMessage")[-1].params["text"] == menu.text  # no error message


async def test_what_no_handler_takes_gets_a_hint(harness: Harness) -> None:
    h = harness
    anna = TgUser(7003, "Anna", language_code="en")
    await factories.staff(h.db, name="Anna", language="en", tg_id=anna.id)
    [unknown] = await h.send(message_update(anna, "/frobnicate"))
    assert unknown.text == "I do not know this command. /help lists what I can do."
    [chatter] = await h.send(message_update(anna, "hello there"))
    assert chatter.text.startswith("I did not understand.")
    await h.send(callback_update(anna, "zz:stale:1"))
    last = h.stub.calls_of("answerCallbackQuery")[-1].params
    assert last["text"] == "This button is out of date. Run the command again."


async def test_a_new_command_abandons_the_dialog_in_progress(harness: Harness) -> None:
    h = harness
    await person(h.db, OLGA)
    [question] = await h.send(message_update(OLGA, "/company"))
    assert question.text  # the dialog asks for the name
    await h.send(message_update(OLGA, "/help"))
    # the old dialog is gone: a plain text is not taken as the company's name
    [answer] = await h.send(message_update(OLGA, "Ромашка"))
    assert answer.text.startswith("Не понял")
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Company)) == 0
