"""Response models of the certificate, import, reconciliation and deaths routes (``/docs`` shows them)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from services.registry.domain.certificate_life import CertificateStatus
from shared.http.responses import ResponseModel


class CertificateWritten(ResponseModel):
    """A certificate's stream after the command: pass ``version`` as the next ``expected_version``."""

    person_id: str
    version: int


class Certificate(ResponseModel):
    """A person's certificate dates and its status today (valid, frozen, cancelled, expired)."""

    person_id: str
    issued_on: date
    valid_until: date
    suffix: str
    status: CertificateStatus
    frozen_from: date | None
    cancelled_from: date | None
    cancelled_on: date | None
    township_code: str | None = None
    village_code: str | None = None


class RowProblem(ResponseModel):
    """What is wrong with one field of a row."""

    field: str
    message: str


class RowReport(ResponseModel):
    """One row of an extract compared with the register (personal data masked)."""

    line: int
    status: Literal["new", "registered", "changed", "deregistered", "invalid"]
    certificate_number: str
    name: str
    person_id: str | None
    differences: list[str]
    problems: list[RowProblem]


class DryRunSummary(ResponseModel):
    """How many rows of each status."""

    rows: int
    new: int
    registered: int
    changed: int
    deregistered: int
    invalid: int


class DryRun(ResponseModel):
    """What importing the extract would do."""

    summary: DryRunSummary
    rows: list[RowReport]


class ImportResult(ResponseModel):
    """What the import did; ``problems`` lists the rows skipped or refused."""

    import_id: str
    rows: int
    registered: int
    corrected: int
    unchanged: int
    deregistered: int
    failed: int
    skipped: int
    dry_run: DryRunSummary
    problems: list[RowReport]


class MissingFromFile(ResponseModel):
    """An active registered person of the file's townships whom the file does not list."""

    person_id: str
    township_code: str
    village_code: str


class Reconciliation(ResponseModel):
    """A later extract against the register."""

    townships: list[str]
    not_registered: list[RowReport]
    not_in_file: list[MissingFromFile]
    differences: list[RowReport]
    invalid: list[RowReport]


class DeathProposal(ResponseModel):
    """One row of a deaths list: a proposed deregistration, or why there is none."""

    line: int
    status: Literal["proposed", "already_deregistered", "not_registered", "outside_your_township", "invalid"]
    certificate_number: str
    name: str
    person_id: str | None
    township_code: str | None = None
    died_on: date | None
    problems: list[RowProblem]


class DeathConfirmed(ResponseModel):
    """The outcome of one confirmed death."""

    person_id: str
    status: Literal["deregistered", "refused"]
    version: int | None = None
    error: str | None = None
    field: str | None = None
    message: str | None = None
