"""/settings (language, timezone, digest time) through the real dispatcher: buttons, typed
values and the one-line form."""

from __future__ import annotations

from datetime import time

from crm.models.enums import Role
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness, labels, person, press, read_manager
from tests.fixtures.botapi_stub import TgUser, message_update

OLGA = TgUser(7001, "Olga", language_code="ru")


async def test_settings_dialog_with_buttons_and_typed_values(harness: Harness) -> None:
    h = harness
    await person(h.db, OLGA, Role.HEAD)
    [menu] = await h.send(message_update(OLGA, "/settings"))
    assert "Часовой пояс: Europe/Moscow (UTC+3)" in menu.text

    [zones] = await h.send(press(OLGA, menu, "Часовой пояс"))
    assert zones.text == "Выберите часовой пояс:"
    [saved] = await h.send(press(OLGA, zones, "Almaty"))
    assert "Asia/Almaty" in saved.text
    assert h.stub.alerts()[-1] == "Часовой пояс: Asia/Almaty. Сохранено."
    assert (await read_manager(h.db, OLGA.id)).timezone == "Asia/Almaty"

    [times] = await h.send(press(OLGA, saved, "Время сводки"))
    [after] = await h.send(press(OLGA, times, "08:00"))
    assert "Ежедневная сводка: 08:00" in after.text
    assert (await read_manager(h.db, OLGA.id)).digest_time == time(8, 0)

    # typing a timezone: a wrong one is explained and the dialog waits for another
    [zones] = await h.send(press(OLGA, after, "Часовой пояс"))
    [prompt] = await h.send(press(OLGA, zones, "Другое"))
    assert prompt.text.startswith("Пришлите название часового пояса")
    [wrong] = await h.send(message_update(OLGA, "Mars/Olympus"))
    assert wrong.text == (
        "Часовой пояс: такого часового пояса или города я не знаю, "
        "попробуйте, например, Europe/Moscow или Москва."
    )
    [right] = await h.send(message_update(OLGA, "America/Sao_Paulo"))
    assert right.text.startswith("Часовой пояс: America/Sao_Paulo. Сохранено.")
    assert (await read_manager(h.db, OLGA.id)).timezone == "America/Sao_Paulo"
    # the dialog is over: plain text is no longer taken as a timezone
    [hint] = await h.send(message_update(OLGA, "Europe/Paris"))
    assert hint.text.startswith("Не понял")
    assert (await read_manager(h.db, OLGA.id)).timezone == "America/Sao_Paulo"

    # all at once on one line, confirmed in the new language
    [line] = await h.send(message_update(OLGA, "/settings en; Asia/Tokyo; 7:45"))
    assert line.text.startswith("Saved.\n\n<b>Settings</b>\nLanguage: English")
    manager = await read_manager(h.db, OLGA.id)
    assert (manager.language, manager.timezone, manager.digest_time) == (
        "en",
        "Asia/Tokyo",
        time(7, 45),
    )
    [bad] = await h.send(message_update(OLGA, "/settings 31:99"))
    assert bad.text == "Digest time: write the time as HH:MM, e.g. 09:30."


async def test_a_timezone_in_any_case_or_as_a_city_and_a_cancel(harness: Harness) -> None:
    h = harness
    await person(h.db, OLGA)
    anna = TgUser(7002, "Anna", language_code="en")
    await factories.staff(h.db, name="Anna", language="en", tg_id=anna.id)
    [menu] = await h.send(message_update(anna, "/settings"))
    [zones] = await h.send(press(anna, menu, "Timezone"))
    [prompt] = await h.send(press(anna, zones, "Other"))
    assert prompt.text == (
        "Send the name of your timezone or your city, e.g. Europe/Moscow or Almaty."
    )
    assert labels(prompt) == ["✖ Cancel"]
    [saved] = await h.send(message_update(anna, "asia/almaty"))
    assert saved.text.startswith("Timezone: Asia/Almaty. Saved.")
    for typed, zone in [("Moscow", "Europe/Moscow"), ("new york", "America/New_York")]:
        await h.send(message_update(anna, f"/settings {typed}"))
        assert (await read_manager(h.db, anna.id)).timezone == zone
    [ru] = await h.send(message_update(OLGA, "/settings Екатеринбург"))
    assert "Часовой пояс: Asia/Yekaterinburg" in ru.text
    await h.send(message_update(OLGA, "/settings питер"))
    assert (await read_manager(h.db, OLGA.id)).timezone == "Europe/Moscow"
    # Cancel ends the question: nothing changes, and text is no longer a timezone
    [zones] = await h.send(press(anna, menu, "Timezone"))
    [prompt] = await h.send(press(anna, zones, "Other"))
    [cancelled] = await h.send(press(anna, prompt, "Cancel"))
    assert cancelled.text == "Cancelled. Nothing was saved."
    await h.send(message_update(anna, "Asia/Tokyo"))
    assert (await read_manager(h.db, anna.id)).timezone == "America/New_York"


async def test_a_manager_has_no_digest_time_to_set(harness: Harness) -> None:
    h = harness
    await person(h.db, OLGA)  # a manager: the daily digest goes to heads and directors
    [menu] = await h.send(message_update(OLGA, "/settings"))
    assert "Часовой пояс" in menu.text and "сводка" not in menu.text.lower()
    assert not any("сводк" in text.lower() for row in menu.buttons for text in row_texts(row))


def row_texts(row: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [button["text"] for button in row]
