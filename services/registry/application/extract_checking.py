"""An extract's rows read and checked, in this process or in a helper process for a large import.

The pure part of the dry run (the sheet read, each row checked, its certificate number and name
masked) needs no database. For a large import it runs in a helper process on the other core (a
plain ``python`` running :func:`serve` over pipes, like ``shared.signature_check``), so that the
registry writes the first chunks while later rows are still being checked. The helper reads the
whole sheet once before it answers any row, so an extract that turns out unreadable further on is
still refused (the same 422) before anything is written; it then reads it again to check its rows:
a second read on the other core costs less than holding a district's rows of text.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
import sys
from collections.abc import AsyncGenerator, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

from services.registry.adapters import spreadsheet
from services.registry.domain.certificate import mask_certificate, mask_name
from services.registry.domain.extract_row import ExtractRow, Problem, VillageDirectory, check_row
from shared.errors import InvalidInput

REQUIRED = ("name", "certificate_number")
BATCH_ROWS = 500
"""Rows per answer of the helper: one chunk's worth, so the first chunk can start after one answer."""

CheckedLine = tuple[int, str, str, ExtractRow | list[Problem]]
"""A row of the extract: its line, masked certificate number and name, and the checked row or its problems."""


def checked_lines(rows: Iterable[tuple[int, dict[str, str]]], villages: VillageDirectory, today: date
                  ) -> Iterator[CheckedLine]:
    """Each row checked (``domain.extract_row.check_row``), with what a report may show of it."""
    for line, row in rows:
        checked = check_row(line, row, villages=villages, today=today, parse_date=spreadsheet.parse_date)
        yield line, mask_certificate(row.get("certificate_number", "")), mask_name(row.get("name", "")), checked


def has_second_core() -> bool:
    """Whether this process may run on more than one core (a helper would otherwise only compete)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores > 1


_LENGTH = struct.Struct(">I")
_ROOT = str(Path(__file__).resolve().parents[3])
"""Where ``services`` and ``shared`` are importable from, for the helper process."""


def _send(sink: IO[bytes], message: tuple[Any, ...]) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sink.write(_LENGTH.pack(len(body)))
    sink.write(body)
    sink.flush()


async def _receive(source: asyncio.StreamReader) -> tuple[Any, ...]:
    try:
        head = await source.readexactly(_LENGTH.size)
        message: tuple[Any, ...] = pickle.loads(await source.readexactly(_LENGTH.unpack(head)[0]))  # our own child
    except asyncio.IncompleteReadError:
        raise RuntimeError("the extract's checking helper stopped before its answer") from None
    return message


def serve() -> None:
    """The helper process: read one pickled ``(content, villages, today)`` from stdin; answer
    ``("refused", message, field)`` if the sheet cannot be read to its end, else ``("readable",)``,
    then ``("rows", [CheckedLine, ...])`` per :data:`BATCH_ROWS` rows and ``("end",)``. Its only peer
    is the process that started it; a full pipe holds it back, so it never runs far ahead."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    content, villages, today = pickle.loads(source.read(_LENGTH.unpack(source.read(_LENGTH.size))[0]))
    try:
        for _ in spreadsheet.stream_sheet(content, required=REQUIRED)[1]:
            pass
    except InvalidInput as exc:
        _send(sink, ("refused", exc.message, exc.field))
        return
    _send(sink, ("readable",))
    batch: list[CheckedLine] = []
    for item in checked_lines(spreadsheet.stream_sheet(content, required=REQUIRED)[1], villages, today):
        batch.append(item)
        if len(batch) == BATCH_ROWS:
            _send(sink, ("rows", batch))
            batch = []
    _send(sink, ("rows", batch))
    _send(sink, ("end",))


async def checked_in_helper(content: bytes, villages: VillageDirectory, today: date
                            ) -> AsyncGenerator[list[CheckedLine], None]:
    """:func:`checked_lines` of the extract in batches, from a helper process started for the call.

    Raises the helper's ``InvalidInput`` (an unreadable sheet) before the first batch. The helper
    is stopped when the iteration ends or is closed (use ``contextlib.aclosing``).
    """
    path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from services.registry.application.extract_checking import serve; serve()",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": path})
    assert process.stdin is not None and process.stdout is not None
    finished = False
    try:
        body = pickle.dumps((content, villages, today), protocol=pickle.HIGHEST_PROTOCOL)
        process.stdin.write(_LENGTH.pack(len(body)))
        process.stdin.write(body)
        await process.stdin.drain()
        answer = await _receive(process.stdout)
        if answer[0] == "refused":
            raise InvalidInput(answer[1], field=answer[2])
        while (answer := await _receive(process.stdout))[0] == "rows":
            yield answer[1]
        finished = True
    finally:
        process.stdin.close()
        if not finished and process.returncode is None:
            process.kill()  # abandoned (a refused sheet, a failed write): nothing more is wanted from it
        await process.wait()
