"""The Bot API stand-in behaves like Telegram where the bot's code depends on it."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile

from standins.limits import TelegramLimits
from tests.fixtures.botapi_stub import BotAPIStub


async def test_messages_files_and_errors() -> None:
    async with BotAPIStub() as stub:
        bot = stub.bot()
        try:
            me = await bot.get_me()
            assert me.is_bot and me.username == "chatcrm_test_bot"
            first = await bot.send_message(5, "<b>one</b>")
            second = await bot.send_message(5, "two")
            assert (first.message_id, second.message_id) == (1, 2)
            assert first.text == "<b>one</b>"
            await bot.edit_message_text("one, edited", chat_id=5, message_id=1)
            doc = await bot.send_document(
                5, BufferedInputFile(b"a;b\n1;2\n", "report.csv"), caption="Report"
            )
            assert doc.document is not None
            photo = await bot.send_photo(5, BufferedInputFile(b"\x89PNG", "chart.png"))
            assert photo.photo

            assert stub.texts_to(5) == ["<b>one</b>", "two", "one, edited", "Report", ""]
            assert stub.sent_to(5)[2].message_id == 1
            upload = stub.calls_of("sendDocument")[0]
            assert list(upload.files.values()) == [b"a;b\n1;2\n"]
            assert stub.calls_of("sendMessage")[0].params["parse_mode"] == "HTML"

            stub.fail_next(2, retry_after=3)
            for _ in range(2):
                with pytest.raises(TelegramRetryAfter) as flood:
                    await bot.send_message(5, "too fast")
                assert flood.value.retry_after == 3
            await bot.send_message(5, "later")

            stub.block(6)
            with pytest.raises(TelegramForbiddenError):
                await bot.send_message(6, "hello?")
            assert stub.texts_to(5)[-1] == "later"
        finally:
            await bot.session.close()


async def test_get_updates_long_polls_and_forgets_confirmed_updates() -> None:
    async with BotAPIStub() as stub:
        bot = stub.bot()
        try:
            waiting = asyncio.create_task(bot.get_updates(timeout=2))
            await asyncio.sleep(0.1)
            stub.push_update({"update_id": 500, "message": None})
            updates = await asyncio.wait_for(waiting, 3)
            assert [u.update_id for u in updates] == [500]
            assert await bot.get_updates(offset=501, timeout=0) == []
        finally:
            await bot.session.close()


def test_telegram_limits_per_chat_overall_and_per_group() -> None:
    limits = TelegramLimits(global_per_second=30, chat_per_second=1.0, chat_burst=5)
    # a chat: a burst of 5, then one a second
    assert [limits.admit(7, 0.0) for _ in range(5)] == [None] * 5
    assert limits.admit(7, 0.1) == 1
    assert limits.admit(7, 1.0) is None and limits.admit(7, 1.0) == 1
    # overall: 30 in any second, whichever the chats (the one at 1.0 counts)
    assert [limits.admit(100 + n, 1.5) for n in range(29)] == [None] * 29
    assert limits.admit(999, 1.5) == 1  # the 31st within a second
    assert limits.admit(999, 2.01) is None  # the one at 1.0 is out of the second
    # a group: 20 in any minute, however slowly they come
    group = TelegramLimits(chat_per_second=10.0, chat_burst=20)
    assert [group.admit(-1001, 10.0 + 3 * n) for n in range(20)] == [None] * 20
    assert group.admit(-1001, 69.0) == 1  # the first left at 10.0: free at 70.0
    assert group.admit(-1001, 70.5) is None
    assert group.admit(42, 70.5) is None  # a private chat is not a group


async def test_over_a_limit_it_answers_429_like_telegram() -> None:
    limits = TelegramLimits(chat_per_second=0.1, chat_burst=2)
    async with BotAPIStub(limits=limits) as stub:
        bot = stub.bot()
        try:
            await bot.send_message(5, "one")
            await bot.send_message(5, "two")
            with pytest.raises(TelegramRetryAfter) as flood:
                await bot.send_message(5, "three")
            assert 1 <= flood.value.retry_after <= 10
            await bot.send_message(6, "another chat")  # its own bucket
            await bot.send_chat_action(5, "typing")  # not a message: not counted
        finally:
            await bot.session.close()
        assert [s.text for s in stub.delivered_to(5)] == ["one", "two"]
        [refused] = [c for c in stub.calls if c.status == 429]
        assert refused.params["text"] == "three" and stub.rejected == 1
