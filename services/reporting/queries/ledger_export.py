"""The rectification ledger (整改台账) as people print it: an .xlsx sheet, and the same rows as CSV.

One row per rectification under a title row and a header row of Chinese column headings; long text
wraps; the header stays in view when scrolling and repeats on every printed page, landscape, fitted
to the page width.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

COLUMNS: tuple[tuple[str, float], ...] = (
    ("序号", 6), ("编号", 14), ("来源检查", 30), ("问题", 40), ("责任单位", 14), ("整改措施", 40),
    ("整改期限", 12), ("状态", 18), ("销号日期", 12),
)
"""The printed columns and their widths (in characters)."""

TITLE = "残疾人工作督导检查问题整改台账"


def ledger_rows(entries: Sequence[dict[str, Any]]) -> list[list[str]]:
    """One printed row per ledger entry, in ledger order, as text."""
    rows = []
    for n, e in enumerate(entries, start=1):
        measures = e["measures"]
        if e.get("measures_taken"):
            measures = f"{measures}\n已落实：{e['measures_taken']}"
        rows.append([str(n), e["number"] or "", e["source_inspection"]["label"], e["problem"],
                     e["responsible_unit_name"], measures, str(e["deadline"]), e["status_label"],
                     str(e["closed_on"] or "")])  # days as YYYY-MM-DD text, as printed
    return rows


def _lines(text: str, chars: float) -> int:
    """How many lines ``text`` wraps to in a column ``chars`` wide (a CJK character is nearly two wide)."""
    lines = 0
    for part in text.split("\n"):
        width = sum(1.8 if ord(ch) >= 0x2E80 else 1.0 for ch in part)
        lines += max(1, math.ceil(width / max(chars - 1, 1)))
    return lines


def row_height(row: Sequence[str]) -> float:
    """A printed row tall enough for its longest wrapped cell (spreadsheets do not grow rows on open)."""
    return 14.0 * max(_lines(value, chars) for value, (_, chars) in zip(row, COLUMNS, strict=True)) + 4


def ledger_csv(entries: Sequence[dict[str, Any]]) -> bytes:
    """The ledger as CSV, UTF-8 with a byte-order mark so that Excel reads the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _ in COLUMNS])
    writer.writerows(ledger_rows(entries))
    return buffer.getvalue().encode("utf-8-sig")


def ledger_workbook(entries: Sequence[dict[str, Any]], *, today: date, subtitle: str = "") -> bytes:
    """The ledger as an .xlsx workbook laid out for printing."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "整改台账"
    width = len(COLUMNS)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)

    title = f"{TITLE}（截至{today.year}年{today.month}月{today.day}日）"
    sheet.cell(row=1, column=1, value=f"{title} {subtitle}".strip())
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(row=1, column=1).font = Font(name="宋体", size=16, bold=True)
    sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 32

    header_fill = PatternFill("solid", fgColor="D9D9D9")
    for column, (name, chars) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=2, column=column, value=name)
        cell.font = Font(name="黑体", size=11, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = header_fill
        cell.border = border
        sheet.column_dimensions[get_column_letter(column)].width = chars
    sheet.row_dimensions[2].height = 22

    centred = {1, 2, 5, 7, 8, 9}
    for row_number, row in enumerate(ledger_rows(entries), start=3):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column, value=value)
            cell.font = Font(name="宋体", size=10, color="C00000" if column == 8 and "逾期" in value else None)
            cell.alignment = Alignment(horizontal="center" if column in centred else "left",
                                       vertical="center", wrap_text=True)
            cell.border = border
        sheet.row_dimensions[row_number].height = row_height(row)

    sheet.freeze_panes = "A3"
    sheet.print_title_rows = "1:2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
