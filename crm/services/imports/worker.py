"""Parsing an import file in a worker process, off the event loop, with its memory bounded.

The worker (forked from a fork server that has this module loaded, so starting one costs
milliseconds) reads the file row by row (crm/services/imports/files.py), checks each row
(crm/services/imports/cells.py) and sends them back in batches through a pipe; the pipe's
small buffer makes it wait while the database side is behind, so neither side holds the
whole file. Its address space is capped (`Limits.memory` on top of what the interpreter
already uses): a file that needs more is refused instead of starving the bot. The
parent reads the pipe in a thread of the default executor, so the event loop never waits.
As multiprocessing does for every worker it starts, the program's entry module is imported
again in the worker (as `__mp_main__`): entry points keep their work under
`if __name__ == "__main__"` (bot/__main__.py, the `chatcrm` script and the benches do).

Messages: ("header", kind, ignored columns), ("batch", rows, rejected, rows read so far,
the fraction of the file read or None), ("done", rows read, the worker's peak resident
memory in bytes), or ("error", field, reason, params). A row is (its number, its clean
values): a dict, or for sales a tuple of text (cells.sale_wire), cheaper through the pipe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
from collections.abc import AsyncGenerator, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]  # noqa: F401  (loaded in the fork server, not under the worker's memory cap)

from crm.errors import CRMError, InvalidInput
from crm.services.imports import files
from crm.services.imports.cells import Rejected, clean_row, detect_kind, map_columns, sale_wire
from crm.services.imports.files import Limits

BATCH_ROWS = 5000
_context: Any = None


def parse(
    path: Path, filename: str, kind: str | None, limits: Limits, send: Callable[[Any], None]
) -> None:
    position = files.Position()
    lines = files.rows(path, filename, limits, position)
    first = next(lines, None)
    if first is None:
        raise InvalidInput("file", "empty")
    header = files.header_of(first[1])
    kind = kind or detect_kind(header)
    columns, ignored = map_columns(kind, header)
    send(("header", kind, ignored))
    batch: list[tuple[int, Any]] = []
    rejected: list[Rejected] = []
    count = 0
    wire = sale_wire if kind == "sales" else None
    for number, cells in lines:
        count += 1
        result = clean_row(kind, number, cells, columns)
        if isinstance(result, Rejected):
            rejected.append(result)
        elif wire is not None:
            batch.append((result[0], wire(result[1])))
        else:
            batch.append(result)
        if len(batch) + len(rejected) >= BATCH_ROWS:
            send(("batch", batch, rejected, count, position.fraction))
            batch, rejected = [], []
    send(("batch", batch, rejected, count, 1.0))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    send(("done", count, peak))


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _child(conn: Connection, path: str, filename: str, kind: str | None, limits: Limits) -> None:
    try:
        if limits.memory is not None:
            cap = _address_space() + limits.memory
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        parse(Path(path), filename, kind, limits, conn.send)
    except CRMError as exc:
        params = {k: v for k, v in exc.params.items() if k not in ("field", "reason")}
        conn.send(("error", exc.params.get("field", "file"), exc.params.get("reason"), params))
    except MemoryError:
        conn.send(("error", "file", "too_big", {"max_mb": (limits.memory or 0) // 1024**2}))
    except Exception as exc:  # a file that breaks a parser is a file we cannot read
        conn.send(("error", "file", "unreadable", {"detail": type(exc).__name__}))
    finally:
        conn.close()


def context() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload([__name__])
    return _context


async def stream(
    path: Path, filename: str, kind: str | None, limits: Limits
) -> AsyncGenerator[tuple[Any, ...], None]:
    """The worker's messages; an ("error", ...) is raised as InvalidInput."""
    ctx = context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_child, args=(sender, str(path), filename, kind, limits), daemon=True
    )
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, process.start)
    sender.close()
    try:
        while True:
            try:
                message = await loop.run_in_executor(None, receiver.recv)
            except EOFError:  # killed: the kernel's OOM killer, or a signal
                raise InvalidInput(
                    "file", "too_big", max_mb=(limits.memory or 0) // 1024**2
                ) from None
            if message[0] == "error":
                _, field, reason, params = message
                raise InvalidInput(field, reason, **params)
            yield message
            if message[0] == "done":
                return
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        await loop.run_in_executor(None, process.join)
