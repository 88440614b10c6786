"""Comparing a certificate holders' extract with the register, row by row (reads only).

Shared by the import (dry run and import) and the reconciliation: each row is checked
(``domain.extract_row``), looked up by its resident ID's keyed hash (``lookups``), and compared
with what the register holds. Reports carry masked certificate numbers and names only, so a
downloaded report does not spread personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters import spreadsheet
from services.registry.adapters.tables import certificates, org_units, person_keys, persons
from services.registry.application.deps import RegistryDeps
from services.registry.application.lookups import registered_persons
from services.registry.domain.certificate import mask_certificate, mask_name
from services.registry.domain.extract_row import ExtractRow, Problem, VillageDirectory, check_row
from shared.eventstore.unit_of_work import UnitOfWork

Reader = AsyncConnection | UnitOfWork

RowStatus = Literal["new", "registered", "changed", "deregistered", "invalid"]
REQUIRED = ("name", "certificate_number")


@dataclass
class RowReport:
    """One row of the extract compared with the register."""

    line: int
    status: RowStatus
    certificate_number: str
    name: str
    person_id: str | None = None
    problems: list[Problem] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    checked: ExtractRow | None = None
    resident_index: str = ""
    """The resident ID's keyed hash (valid rows only), so that the import need not compute it again."""

    def as_json(self) -> dict[str, Any]:
        """The row as reported (no checked row: it holds personal data in clear)."""
        return {"line": self.line, "status": self.status, "certificate_number": self.certificate_number,
                "name": self.name, "person_id": self.person_id, "differences": self.differences,
                "problems": [{"field": p.field, "message": p.message} for p in self.problems]}


@dataclass(frozen=True)
class Current:
    """What the register holds for one person, in clear (never logged, never reported)."""

    person_id: str
    active: bool
    village_code: str
    township_code: str
    category: int
    grade: int
    name: str | None
    address: str | None
    issued_on: date | None
    suffix: str


def differences(row: ExtractRow, current: Current) -> list[str]:
    """The fields of ``row`` that differ from the register (blank cells are not differences)."""
    found = []
    if row.name != current.name and current.name is not None:
        found.append("name")
    if row.address and row.address != current.address and current.name is not None:
        found.append("address")
    if row.village_code != current.village_code:
        found.append("village")
    if (int(row.certificate.category), row.certificate.grade) != (current.category, current.grade):
        found.append("category_grade")
    if row.issued_on is not None and row.issued_on != current.issued_on:
        found.append("issued_on")
    if row.suffix and row.suffix != current.suffix:
        found.append("suffix")
    return found


async def village_directory(reader: Reader) -> VillageDirectory:
    """Every village, by code and by name."""
    rows = await reader.execute(select(org_units.c.code, org_units.c.name, org_units.c.level, org_units.c.parent_code))
    return VillageDirectory.of([(r.code, r.name, r.level, r.parent_code) for r in rows])


async def current_persons(reader: Reader, deps: RegistryDeps, person_ids: list[str]) -> dict[str, Current]:
    """What the register holds for these persons (committed state)."""
    found: dict[str, Current] = {}
    for start in range(0, len(person_ids), 500):
        chunk = person_ids[start:start + 500]
        query = (select(persons, person_keys.c.wrapped_key, certificates.c.issued_on, certificates.c.suffix)
                 .join(person_keys, person_keys.c.person_id == persons.c.person_id)
                 .outerjoin(certificates, certificates.c.person_id == persons.c.person_id)
                 .where(persons.c.person_id.in_(chunk)))
        for r in await reader.execute(query):
            opened = deps.vault.open(r.wrapped_key, r.person_id, json.loads(r.sealed)) if not r.erased else None
            found[r.person_id] = Current(
                person_id=r.person_id, active=r.active, village_code=r.village_code, township_code=r.township_code,
                category=r.category, grade=r.grade, name=(opened or {}).get("name"),
                address=(opened or {}).get("address"), issued_on=r.issued_on, suffix=r.suffix or "")
    return found


async def analyse(uow: Reader, deps: RegistryDeps, content: bytes) -> list[RowReport]:
    """Every row of the extract compared with the register."""
    _fields, rows = spreadsheet.stream_sheet(content, required=REQUIRED)
    villages = await village_directory(uow)
    today = deps.today()
    reports: list[RowReport] = []
    seen: dict[str, int] = {}
    indexes: dict[int, str] = {}
    for line, row in rows:
        checked = check_row(line, row, villages=villages, today=today, parse_date=spreadsheet.parse_date)
        shown = mask_certificate(row.get("certificate_number", "")), mask_name(row.get("name", ""))
        if isinstance(checked, list):
            reports.append(RowReport(line, "invalid", *shown, problems=checked))
            continue
        index = deps.vault.blind_index(checked.certificate.resident_id.value)
        if index in seen:
            reports.append(RowReport(line, "invalid", *shown, problems=[Problem(
                "certificate_number", f"the same resident ID is already on line {seen[index]}")]))
            continue
        seen[index] = line
        indexes[line] = index
        reports.append(RowReport(line, "new", *shown, checked=checked, resident_index=index))
    owners = await registered_persons(uow, indexes.values())
    current = await current_persons(uow, deps, sorted(set(owners.values())))
    for report in reports:
        person_id = owners.get(indexes.get(report.line, ""))
        if person_id is None or report.checked is None:
            continue
        report.person_id = person_id
        now = current.get(person_id)
        if now is None:
            continue
        if not now.active:
            report.status = "deregistered"
            continue
        report.differences = differences(report.checked, now)
        report.status = "changed" if report.differences else "registered"
    return reports


def summary(reports: list[RowReport]) -> dict[str, int]:
    """How many rows of each status."""
    counts = dict.fromkeys(("new", "registered", "changed", "deregistered", "invalid"), 0)
    for report in reports:
        counts[report.status] += 1
    return {"rows": len(reports), **counts}


def report_workbook(reports: list[RowReport]) -> bytes:
    """The dry run as a spreadsheet (行号, 状态, 残疾人证号, 姓名, 差异, 问题), personal data masked."""
    return spreadsheet.workbook_bytes("核对结果", ["行号 line", "状态 status", "残疾人证号", "姓名",
                                                "差异 differences", "问题 problems"], [
        [r.line, r.status, r.certificate_number, r.name, ", ".join(r.differences),
         "; ".join(f"{p.field}: {p.message}" for p in r.problems)] for r in reports])
