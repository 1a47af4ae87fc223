"""What a user reads when a field of theirs is refused, in Russian and in English, through the
real dispatcher: the field's name, then the reason (with examples where a time is not understood).
"""

from __future__ import annotations

from tests.fixtures.bilingual import ANNA, DINA, EMILY, team
from tests.fixtures.bot_harness import Harness
from tests.fixtures.botapi_stub import message_update


async def test_an_unparseable_time_is_answered_with_examples(harness: Harness) -> None:
    h = harness
    await team(h.db)
    [ru] = await h.send(message_update(ANNA, "/event Семинар; когда-нибудь; Зал"))
    assert ru.text == (
        "Не удалось понять «когда-нибудь» как дату и время.\n"
        "Например: 25.04 15:00, завтра в 10:00, в пятницу в 18:00."
    )
    [en] = await h.send(message_update(EMILY, "/event Seminar; some day; Hall"))
    assert en.text == (
        "I could not understand “some day” as a date and time.\n"
        "For example: 25.04 15:00, tomorrow 10:00, next friday 18:00."
    )


async def test_generic_reasons_read_right_after_any_field_in_russian(harness: Harness) -> None:
    h = harness
    await team(h.db)
    [negative] = await h.send(message_update(ANNA, "/deal Ромашка; Поставка; -5"))
    assert negative.text == "Сумма: значение не может быть отрицательным."
    [en] = await h.send(message_update(EMILY, "/deal Romashka; Supply; -5"))
    assert en.text == "Amount: this cannot be negative."
    [empty] = await h.send(message_update(DINA, "/playbook сделка; Новый клиент"))
    assert empty.text == "Шаги: значение не может быть пустым."
    [bounds] = await h.send(message_update(DINA, "/playbook сделка; Новый; позвонить +400"))
    assert bounds.text == "День шага: значение должно быть от 0 до 365."
