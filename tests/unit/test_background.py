"""Stopping a background task: its cancellation is swallowed, the stopper's is not."""

from __future__ import annotations

import asyncio

import pytest

from crm.background import stop_task


async def slow_to_stop(stopped: list[str]) -> None:
    """A task that takes a while to wind down once cancelled (a renewer's last write)."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(0.05)
        stopped.append("inner")
        raise


async def test_a_task_is_stopped_and_its_cancellation_stays_with_it() -> None:
    stopped: list[str] = []
    task = asyncio.create_task(slow_to_stop(stopped))
    await asyncio.sleep(0)
    await stop_task(task)
    assert task.cancelled() and stopped == ["inner"]
    await stop_task(None)


async def test_the_stoppers_own_cancellation_goes_through() -> None:
    """The outbox worker's stop() hung: it cancelled a drain that was just then stopping its
    renewer, and `suppress(CancelledError)` around that wait swallowed the drain's own
    cancellation, so the drain (and the worker's loop) went on."""
    stopped: list[str] = []
    went_on: list[str] = []

    async def drain() -> None:
        renewer = asyncio.create_task(slow_to_stop(stopped))
        await asyncio.sleep(0)
        try:
            return
        finally:
            await stop_task(renewer)
            went_on.append("after the renewer")

    async def worker() -> None:
        for _ in range(20):  # a drain after another (bounded: a swallowed cancel ends too)
            await drain()

    task = asyncio.create_task(worker())
    await asyncio.sleep(0.02)  # the drain is waiting for its renewer to stop
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    assert task.cancelled(), f"the worker went on: {len(went_on)} drains"
    assert went_on == []


async def test_what_the_task_raised_on_the_way_out_is_raised() -> None:
    async def fails_when_stopped() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("could not hand the rows back") from None

    task = asyncio.create_task(fails_when_stopped())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="hand the rows back"):
        await stop_task(task)
