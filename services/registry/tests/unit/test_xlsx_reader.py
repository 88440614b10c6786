"""The xlsx reader gives openpyxl's values, and refuses a workbook that would unpack beyond its bounds."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook

from services.registry.adapters import xlsx_reader
from services.registry.adapters.spreadsheet import read_sheet
from services.registry.adapters.xlsx_reader import TooLarge, sheet_values
from shared.errors import InvalidInput


def _workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "残疾人证号", "身份证号", "count", "when", "flag"])
    sheet.append(["张三", "51012219500101123X11", "51012219500101123X", 3, datetime(2026, 3, 1), True])
    sheet.append(["李四", None, "51012219600101124X", 2.5, None, False])
    sheet.append([])
    sheet.append(["王五", "51012219700101125X12", "51012219700101125X", 10**12, datetime(2025, 12, 31, 8, 30), None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _replace_sheet(content: bytes, change: tuple[bytes, bytes]) -> bytes:
    """The workbook with one replacement in its first sheet's XML."""
    source, out = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert change[0] in data
                data = data.replace(*change)
            target.writestr(item, data)
    return out.getvalue()


def _values(content: bytes) -> list[list[object]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [[v for v in row] for row in sheet_values(archive)]


def test_the_values_are_openpyxls() -> None:
    content = _workbook()
    expected = [list(r) for r in load_workbook(io.BytesIO(content), read_only=True).active.iter_rows(values_only=True)]
    ours = _values(content)
    # openpyxl pads every row to the sheet's width; a blank row is [] here, trailing blanks are not kept
    width = max(len(r) for r in expected)
    assert [r + [None] * (width - len(r)) for r in ours] == expected
    assert ours[1][4] == datetime(2026, 3, 1) and ours[4][3] == 10**12 and ours[2][3] == 2.5


def test_a_row_number_beyond_excels_limit_is_refused_not_filled_with_blank_rows() -> None:
    content = _replace_sheet(_workbook(), (b'<row r="5"', b'<row r="2000000000"'))
    with pytest.raises(TooLarge, match="beyond a sheet's 1,048,576 rows"):
        _values(content)
    with pytest.raises(InvalidInput, match="cannot be read: row 2000000000 is beyond"):
        read_sheet(content, required=("name",), filename="extract.xlsx")


def test_a_part_that_unpacks_too_large_is_refused_before_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_reader, "MAX_PART_BYTES", 100)  # every part of the workbook is larger than this
    with pytest.raises(InvalidInput, match=r"cannot be read: xl/workbook.xml unpacks to [\d,]+ bytes \(at most 100\)"):
        read_sheet(_workbook(), required=("name",), filename="extract.xlsx")


def test_a_row_larger_than_the_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_reader, "_READ", 64)  # read in small pieces so that the bound is met mid-row
    monkeypatch.setattr(xlsx_reader, "MAX_ROW_BYTES", 1024)
    padding = b'<c r="Z1" t="inlineStr"><is><t>' + b"x" * 4096 + b"</t></is></c></row>"
    content = _replace_sheet(_workbook(), (b"</row>", padding))
    with pytest.raises(TooLarge, match="a row of the sheet is over"):
        _values(content)
