"""Bounded query parameters: out-of-range input is a clear 422 at the edge, never a 500 inside.

An ``offset`` of 2**63 overflows the database's 64-bit integer, and a ``today`` in the last week of
9999 overflows ``date`` when a view adds its due-soon window; both are refused here, by FastAPI's
own validation, with the parameter named.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from annotated_types import Interval
from fastapi import Query

MAX_OFFSET = 1_000_000_000
"""Far beyond any real list (the register holds tens of thousands), far below 2**63."""

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(9998, 12, 31)
"""Views add and subtract windows of weeks or months to ``today``; a year of margin at either
edge of the calendar keeps every such step inside ``date``'s range."""

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"Rows to skip (0 … {MAX_OFFSET})")]


DayBounds = Interval(ge=EARLIEST_DAY, le=LATEST_DAY)
"""Put beside a ``date`` parameter's ``Query(...)``: ``Annotated[date | None, Query(...), DayBounds]``."""
