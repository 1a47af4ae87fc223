"""The outgoing governor alone: pacing, lanes, retries and blocked chats.

Driven through its middleware entry with a scripted `make_request` (what the Bot API
answers, and when each request left), so that time is what is measured.
"""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import AnswerCallbackQuery, GetMe, SendChatAction, SendMessage
from pydantic import SecretStr

from bot.app import create_bot
from bot.governor import Governor, Lane, Limits, answering, governor_of, lane, paced_chat
from crm.settings import Settings

Script = Callable[[Any], Exception | None]


class FakeAPI:
    """`make_request` for the governor: records (time, method, chat, text), raises what
    the script says for a call (None: success)."""

    def __init__(self, script: Script | None = None, latency: float = 0.0) -> None:
        self.script = script
        self.latency = latency
        self.calls: list[tuple[float, str, Any, str]] = []

    async def __call__(self, bot: Any, method: Any) -> Any:
        self.calls.append(
            (
                time.monotonic(),
                method.__api_method__,
                getattr(method, "chat_id", None),
                getattr(method, "text", ""),
            )
        )
        if self.latency:
            await asyncio.sleep(self.latency)
        error = self.script(method) if self.script else None
        if error is not None:
            raise error
        return len(self.calls)

    def texts(self, chat: Any) -> list[str]:
        return [text for _t, _m, c, text in self.calls if c == chat]


def send(governor: Governor, api: FakeAPI, chat: Any, text: str) -> Any:
    return governor(api, None, SendMessage(chat_id=chat, text=text))  # type: ignore[arg-type]


def failing(times: int, make: Callable[[Any], Exception]) -> Script:
    left = [times]

    def script(method: Any) -> Exception | None:
        if left[0] > 0:
            left[0] -= 1
            return make(method)
        return None

    return script


def test_which_calls_are_paced() -> None:
    assert paced_chat(SendMessage(chat_id=5, text="x")) == 5
    assert paced_chat(SendMessage(chat_id="@news", text="x")) == "@news"
    assert paced_chat(SendChatAction(chat_id=5, action="typing")) is None
    assert paced_chat(AnswerCallbackQuery(callback_query_id="1")) is None
    assert paced_chat(GetMe()) is None


async def test_overall_rate_and_per_chat_bucket_and_order() -> None:
    governor = Governor(Limits(rate=100, headroom=1.0, chat_interval=0.1, chat_burst=2))
    api = FakeAPI()
    started = time.monotonic()
    await asyncio.gather(*[send(governor, api, chat, "x") for chat in range(1, 61)])
    assert time.monotonic() - started >= 0.58  # 60 messages at 100/s
    stamps = [c[0] for c in api.calls]
    busiest = max(sum(1 for t in stamps if start <= t < start + 0.2) for start in stamps)
    assert busiest <= 22  # never more than the rate in any window (+ a slot of jitter)

    api.calls.clear()
    await asyncio.gather(*[send(governor, api, 999, f"m{i}") for i in range(6)])
    times = [c[0] for c in api.calls]
    assert api.texts(999) == [f"m{i}" for i in range(6)]  # in order
    assert times[-1] - times[0] >= 0.39  # a burst of 2, then one per 0.1 s


async def test_a_group_gets_its_messages_per_window() -> None:
    governor = Governor(Limits.fast(group_per_minute=3, group_window=0.5, group_margin=0.0))
    api = FakeAPI()
    started = time.monotonic()
    await asyncio.gather(*[send(governor, api, -100123, f"g{i}") for i in range(7)])
    times = [c[0] - started for c in api.calls]
    assert api.texts(-100123) == [f"g{i}" for i in range(7)]
    assert times[2] < 0.1 and 0.5 <= times[3] < 0.7 and times[6] >= 1.0  # 3 per 0.5 s
    # a private chat next to it is not held back
    await asyncio.wait_for(send(governor, api, 42, "private"), 0.2)


async def test_429_waits_retry_after_and_keeps_the_chats_order() -> None:
    governor = Governor(Limits.fast())
    api = FakeAPI(failing(1, lambda m: TelegramRetryAfter(m, "Too Many Requests", 1)))
    started = time.monotonic()
    results = await asyncio.gather(*[send(governor, api, 7, f"m{i}") for i in range(3)])
    assert time.monotonic() - started >= 1.0
    assert api.texts(7) == ["m0", "m0", "m1", "m2"]  # the first retried in its place
    assert len(results) == 3 and governor.stats.retry_after == 1 and governor.stats.sent == 3


async def test_429_of_a_fanout_pauses_the_fanouts_but_not_the_answers() -> None:
    governor = Governor(Limits.fast())
    api = FakeAPI(failing(1, lambda m: TelegramRetryAfter(m, "Too Many Requests", 1)))
    with lane(Lane.FANOUT):
        first = asyncio.ensure_future(send(governor, api, 1, "fan 1"))
        await asyncio.sleep(0.05)  # it got the 429: the fan-out lane waits a second
        second = asyncio.ensure_future(send(governor, api, 2, "fan 2"))
    with answering(3):
        started = time.monotonic()
        await send(governor, api, 3, "answer")
        assert time.monotonic() - started < 0.3
    await asyncio.gather(first, second)
    order = [text for _t, _m, _c, text in api.calls]
    assert order.index("answer") < order.index("fan 2")
    assert api.calls[-1][0] - api.calls[0][0] >= 1.0


async def test_network_errors_and_5xx_back_off_then_give_up_at_the_deadline() -> None:
    governor = Governor(Limits.fast(backoff=0.05))
    flaky = FakeAPI(failing(2, lambda m: TelegramNetworkError(m, "ClientConnectorError")))
    assert await send(governor, flaky, 1, "a") == 3
    assert flaky.calls[2][0] - flaky.calls[0][0] >= 0.15  # 0.05 then 0.1
    assert governor.stats.network_retries == 2

    down = Governor(Limits.fast(backoff=0.05, max_backoff=0.05, deadline=0.3))
    dead = FakeAPI(lambda m: TelegramServerError(m, "Bad Gateway"))
    with pytest.raises(TelegramServerError):
        await send(down, dead, 1, "a")
    assert 4 <= len(dead.calls) <= 8 and down.stats.gave_up == 1
    assert down.reachable is False


async def test_429_is_waited_out_only_up_to_the_deadline() -> None:
    governor = Governor(Limits.fast(deadline=2.5))
    flood = FakeAPI(lambda m: TelegramRetryAfter(m, "Too Many Requests", 1))
    started = time.monotonic()
    with pytest.raises(TelegramRetryAfter):
        await send(governor, flood, 1, "a")
    # waited 1 s twice; a third wait would end past the deadline: given up at once
    assert len(flood.calls) == 3 and time.monotonic() - started >= 2.0
    assert governor.stats.retry_after == 3 and governor.stats.gave_up == 1

    # a retry_after beyond the deadline is not waited at all
    long = FakeAPI(lambda m: TelegramRetryAfter(m, "Too Many Requests", 60))
    started = time.monotonic()
    with pytest.raises(TelegramRetryAfter):
        await send(Governor(Limits.fast(deadline=10.0)), long, 1, "a")
    assert len(long.calls) == 1 and time.monotonic() - started < 5.0


async def test_a_bad_request_is_not_retried() -> None:
    governor = Governor(Limits.fast())
    api = FakeAPI(lambda m: TelegramBadRequest(m, "Bad Request: chat not found"))
    with pytest.raises(TelegramBadRequest):
        await send(governor, api, 1, "a")
    assert len(api.calls) == 1


async def test_a_blocked_chat_is_marked_once_then_skipped() -> None:
    marked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        marked.append(chat_id)

    governor = Governor(Limits.fast(), on_blocked=on_blocked)
    blocked = {7}
    api = FakeAPI(
        lambda m: (
            TelegramForbiddenError(m, "Forbidden: bot was blocked by the user")
            if m.chat_id in blocked
            else None
        )
    )
    for text in ("first", "second"):
        with pytest.raises(TelegramForbiddenError):
            await send(governor, api, 7, text)
    assert marked == [7] and api.texts(7) == ["first"]  # the second was never sent
    assert governor.stats.skipped == 1

    # the user writes again (unblocked the bot): the answer is tried and clears the mark
    blocked.clear()
    with answering(7):
        await send(governor, api, 7, "welcome back")
    await send(governor, api, 7, "a reminder")
    assert api.texts(7) == ["first", "welcome back", "a reminder"]

    # a group that removed the bot marks nobody
    blocked.add(-100500)
    with pytest.raises(TelegramForbiddenError):
        await send(governor, api, -100500, "to the group")
    assert marked == [7]


async def test_answers_go_before_notices_before_fanouts() -> None:
    governor = Governor(Limits(rate=20, headroom=1.0, chat_interval=0.0001, chat_burst=100))
    api = FakeAPI()
    with lane(Lane.FANOUT):
        fanout = [asyncio.ensure_future(send(governor, api, 100 + n, f"f{n}")) for n in range(40)]
    await asyncio.sleep(0.2)  # the fan-out is under way, at 20/s
    with lane(Lane.NOTICE):
        notice = asyncio.ensure_future(send(governor, api, 2, "notice"))
    with answering(1):
        answer = asyncio.ensure_future(send(governor, api, 1, "answer"))
    started = time.monotonic()
    await asyncio.gather(answer, notice)
    assert time.monotonic() - started < 0.2  # two slots, not the fan-out's 1.6 s left
    await asyncio.gather(*fanout)
    order = [text for _t, _m, _c, text in api.calls]
    assert order.index("answer") < order.index("notice") < order.index("f39")
    assert governor.stats.sent_by_lane == {"ANSWER": 1, "NOTICE": 1, "FANOUT": 40}


async def test_an_answer_overtakes_fanouts_queued_for_its_own_chat() -> None:
    governor = Governor(Limits(rate=1000, chat_interval=0.2, chat_burst=1))
    api = FakeAPI()
    with lane(Lane.FANOUT):
        queued = [asyncio.ensure_future(send(governor, api, 5, f"r{n}")) for n in range(4)]
    await asyncio.sleep(0.05)
    with answering(5):
        await send(governor, api, 5, "answer")
    assert api.texts(5)[:2] == ["r0", "answer"]
    await asyncio.gather(*queued)
    assert api.texts(5) == ["r0", "answer", "r1", "r2", "r3"]


async def test_callback_answers_are_not_paced_and_are_retried() -> None:
    governor = Governor(Limits(rate=5, headroom=1.0, backoff=0.05))
    api = FakeAPI(failing(1, lambda m: TelegramNetworkError(m, "reset")))
    with lane(Lane.FANOUT):
        fanout = [asyncio.ensure_future(send(governor, api, 100 + n, "f")) for n in range(10)]
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await governor(api, None, AnswerCallbackQuery(callback_query_id="9"))  # type: ignore[arg-type]
    assert time.monotonic() - started < 0.3  # not behind 2 s of fan-out
    for job in fanout:
        job.cancel()
    await asyncio.gather(*fanout, return_exceptions=True)


async def test_other_calls_fail_at_once_on_network_errors() -> None:
    governor = Governor(Limits.fast())
    api = FakeAPI(lambda m: TelegramNetworkError(m, "ClientConnectorError"))
    with pytest.raises(TelegramNetworkError):
        await governor(api, None, GetMe())  # type: ignore[arg-type]
    assert len(api.calls) == 1  # the start-up loop retries, and logs each attempt


async def test_a_caller_that_gives_up_frees_its_chat() -> None:
    governor = Governor(Limits(rate=1000, chat_interval=0.3, chat_burst=1))
    api = FakeAPI()
    await send(governor, api, 1, "a")
    waiting = asyncio.ensure_future(send(governor, api, 1, "b"))
    await asyncio.sleep(0.05)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await asyncio.wait_for(send(governor, api, 1, "c"), 1.0)
    assert api.texts(1) == ["a", "c"]
    assert governor.waiting() == {"ANSWER": 0, "NOTICE": 0, "FANOUT": 0}


async def test_the_bots_governor_runs_at_telegram_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_RATE", raising=False)
    for rate, interval in ((None, 1 / 30), (100.0, 1 / 100)):
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=SecretStr("123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
            **({"telegram_rate": rate} if rate else {}),
        )
        bot = create_bot(settings)
        try:
            governors = [m for m in bot.session.middleware if isinstance(m, Governor)]
            assert governors == [governor_of(bot)]  # one, and every call passes it
            assert governors[0].limits.interval == pytest.approx(interval)
        finally:
            await bot.session.close()


def test_no_product_code_reaches_the_bot_api_around_the_governor() -> None:
    """The bot's only Bot is `bot.app.create_bot`'s (the shell's talks to no network), and
    the only raw Bot API requests are the CLI's getMe probes (`chatcrm status`, `invite`)."""
    root = Path(__file__).resolve().parents[2]
    bots, raw = set(), set()
    for package in ("bot", "handlers", "notifications", "crm"):
        for path in (root / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            name = path.relative_to(root).as_posix()
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Bot":
                    bots.add(name)
            if "/bot{" in source:
                raw.add(name)
    assert bots == {"bot/app.py", "bot/shell.py"}
    assert raw == {"bot/health.py", "bot/cli/invite.py"}
