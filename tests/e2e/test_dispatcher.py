"""What the dispatcher does for every handler, driven through it (`dp.feed_update`) with a Bot
pointed at the stand-in: errors become polite messages, inactive staff are strangers, a button
that changes nothing is answered quietly, unhandled text gets a hint, a new command ends a
dialog."""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

import pytest
from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from sqlalchemy import func, select

from bot.app import RedactingFormatter
from crm.errors import AccessDenied, InvalidInput
from crm.models import Company, Manager
from handlers.cards.callbacks import ICONS
from tests.fixtures import factories
from tests.fixtures.bilingual import ANNA, EVA, team_with_client
from tests.fixtures.bot_harness import (
    Harness,
    last_alert,
    person,
    press,
    read_manager,
    replay,
)
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


def _harvested_values() -> dict[type[CallbackData], dict[str, set[str]]]:
    """Every literal the handlers put in each CallbackData field (`DealCb(action="move")`,
    `DealCb.filter(F.action == "won")`): the values a crafted button mixes with odd ones."""
    import handlers

    classes = {cls.__name__: cls for cls in _callback_classes()}
    found: dict[type[CallbackData], dict[str, set[str]]] = {c: {} for c in classes.values()}
    root = Path(handlers.__file__).parent
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"\b(\w+Cb)(?:\.filter)?\(([^()]*(?:\([^()]*\)[^()]*)*)\)", source):
            cls = classes.get(call[1])
            if cls is None:
                continue
            for field, value in re.findall(r"(?:F\.)?(\w+)\s*(?:=|==)\s*\"([^\"]*)\"", call[2]):
                found[cls].setdefault(field, set()).add(value)
    return found


def _callback_classes() -> list[type[CallbackData]]:
    import bot.app  # noqa: F401  (imports every area, so every CallbackData class exists)

    seen: list[type[CallbackData]] = []
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in seen if c.__module__.startswith(("handlers", "bot"))]


def _crafted(cls: type[CallbackData], known: dict[str, set[str]], an_id: int) -> set[str]:
    """Packed callbacks of `cls`: each known value of each text field with every other text
    field set to a value nobody sends, ids of a real row, and a non-number in each text field
    that a handler might read as a number."""
    fields = cls.model_fields
    texts = [name for name, f in fields.items() if f.annotation in (str, "str")]
    base: dict[str, object] = {}
    for name, f in fields.items():
        if f.annotation in (int, "int"):
            base[name] = an_id
        elif f.annotation in (str, "str"):
            base[name] = "zz"
        elif f.annotation in (int | None, "int | None"):
            base[name] = an_id
        else:
            base[name] = f.default
    packed: set[str] = set()
    for name in texts:
        kinds = set(ICONS) if name == "kind" else set()  # co | ct | dl, named by constants
        for value in known.get(name, set()) | kinds | {"zz", "-1", "1"}:
            values = {**base, name: value}
            for other in texts:
                for odd in ("zz", "1x", ""):
                    if other != name:
                        values = {**values, other: odd}
                    with contextlib.suppress(ValueError):
                        data = cls(**values).pack()
                        if len(data.encode()) <= 64:
                            packed.add(data)
    return packed


async def test_no_crafted_button_makes_the_bot_fail(harness: Harness) -> None:
    """Buttons of every kind with unknown words and non-numbers where values go (the tester's
    `logw:dl:1` crashed the log dialog): each gets a polite answer, never "Something went
    wrong"."""
    h = harness
    people = await team_with_client(h.db)
    known = _harvested_values()
    crafted = sorted(
        data
        for cls in _callback_classes()
        for data in _crafted(cls, known.get(cls, {}), people.company.id)
    )
    assert "logw:dl:1" in crafted and len(crafted) > 300
    await h.send(replay(ANNA, f"logw:dl:{people.company.id}"))
    assert last_alert(h) == "Не найдено, или у вас нет к этому доступа."
    failed = []
    for user in (ANNA, EVA):
        for data in crafted:
            shown = await h.send(replay(user, data))
            said = [s.text for s in shown] + [last_alert(h)]
            if any("went wrong" in text or "пошло не так" in text for text in said):
                failed.append((user.first_name, data))
    assert failed == []
