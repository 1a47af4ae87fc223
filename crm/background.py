"""Stopping a background asyncio task."""

from __future__ import annotations

import asyncio
from typing import Any


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait until it has stopped; what it raised on the way is raised
    here, its cancellation is not.

    `task.cancel()` then `with suppress(CancelledError): await task` swallows more than the
    task's cancellation: when the caller is itself cancelled while it waits, that
    cancellation was swallowed too and the caller went on. The outbox worker's `stop()`
    hung for good that way, its drain being cancelled just as it stopped its lease renewer.
    Here the caller's own cancellation goes through (`gather` is cancelled with it)."""
    if task is None:
        return
    task.cancel()
    outcomes = await asyncio.gather(task, return_exceptions=True)
    outcome = outcomes[0]
    if isinstance(outcome, Exception):
        raise outcome
