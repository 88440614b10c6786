"""Scanning a sheet's rows as text gives the cells the XML tree gives, and leaves anything unusual to the tree."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from xml.etree.ElementTree import ParseError

import pytest
from openpyxl import Workbook

from services.registry.adapters import xlsx_reader, xlsx_scan

_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet '
         b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
         b'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
         b'mc:Ignorable="x14ac" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
         b'<sheetData>')
_CLOSING = b"</sheetData></worksheet>"
# As Excel writes rows (prefixed attributes, styles, shared strings, a formula), openpyxl's inline
# strings, blanks, and white space between elements.
_EXCEL_ROWS = (
    b'<row r="1" spans="1:4" x14ac:dyDescent="0.25"><c r="A1" s="1" t="s"><v>0</v></c>'
    b'<c r="C1" t="inlineStr"><is><t xml:space="preserve"> \xe5\xbc\xa0 \xe4\xb8\x89 </t></is></c>'
    b'<c r="D1" s="2"><f>A1+1</f><v>4</v></c><c r="E1" t="b"><v>1</v></c><c r="F1"/><c r="G1"><v/></c></row>\n  '
    b'<row r="3"/><row r="4">\n<c r="B4" t="inlineStr"><is><t/></is></c><c t="str"><f t="shared" si="0"/>'
    b'<v>x > y</v></c><c r="E4" t="e"><v>#N/A</v></c><c r="F4" t="inlineStr"><is><t>a > b</t></is></c>'
    b'<c r="G4" t="inlineStr"><is><t></t></is></c><c r="H4" t="inlineStr"><v>5</v></c></row>'
)


def _both(body: bytes) -> tuple[list[xlsx_scan.Row] | None, list[xlsx_scan.Row]]:
    prefixes = xlsx_scan.plain_root(_HEAD)
    assert prefixes is not None
    return xlsx_scan.rows(body, prefixes), list(xlsx_reader._tree_rows(_HEAD + body + _CLOSING))


def test_plain_rows_are_scanned_as_the_tree_reads_them() -> None:
    scanned, tree = _both(_EXCEL_ROWS)
    assert scanned == tree
    assert scanned[0][1][1] == ("C1", "inlineStr", " 张 三 ", None, "0")
    assert scanned[0][1][4:] == [("F1", "n", None, None, "0"), ("G1", "n", None, None, "0")]
    assert scanned[2][1][-2:] == [("G4", "inlineStr", "", None, "0"), ("H4", "inlineStr", None, "5", "0")]


@pytest.mark.parametrize("change", [
    (b"x > y", b"x &gt; y"),  # an entity
    (b"a > b", b"<![CDATA[a > b]]>"),
    (b'<row r="3"/>', b'<row r="3"/><!-- note -->'),
    (b'<c r="F1"/>', b"<c r='F1'/>"),  # single quotes
    (b'<c r="F1"/>', b'<c r="F1" xmlns="urn:other"/>'),  # the default namespace changed
    (b'<c r="F1"/>', b'<c r="F1" other:x="1"/>'),  # an undeclared prefix
    (b"<v>0</v>", b"<v>0</v><extLst/>"),  # an element the scan does not know
    (b'<c r="F1"/>', b'<c s="1" r="F1"/>'),  # the reference after another attribute
    (b'<c r="F1"/>', b'<c r="F1" r="F2"/>'),  # a repeated attribute (an XML error)
    (b'<c r="E4" t="e">', b'<c r="E4" t="e" >x'),  # text between cells
    (b"</row>\n", b"</row>\n<row r=\"2\"><c r=\"A2\"><v>1</v></c>"),  # a row not closed
    (b'<t xml:space="preserve">', b"<t>\r"),  # a carriage return, which XML turns into a line feed
])
def test_anything_unusual_is_left_to_the_tree(change: tuple[bytes, bytes]) -> None:
    body = _EXCEL_ROWS.replace(*change)
    assert body != _EXCEL_ROWS
    prefixes = xlsx_scan.plain_root(_HEAD)
    assert prefixes is not None and xlsx_scan.rows(_EXCEL_ROWS, prefixes) is not None
    assert xlsx_scan.rows(body, prefixes) is None


@pytest.mark.parametrize("broken", [b'<row r="9"><c r="A9"><v>1</v></row>', b'<row r="9" r="9"/>', b"<row>\x01</row>"])
def test_a_malformed_block_is_still_refused(broken: bytes) -> None:
    content = _sheet_workbook(_EXCEL_ROWS + broken)
    with pytest.raises(ParseError), zipfile.ZipFile(io.BytesIO(content)) as archive:
        list(xlsx_reader.sheet_values(archive))


def _sheet_workbook(rows: bytes) -> bytes:
    book = Workbook()
    assert book.active is not None
    book.active.append(["x"])
    out = io.BytesIO()
    book.save(out)
    source, result = zipfile.ZipFile(io.BytesIO(out.getvalue())), io.BytesIO()
    with zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = _HEAD + rows + _CLOSING
            target.writestr(item, data)
    return result.getvalue()


def test_a_workbook_reads_the_same_scanned_or_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "残疾人证号", "when", "count", "flag"])
    for n in range(3000):  # several blocks
        sheet.append([f"张{n}", f"5101221950010{n:05d}11", datetime(2020, 1, 1 + n % 28), n * 1.5, n % 2 == 0])
    sheet.append(["A & B", "<x>", None, "=1+1", None])
    out = io.BytesIO()
    book.save(out)
    scanned: list[bool] = []
    real_rows = xlsx_scan.rows

    def counting(body: bytes, prefixes: frozenset[str]) -> list[xlsx_scan.Row] | None:
        found = real_rows(body, prefixes)
        scanned.append(found is not None)
        return found

    def values() -> list[list[object]]:
        with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
            return list(xlsx_reader.sheet_values(archive))

    monkeypatch.setattr(xlsx_scan, "rows", counting)
    fast = values()
    assert len(scanned) > 2 and scanned[:-1] == [True] * (len(scanned) - 1)  # the last block has the "&"
    monkeypatch.setattr(xlsx_scan, "rows", lambda body, prefixes: None)
    assert fast == values()
    assert fast[1][0] == "张0" and fast[1][2] == datetime(2020, 1, 1) and fast[-1][:2] == ["A & B", "<x>"]
