"""The dialog engine (handlers/dialog.py): steps that follow from the answers, Back, a press
held to the dialog it names, and the one question asked again for a time that cannot be
taken as written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from bot.i18n import create_i18n
from crm.access import Actor
from crm.errors import Conflict, InvalidInput
from crm.models.enums import Role
from handlers.dialog import Wizard, ask_when_again, ends_if_final
from handlers.words import local_time


class Form(StatesGroup):
    name = State()
    phone = State()
    confirm = State()


class FormCb(CallbackData, prefix="tf"):
    action: str
    at: int = 0


WIZARD = Wizard.linear(
    [
        ("name", Form.name, ("name",)),
        ("phone", Form.phone, ("phone", "tried")),
        ("confirm", Form.confirm, ()),
    ],
    nav=FormCb,
    restart="/form",
)
ACTOR = Actor(id=1, role=Role.MANAGER, department_id=None, timezone="UTC", language="en")


def test_the_step_follows_from_the_answers() -> None:
    assert WIZARD.step_of({}) == "name"
    assert WIZARD.step_of({"name": "Ivan"}) == "phone"
    assert WIZARD.step_of({"name": "Ivan", "phone": None}) == "confirm"  # skipped is answered


def test_back_forgets_the_answer_before_and_what_the_step_kept() -> None:
    assert WIZARD.back({"name": "Ivan", "tried": 2}) == {}
    assert WIZARD.back({"name": "Ivan", "phone": "+7"}) == {"name": "Ivan"}
    assert WIZARD.back({}) == {}  # the first step has nothing before it
    assert WIZARD.states == {Form.name.state, Form.phone.state, Form.confirm.state}


class Question(StatesGroup):
    days = State()


async def test_a_press_is_held_to_the_dialog_it_names() -> None:
    state = FSMContext(MemoryStorage(), StorageKey(bot_id=1, chat_id=5, user_id=5))
    one = Wizard.one("days", Question.days)
    assert await one.current(state) is None  # no dialog
    await one.save(state, {"deal_id": 7})
    assert await one.current(state, {"deal_id": 7}) == {"deal_id": 7}
    assert await one.current(state, {"deal_id": 8}) is None  # a button of another deal's
    assert await WIZARD.current(state) is None  # another dialog's
    assert await one.leave(state, {"deal_id": 8}) is None
    assert await state.get_state() == Question.days.state  # left as it was
    assert await one.leave(state, {"deal_id": 7}) == {"deal_id": 7}
    assert await state.get_state() is None


def at(option: datetime) -> FormCb:
    return FormCb(action="at", at=int(option.timestamp()))


async def test_a_refusal_typing_cannot_change_ends_the_dialog_bad_input_does_not() -> None:
    state = FSMContext(MemoryStorage(), StorageKey(bot_id=1, chat_id=5, user_id=5))
    one = Wizard.one("days", Question.days)
    await one.save(state, {"deal_id": 7})
    with pytest.raises(InvalidInput):
        async with ends_if_final(state):
            raise InvalidInput("deferral_days", "out_of_range", min=0, max=365)
    assert await one.current(state) == {"deal_id": 7}
    with pytest.raises(Conflict):
        async with ends_if_final(state):
            raise Conflict("deal_closed", stage="lost")
    assert await one.current(state) is None


def test_a_time_is_asked_again_with_what_was_wrong() -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        back = [WIZARD.nav_buttons()]
        past = InvalidInput("when", "past", at=datetime(2025, 3, 11, 9, tzinfo=UTC))
        text, markup = ask_when_again(
            ACTOR, past, "yesterday", pick=at, rows=back, after_past="When then?", label=local_time
        )
        assert text.startswith("11.03.2025 09:00 has already passed. When then?\nFor example:")
        assert [b.text for b in markup.inline_keyboard[0]] == ["« Back", "Cancel"]

        text, _markup = ask_when_again(
            ACTOR, InvalidInput("when", "unparsed"), "<soon>", pick=at, rows=back, question="When?"
        )
        assert text.startswith("I could not understand “&lt;soon&gt;” as a date and time.\nWhen?\n")

        options = [datetime(2025, 3, 12, 5, tzinfo=UTC), datetime(2025, 3, 12, 17, tzinfo=UTC)]
        ambiguous = InvalidInput("when", "ambiguous", options=options)
        text, markup = ask_when_again(
            ACTOR, ambiguous, "at 5", pick=at, rows=back, choice_rows=[], label=local_time
        )
        assert text == "“at 5” can mean more than one time. Which one?"
        assert [row[0].text for row in markup.inline_keyboard] == [
            "12.03.2025 05:00",
            "12.03.2025 17:00",
        ]
        assert markup.inline_keyboard[1][0].callback_data == at(options[1]).pack()
