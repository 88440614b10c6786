"""Small input checks shared by the checklists aggregates: each raises ``InvalidInput`` naming the field."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date

from shared.errors import InvalidInput

MAX_LINKS = 20
MAX_LINK_LENGTH = 500
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def text(value: str, field: str, *, what: str, max_length: int = 200) -> str:
    """A required piece of text, stripped; blank or too long is refused."""
    stripped = value.strip()
    if not stripped:
        raise InvalidInput(f"{what} is required", field=field)
    if len(stripped) > max_length:
        raise InvalidInput(
            f"{what} is too long ({len(stripped)} characters, at most {max_length})", field=field
        )
    return stripped


def optional_text(value: str | None, field: str, *, what: str, max_length: int = 200) -> str | None:
    """Optional text: ``None`` or blank becomes ``None``, otherwise checked like :func:`text`."""
    if value is None or not value.strip():
        return None
    return text(value, field, what=what, max_length=max_length)


def month(value: str) -> str:
    """A month as ``YYYY-MM``."""
    if not _MONTH.match(value.strip()):
        raise InvalidInput(f"month {value!r} is not of the form YYYY-MM (e.g. 2025-03)", field="month")
    return value.strip()


def number(value: float, field: str, *, what: str, positive: bool) -> float:
    """A finite number, strictly positive or at least zero."""
    if not math.isfinite(value):
        raise InvalidInput(f"{what} must be a finite number", field=field)
    if positive and value <= 0:
        raise InvalidInput(f"{what} must be greater than zero, not {value:g}", field=field)
    if not positive and value < 0:
        raise InvalidInput(f"{what} cannot be negative ({value:g})", field=field)
    return float(value)


def links(values: Iterable[str], field: str = "evidence") -> list[str]:
    """Evidence links: each non-blank, without spaces, not too long; duplicates dropped, order kept."""
    result: list[str] = []
    for raw in values:
        link = raw.strip()
        if not link or any(ch.isspace() for ch in link):
            raise InvalidInput(f"evidence link {raw!r} is blank or contains spaces", field=field)
        if len(link) > MAX_LINK_LENGTH:
            raise InvalidInput(f"an evidence link is longer than {MAX_LINK_LENGTH} characters", field=field)
        if link not in result:
            result.append(link)
    if len(result) > MAX_LINKS:
        raise InvalidInput(f"at most {MAX_LINKS} evidence links, not {len(result)}", field=field)
    return result


def not_future(day: date, today: date, field: str, *, what: str) -> date:
    """A date that has happened already."""
    if day > today:
        raise InvalidInput(f"{what} {day} is in the future (today is {today})", field=field)
    return day
