"""The values of an xlsx workbook's first sheet, read straight from its XML.

openpyxl's read-only mode builds an object per cell (an inline string is a rich-text tree) and
reads a sheet without a ``<dimension>`` twice: over 20 s of CPU for a 100,000-row extract, as
much as importing it. This reader cuts the sheet's XML into blocks of whole rows (about 64 KB
each), parses each block in C and keeps only the values, as openpyxl's ``values_only`` gives
them: text (shared or inline), numbers (``int`` when written without a fraction or exponent),
booleans, and dates for numbers whose style is a date format (openpyxl's own rules and epoch).
Only one block's XML tree is in memory at a time: memory holds the values, not the workbook's XML.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO
from xml.etree.ElementTree import Element, fromstring

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

from services.registry.adapters import xlsx_scan as scan

_RELATIONSHIPS = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                  "http://purl.oclc.org/ooxml/officeDocument/relationships")
_PACKAGE = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_READ = 1 << 16
# An upload is a zip: a few MB may unpack to gigabytes. A sheet's rows are streamed, but these bound
# what one step holds: a workbook part read whole, one row's XML, and the rows a sheet can have.
MAX_PART_BYTES = 128 << 20
MAX_ROW_BYTES = 16 << 20
MAX_ROWS = 1_048_576  # Excel's own limit


def _tags(name: str) -> frozenset[str]:
    return frozenset(f"{{{ns}}}{name}" for ns in scan.NAMESPACES)


_ROW, _CELL, _VALUE, _INLINE, _TEXT, _PHONETIC, _SHEET_DATA_TAGS = (
    _tags(n) for n in ("row", "c", "v", "is", "t", "rPh", "sheetData"))


def _text(item: Element) -> str:
    """A shared or inline string: its runs' text, without phonetic guides."""
    if len(item) == 1 and item[0].tag in _TEXT:  # the usual plain string: one <t>
        return item[0].text or ""
    parts: list[str] = []
    for child in item:
        if child.tag in _TEXT:
            parts.append(child.text or "")
        elif child.tag not in _PHONETIC:  # a rich-text run: <r><rPr/><t>…</t></r>
            parts.extend(t.text or "" for t in child if t.tag in _TEXT)
    return "".join(parts)


class TooLarge(ValueError):
    """The workbook passes one of the bounds above: the message says which (shown to the uploader)."""


def _read_part(archive: zipfile.ZipFile, path: str) -> bytes:
    """A part read whole, if its unpacked size is bounded (zipfile stops at the size it declares)."""
    size = archive.getinfo(path).file_size
    if size > MAX_PART_BYTES:
        raise TooLarge(f"{path} unpacks to {size:,} bytes (at most {MAX_PART_BYTES:,})")
    return archive.read(path)


def _part(archive: zipfile.ZipFile, base: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))


def _workbook_parts(archive: zipfile.ZipFile) -> tuple[str, str | None, str | None, bool]:
    """The first sheet's, the shared strings' and the styles' paths, and whether dates count from 1904."""
    workbook = fromstring(_read_part(archive, "xl/workbook.xml"))
    sheet = next((e for e in workbook.iter() if e.tag in _tags("sheet")), None)
    sheet_id = next((v for k, v in (sheet.attrib if sheet is not None else {}).items()
                     if k in {f"{{{ns}}}id" for ns in _RELATIONSHIPS}), None)
    if sheet_id is None:
        raise KeyError("the workbook names no sheet")
    date1904 = any(e.get("date1904") in ("1", "true") for e in workbook.iter() if e.tag in _tags("workbookPr"))
    relations = fromstring(_read_part(archive, "xl/_rels/workbook.xml.rels"))
    by_id = {r.get("Id"): r for r in relations.iter(f"{_PACKAGE}Relationship")}
    by_type = {str(r.get("Type", "")).rsplit("/", 1)[-1]: r for r in relations.iter(f"{_PACKAGE}Relationship")}
    target = by_id[sheet_id].get("Target", "")
    strings, styles = by_type.get("sharedStrings"), by_type.get("styles")
    return (_part(archive, "xl", target),
            _part(archive, "xl", strings.get("Target", "")) if strings is not None else None,
            _part(archive, "xl", styles.get("Target", "")) if styles is not None else None, date1904)


def _shared_strings(archive: zipfile.ZipFile, path: str | None) -> list[str]:
    if path is None or path not in archive.namelist():
        return []
    return [_text(item) for item in fromstring(_read_part(archive, path)) if item.tag in _tags("si")]


def _date_styles(archive: zipfile.ZipFile, path: str | None) -> set[int]:
    """Indexes of the cell styles (``s``) whose number format shows a date or time."""
    if path is None or path not in archive.namelist():
        return set()
    styles = fromstring(_read_part(archive, path))
    formats: dict[int, str] = dict(BUILTIN_FORMATS)
    for element in styles.iter():
        if element.tag in _tags("numFmt"):
            formats[int(element.get("numFmtId", "0"))] = element.get("formatCode", "")
    cell_xfs = next((e for e in styles if e.tag in _tags("cellXfs")), None)
    if cell_xfs is None:
        return set()
    return {i for i, xf in enumerate(cell_xfs)
            if is_date_format(formats.get(int(xf.get("numFmtId", "0")), ""))}


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


_SHEET_DATA = re.compile(rb"<([A-Za-z_][\w.-]*:)?sheetData\b[^>]*?(/?)>")
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)[\s>/]")


def _blocks(source: IO[bytes]) -> Iterator[tuple[bytes, bytes, bytes]]:
    """The sheet's XML cut into well-formed documents of about ``_READ`` bytes of rows each.

    Each is the sheet's start (root element, namespaces) and its ``sheetData`` start tag, a run of
    whole rows, and the closing tags (given apart, so that the rows can be scanned without the
    rest): parsed in C at once, with no event per element.
    """
    head = b""
    while (found := _SHEET_DATA.search(head)) is None:
        chunk = source.read(_READ)
        if not chunk:
            return
        head += chunk
        if len(head) > MAX_ROW_BYTES:
            raise TooLarge(f"no rows in the sheet's first {MAX_ROW_BYTES:,} bytes")
    if found[2]:  # <sheetData/>: no rows
        return
    prefix = found[1] or b""
    root = _ROOT.search(head, head.find(b"<", head.find(b"?>") + 1 if head.startswith(b"<?") else 0))
    closing = b"</" + prefix + b"sheetData></" + (root[1] if root else b"worksheet") + b">"
    end_row, end_data = b"</" + prefix + b"row>", b"</" + prefix + b"sheetData>"
    rest, head = head[found.end():], head[:found.end()]
    while True:
        chunk = source.read(_READ)
        rest += chunk
        done = rest.find(end_data)
        if done >= 0:
            yield head, rest[:done], closing
            return
        if not chunk:
            raise ValueError("the sheet's XML ends inside its rows")
        cut = rest.rfind(end_row)
        if cut >= 0:
            cut += len(end_row)
            yield head, rest[:cut], closing
            rest = rest[cut:]
        elif len(rest) > MAX_ROW_BYTES:
            raise TooLarge(f"a row of the sheet is over {MAX_ROW_BYTES:,} bytes")


def _tree_rows(document: bytes) -> Iterator[scan.Row]:
    """A block's rows as ``(r, cells)``, each cell ``(r, t, inline text, value text, s)``, from its XML tree."""
    sheet_data = next((e for e in fromstring(document) if e.tag in _SHEET_DATA_TAGS), None)
    if sheet_data is None:
        raise ValueError("the sheet's rows are not where its sheetData said")
    for row in sheet_data:
        if row.tag not in _ROW:
            continue
        cells: list[scan.Cell] = []
        for cell in row:
            if cell.tag not in _CELL:
                continue
            kind, inline, value = cell.get("t", "n"), None, None
            for child in cell:
                if kind == "inlineStr" and child.tag in _INLINE:
                    inline = _text(child)
                    break
                if child.tag in _VALUE:
                    value = child.text
                    break
            cells.append((cell.get("r"), kind, inline, value, cell.get("s", "0")))
        yield row.get("r"), cells


def _rows(source: IO[bytes], strings: list[str], dates: set[int], epoch: datetime
          ) -> Iterator[tuple[int, list[object]]]:
    previous = 0
    columns: dict[str, int] = {}  # a cell's column letters → its index, worked out once per column
    prefixes: frozenset[str] | None = None
    for index, (head, body, closing) in enumerate(_blocks(source)):
        if index == 0:
            prefixes = scan.plain_root(head)  # the same head for every block: worked out once
        scanned = scan.rows(body, prefixes) if prefixes is not None else None
        for r, cells in scanned if scanned is not None else _tree_rows(head + body + closing):
            number = int(r or previous + 1)
            if number > MAX_ROWS:
                raise TooLarge(f"row {number} is beyond a sheet's {MAX_ROWS:,} rows")
            previous = number
            values: list[object] = []
            for reference, kind, inline, value, style in cells:
                if reference:
                    letters = reference.rstrip("0123456789")
                    column = columns.get(letters) or columns.setdefault(letters, column_index_from_string(letters))
                    if column - 1 > len(values):
                        values.extend([None] * (column - 1 - len(values)))
                values.append(_value(kind, inline, value, style, strings, dates, epoch))
            yield number, values


def _value(kind: str, inline: str | None, value: str | None, style: str, strings: list[str], dates: set[int],
           epoch: datetime) -> object:
    if inline is not None:
        return inline
    if value is None:
        return None
    if kind == "s":
        return strings[int(value)]
    if kind in ("str", "e"):
        return value
    if kind == "b":
        return value == "1"
    if kind == "d":
        return datetime.fromisoformat(value)
    number = _number(value)
    if int(style) in dates:
        return from_excel(number, epoch)
    return number


def sheet_values(archive: zipfile.ZipFile) -> Iterator[list[object]]:
    """Every row of the first sheet as a list of values (``None`` for a blank cell, ``[]`` for a blank row),
    one at a time.

    Raises ``KeyError``/``ValueError``/``ParseError`` for a zip that is not a workbook; the caller turns
    them into a clear 422.
    """
    sheet, strings_path, styles_path, date1904 = _workbook_parts(archive)
    strings = _shared_strings(archive, strings_path)
    dates = _date_styles(archive, styles_path)
    epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
    read = 0
    with archive.open(sheet) as source:
        for number, values in _rows(source, strings, dates, epoch):
            for _ in range(number - 1 - read):  # rows the sheet leaves out are blank
                yield []
            read = number
            yield values
