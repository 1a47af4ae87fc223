"""Filters checked on the event loop, not handed to a thread one by one.

aiogram calls a filter that is not a coroutine function through `asyncio.to_thread`
(aiogram/dispatcher/event/handler.py, CallableObject.call): every magic filter (`F.text`,
`F.data.startswith(...)`) and every dialog state (`RemindForm.when`) is such a filter.
An update is checked against the filters of every handler before the one that takes it,
so a /remind paid some 30 thread hand-offs (a pool submit, a wake-up of the loop through
its self-pipe, the GIL passed back and forth) to test predicates of a microsecond each:
more CPU than its whole database transaction (bench/bench_dispatcher.py, `--profile`).

`inline_sync_filters` gives each such filter an async wrapper that calls it in place, so
aiogram awaits it directly. Filters are predicates on the update (no I/O by contract); a
handler is left as it is (every handler of the bot is a coroutine function anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject


def _inline(callback: Callable[..., Any]) -> Callable[..., Any]:
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return callback(*args, **kwargs)

    return inline


def _filters(router: Router) -> Iterable[FilterObject]:
    for sub in router.chain_tail:  # the router and all it includes, recursively
        for observer in sub.observers.values():
            yield from observer._handler.filters or []  # the observer's own (`.filter()`)
            for handler in observer.handlers:
                yield from handler.filters or []


def inline_sync_filters(router: Router) -> int:
    """Make every synchronous filter of `router` and its sub-routers awaitable in place;
    the number changed. Call it once the routers are included (the dispatcher's last
    step of assembly)."""
    changed = 0
    for event_filter in _filters(router):
        if event_filter.awaitable:
            continue
        # the parameters aiogram passes were read from the original callback's signature
        # (`params`, `varkw`) and stay as they are: the wrapper takes whatever is passed
        event_filter.callback = _inline(event_filter.callback)
        event_filter.awaitable = True
        changed += 1
    return changed
