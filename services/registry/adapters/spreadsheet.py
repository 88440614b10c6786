"""Reading a spreadsheet extract (xlsx or csv) into rows keyed by our field names.

Columns are found by their heading, as the national system and officers write them (Chinese,
with synonyms, full- or half-width brackets and slashes); their order does not matter. Cells
come back as text (dates as ``YYYY-MM-DD``) so that one validation serves both formats.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree.ElementTree import ParseError

from openpyxl import Workbook

from services.registry.adapters.xlsx_reader import TooLarge, sheet_values
from shared.errors import InvalidInput

HEADINGS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "残疾人姓名", "name"),
    "certificate_number": ("残疾人证号", "残疾证号", "残疾人证编号", "证号", "certificate_number"),
    "resident_id": ("身份证号", "身份证号码", "公民身份号码", "resident_id"),
    "sex": ("性别", "sex"),
    "birth_date": ("出生日期", "birth_date"),
    "category": ("残疾类别", "类别", "category"),
    "grade": ("残疾等级", "等级", "grade"),
    "township": ("所属乡镇街道", "乡镇街道", "乡镇", "街道", "township"),
    "village": ("所属村社区", "村社区", "村", "社区", "village"),
    "division_code": ("行政区划代码", "区划代码", "行政区划", "village_code"),
    "phone": ("联系电话", "电话", "手机", "phone"),
    "address": ("住址", "地址", "现住址", "户籍地址", "address"),
    "issued_on": ("发证日期", "发证时间", "issued_on"),
    "died_on": ("死亡日期", "死亡时间", "died_on"),
}
"""Our field → the headings accepted for it (compared after :func:`_heading_key`)."""

_IGNORED = re.compile(r"[\s/／\\()（）\[\]【】:：*＊]")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Sheet:
    """The rows of an extract: ``line`` is the spreadsheet's own row number (headings on line 1)."""

    fields: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]


def _heading_key(text: str) -> str:
    return _IGNORED.sub("", text).lower()


_BY_HEADING = {_heading_key(h): field for field, names in HEADINGS.items() for h in names}


def _cell(value: object) -> str:
    if type(value) is str:  # most cells: tested first, without the chain below
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_rows(content: bytes, filename: str) -> Iterator[list[object]]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            yield from sheet_values(archive)
    except TooLarge as exc:
        raise InvalidInput(f"{filename} cannot be read: {exc}", field="file") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError) as exc:
        raise InvalidInput(f"{filename} is not a readable xlsx workbook ({type(exc).__name__})",
                           field="file") from None


def _raw_rows(content: bytes, filename: str) -> Iterator[list[object]]:
    """The rows one at a time: a whole district's extract is never held twice (as values and as rows)."""
    if content.startswith(b"PK"):  # an xlsx is a zip archive
        return _xlsx_rows(content, filename)
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves csv as GBK unless told otherwise
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput(f"{filename} is neither an xlsx workbook nor a UTF-8 or GBK csv", field="file")
    return (list(r) for r in csv.reader(io.StringIO(text)))


def read_sheet(content: bytes, *, required: tuple[str, ...], filename: str = "the file") -> Sheet:
    """The rows of the first sheet (or the csv), by field; 422 naming missing headings."""
    fields, rows = stream_sheet(content, required=required, filename=filename)
    return Sheet(fields, list(rows))


def stream_sheet(content: bytes, *, required: tuple[str, ...], filename: str = "the file"
                 ) -> tuple[tuple[str, ...], Iterator[tuple[int, dict[str, str]]]]:
    """:func:`read_sheet`'s fields, and its rows one at a time: a district's extract is never held as
    rows of text beside what the caller makes of them. A sheet that turns out unreadable further
    on raises the same 422 from the iteration."""
    if not content.strip():
        raise InvalidInput(f"{filename} is empty", field="file")
    raw = _raw_rows(content, filename)
    first = list(itertools.islice(raw, 10))
    header_at = next((i for i, r in enumerate(first) if any(_cell(c) in _BY_HEADING or
                      _heading_key(_cell(c)) in _BY_HEADING for c in r)), None)
    if header_at is None:
        raise InvalidInput(f"no known column headings in the first rows of {filename} "
                           f"(expected e.g. {', '.join(h[0] for h in HEADINGS.values())})", field="file")
    columns: dict[int, str] = {}
    for index, heading in enumerate(first[header_at]):
        field = _BY_HEADING.get(_heading_key(_cell(heading)))
        if field is not None and field not in columns.values():
            columns[index] = field
    missing = [f for f in required if f not in columns.values()]
    if missing:
        raise InvalidInput(f"{filename} has no column for {', '.join(HEADINGS[f][0] for f in missing)}",
                           field="file")
    return tuple(columns.values()), _fields_of(itertools.chain(first[header_at + 1:], raw), columns, header_at + 2)


def _fields_of(values_of: Iterator[list[object]], columns: dict[int, str], first_line: int
               ) -> Iterator[tuple[int, dict[str, str]]]:
    for line, values in enumerate(values_of, start=first_line):
        width = len(values)
        row = {field: _cell(values[i]) if i < width else "" for i, field in columns.items()}
        if any(row.values()):
            yield line, row


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def parse_date(text: str) -> date | None:
    """``2020-03-15``, ``2020/3/15``, ``2020.03.15``, ``2020年3月15日`` or ``20200315``; None if not a date."""
    text = text.strip().split(" ")[0]
    match = _DATE.match(text)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return None


def workbook_bytes(title: str, headings: list[str], rows: list[list[object]]) -> bytes:
    """A one-sheet xlsx with a heading row (for the downloadable reports)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
