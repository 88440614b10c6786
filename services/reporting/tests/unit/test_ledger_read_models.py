"""The rectification ledger and inspection read models (pure projections), overdue, and the printed ledger."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pytest

from services.reporting.projections.inspection_results import INSPECTIONS, insp_findings, insp_item_results
from services.reporting.projections.rectifications import LEDGER, ledger_entries, ledger_steps
from services.reporting.queries.ledger_export import COLUMNS, ledger_csv, ledger_rows, ledger_workbook
from services.reporting.queries.rectifications import days_overdue
from shared.catalogue import EventPayload
from shared.catalogue import supervision as ev
from shared.envelope import Envelope
from shared.projection import MemoryModel, Projection
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.unit

FENGMING = "511403001000"
INSPECTION = {"inspection_id": "i1", "group_id": "g1", "target_kind": "township", "target_code": FENGMING,
              "township_code": FENGMING}
FACTS: dict[str, Any] = {"rectification_id": "rect-f1", "number": "ZG-2026-0001", "finding_id": "f1",
                         "inspection_id": "i1", "group_id": "g1", "township_code": FENGMING,
                         "responsible_unit": "health", "deadline": date(2026, 6, 30)}
ASSIGNED = ev.RectificationAssigned(**FACTS, target_kind="township", target_code=FENGMING, target_name="凤鸣街道",
                                    problem="档案缺失", measures="补齐档案", assigned_on=date(2026, 5, 20))
REPORTED = ev.RectificationReported(**FACTS, measures_taken="已补齐", evidence=["doc://1"],
                                    reported_on=date(2026, 6, 1))
REOPENED = ev.RectificationReopened(**FACTS, reopened_on=date(2026, 6, 2), reopened_by="s-li", reason="仍缺1份")
VERIFIED = ev.RectificationVerified(**FACTS, verified_on=date(2026, 6, 9), verifier="s-li", note="抽查无误",
                                    evidence=["photo://2"])


def replay(projection: Projection, *events: EventPayload) -> MemoryModel:
    model = MemoryModel(projection.tables)
    for version, event in enumerate(events, start=1):
        assert event.event_type in projection.event_types
        envelope = envelope_for(event, version=version, time=datetime(2026, 6, 10, tzinfo=UTC), actor="s-li")
        model.apply(projection.changes(envelope, event))
    return model


def test_the_ledger_keeps_each_step_of_an_entry_with_its_date() -> None:
    model = replay(LEDGER, ASSIGNED, REPORTED, REOPENED, REPORTED, VERIFIED)
    (entry,) = model.table_rows(ledger_entries)
    assert (entry["status"], entry["closed_on"], entry["reopen_count"]) == ("closed", date(2026, 6, 9), 1)
    assert entry["measures_taken"] == "已补齐"
    steps = sorted(model.table_rows(ledger_steps), key=lambda s: s["step"])
    assert [(s["kind"], s["on_date"]) for s in steps] == [
        ("opened", date(2026, 5, 20)), ("reported", date(2026, 6, 1)), ("reopened", date(2026, 6, 2)),
        ("reported", date(2026, 6, 1)), ("closed", date(2026, 6, 9))]
    assert steps[2]["detail"] == "仍缺1份" and steps[4]["evidence"] == '["photo://2"]'


def test_an_extension_moves_the_deadline_and_is_a_step_of_its_own() -> None:
    extended = ev.RectificationDeadlineExtended(**{**FACTS, "deadline": date(2026, 7, 31)},
                                                previous_deadline=date(2026, 6, 30), reason="资金待批")
    model = replay(LEDGER, ASSIGNED, extended)
    (entry,) = model.table_rows(ledger_entries)
    assert (entry["status"], entry["deadline"]) == ("assigned", date(2026, 7, 31))
    assert [s["kind"] for s in model.table_rows(ledger_steps)] == ["opened", "extended"]


@pytest.mark.parametrize(("status", "today", "late"), [
    ("assigned", date(2026, 6, 30), 0),  # the deadline day itself is not overdue
    ("assigned", date(2026, 7, 2), 2),
    ("reopened", date(2026, 7, 10), 10),
    ("reported", date(2026, 7, 10), 0),  # awaiting the re-check: the unit has acted
    ("closed", date(2026, 9, 1), 0),
])
def test_overdue_is_counted_from_the_deadline_while_the_unit_must_act(status: str, today: date, late: int) -> None:
    assert days_overdue(date(2026, 6, 30), status, today) == late


def test_final_item_results_count_once_and_findings_follow_their_ledger_entry() -> None:
    completed = ev.InspectionCompleted(
        **INSPECTION, target_name="凤鸣街道", template_id="t", template_version=1, completed_on=date(2026, 5, 19),
        score=60.0, items_passed=1, items_failed=1, items_not_applicable=0, focus_checks=0,
        focus_checks_with_issues=0, findings=1, item_results={"a": "pass", "b": "fail"})
    scheduled = ev.InspectionScheduled(**INSPECTION, target_name="凤鸣街道", template_id="t", template_version=1,
                                       scheduled_on=date(2026, 5, 18))
    finding = ev.FindingRecorded(**INSPECTION, finding_id="f1", source="item", item_id="b", description="档案缺失")
    model = replay(INSPECTIONS, scheduled, completed, finding, ASSIGNED)
    results = {r["item_id"]: r["result"] for r in model.table_rows(insp_item_results)}
    assert results == {"a": "pass", "b": "fail"}
    (row,) = model.table_rows(insp_findings)
    assert (row["status"], row["number"], row["responsible_unit"]) == ("assigned", "ZG-2026-0001", "health")
    model.apply(INSPECTIONS.changes(replay_envelope(VERIFIED), VERIFIED))
    assert model.table_rows(insp_findings)[0]["status"] == "closed"


def replay_envelope(event: EventPayload) -> Envelope:
    return envelope_for(event, version=9, time=datetime(2026, 6, 10, tzinfo=UTC))


ENTRIES: list[dict[str, Any]] = [
    {"number": "ZG-2026-0001", "source_inspection": {"label": "第一督导组 2026-05-19 凤鸣街道"},
     "problem": "档案缺失", "responsible_unit_name": "区卫健局", "measures": "补齐档案", "measures_taken": "已补齐",
     "deadline": "2026-06-30", "status_label": "已销号", "closed_on": "2026-06-09"},
    {"number": "ZG-2026-0002", "source_inspection": {"label": "第一督导组 2026-05-19 凤鸣街道"},
     "problem": "一人一策未制定", "responsible_unit_name": "区民政局", "measures": "限期制定", "measures_taken": None,
     "deadline": "2026-06-15", "status_label": "整改中（逾期5天）", "closed_on": None},
]


def test_the_printed_rows_follow_the_ledger_columns() -> None:
    rows = ledger_rows(ENTRIES)
    assert rows[0] == ["1", "ZG-2026-0001", "第一督导组 2026-05-19 凤鸣街道", "档案缺失", "区卫健局",
                       "补齐档案\n已落实：已补齐", "2026-06-30", "已销号", "2026-06-09"]
    assert rows[1][0] == "2" and rows[1][8] == ""


def test_the_csv_has_a_bom_for_excel_and_chinese_headings() -> None:
    body = ledger_csv(ENTRIES)
    assert body.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == [name for name, _ in COLUMNS] and len(table) == 3


def test_the_workbook_is_laid_out_for_printing() -> None:
    book = openpyxl.load_workbook(io.BytesIO(ledger_workbook(ENTRIES, today=date(2026, 6, 20))))
    sheet = book.active
    assert sheet is not None
    assert "截至2026年6月20日" in str(sheet["A1"].value) and "A1:I1" in {str(r) for r in sheet.merged_cells.ranges}
    assert [c.value for c in sheet[2]] == [name for name, _ in COLUMNS]
    assert sheet.freeze_panes == "A3" and sheet.print_title_rows == "$1:$2"
    assert sheet.page_setup.orientation == "landscape" and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.column_dimensions["D"].width == 40 and sheet["F3"].alignment.wrap_text
    assert sheet["H4"].font.color.rgb.endswith("C00000")  # overdue in red
    assert sheet.max_row == 4
    assert sheet.row_dimensions[3].height > sheet.row_dimensions[4].height  # two lines of measures vs one
