"""Importing the district's register from a certificate holders' extract: dry run, then import.

The import is idempotent: a row already registered with the same facts changes nothing; a row
that differs becomes the correction events the register has for it (name/address corrected,
relocated, re-assessed, certificate issued, renewed or reissued).

The rows to write go through the group-commit executor in chunks of :data:`CHUNK_ROWS`, one
buffered command (so one transaction) per chunk, one after the other. A chunk reuses what the dry
run found (the resident ID's keyed hash, the person a changed row belongs to): a new row is
registered without another lookup, and its resident index is claimed with the batch's single
duplicate check (``UnitOfWork.claim``). If a chunk fails — a rule refuses a row, or a resident was
registered by someone else since the dry run — the chunk is written again row by row (one buffered
command each, the rows looking themselves up again), so that only the bad row is reported and the
outcome counts are those of a row-by-row import.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from services.registry.adapters.tables import person_keys, persons
from services.registry.application.deps import RegistryDeps
from services.registry.application.extract_analysis import Reader, RowReport, analyse, summary
from services.registry.application.lookup_rows import CERTIFICATE, PERSON
from services.registry.application.lookups import claim_resident_index, registered_person
from services.registry.domain import certificate_life as life
from services.registry.domain import person as person_domain
from services.registry.domain.extract_row import ExtractRow, Problem
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.errors import QingdanError
from shared.eventstore import CommandContext
from shared.eventstore.repository import Repository
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id

T = TypeVar("T")
RunBuffered = Callable[[Callable[[UnitOfWork], Awaitable[T]]], Awaitable[T]]

CHUNK_ROWS = 500
"""Rows per command (and transaction) of an import: enough to pay a command's fixed cost once for
many rows, few enough that a chunk's buffered writes stay small and a failed chunk's row-by-row
retry stays short."""


async def dry_run(reader: Reader, deps: RegistryDeps, principal: Principal, content: bytes) -> list[RowReport]:
    """What importing the extract would do, row by row; writes nothing."""
    principal.require(Role.FEDERATION_ADMIN, action="checking a register extract")
    return await analyse(reader, deps, content)


async def _register(uow: UnitOfWork, deps: RegistryDeps, row: ExtractRow, index: str, ctx: CommandContext) -> str:
    person_id = new_id()
    await claim_resident_index(uow, index, person_id)
    _key, wrapped = deps.vault.new_subject(person_id)
    sealed = deps.vault.seal(wrapped, person_id, {
        "certificate_number": row.certificate.value, "name": row.name, "address": row.address})
    await uow.insert(person_keys, {"person_id": person_id, "wrapped_key": wrapped, "erased_at": None})
    events = person_domain.register(
        person_id=person_id, certificate=row.certificate, sealed=sealed,
        village_code=row.village_code, township_code=row.township_code, hardship=[],
        severe_rule=deps.severe_rule, registered_on=deps.today())
    await deps.repository.save(uow, PERSON, Repository.new(PERSON, person_id), events, ctx, expected_version=None)
    if row.issued_on is not None:
        issued = life.issue(person_id=person_id, issued_on=row.issued_on, suffix=row.suffix,
                            village_code=row.village_code, township_code=row.township_code,
                            policy=deps.certificate_policy, today=deps.today())
        await deps.repository.save(uow, CERTIFICATE, Repository.new(CERTIFICATE, person_id), issued, ctx,
                                   expected_version=None)
    return "registered"


async def _person_corrections(uow: UnitOfWork, deps: RegistryDeps, person: person_domain.Person, row: ExtractRow
                              ) -> list[EventPayload]:
    found = await uow.find(person_keys, person_id=person.person_id)
    key = bytes(found["wrapped_key"]) if found and found["wrapped_key"] is not None else None
    if key is None:  # erased: nothing of theirs can be compared or sealed again
        return []
    row_now = await uow.find(persons, person_id=person.person_id)
    opened = deps.vault.open(key, person.person_id, json.loads(row_now["sealed"])) if row_now else {}
    opened = opened or {}
    events: list[EventPayload] = []
    fields = {k: v for k, v in (("name", row.name), ("address", row.address)) if v and v != opened.get(k)}
    if fields:
        events += person_domain.correct(person, sealed=deps.vault.seal(key, person.person_id, fields),
                                        fields=sorted(fields))
    if row.village_code != person.village_code:
        events += person_domain.relocate(person, village_code=row.village_code, township_code=row.township_code,
                                         sealed={})
    if (int(row.certificate.category), row.certificate.grade) != (person.category, person.grade):
        events += person_domain.reassess(
            person, certificate=row.certificate, severe_rule=deps.severe_rule,
            sealed=deps.vault.seal(key, person.person_id, {"certificate_number": row.certificate.value}))
    return events


def _suffix_number(suffix: str) -> int:
    return int(suffix[1:]) if suffix else 0


def _certificate_corrections(record: life.CertificateRecord | None, person: person_domain.Person, row: ExtractRow,
                             deps: RegistryDeps) -> list[EventPayload]:
    """Bring the certificate in line with the row: issue it, renew it (a later issue date), reissue it
    up to the row's suffix. An earlier date or suffix than the register's is left alone (the register
    is newer); the dry run still shows it as a difference."""
    today, policy = deps.today(), deps.certificate_policy
    if record is None:
        if row.issued_on is None:
            return []
        return life.issue(person_id=person.person_id, issued_on=row.issued_on, suffix=row.suffix,
                          village_code=person.village_code, township_code=person.township_code,
                          policy=policy, today=today)
    events: list[EventPayload] = []
    if row.issued_on is not None and row.issued_on > record.issued_on:
        events += life.renew(record, issued_on=row.issued_on, policy=policy, today=today)
    # A later suffix in the national system means reissues we have not recorded: one event each.
    for _ in range(_suffix_number(record.suffix), _suffix_number(row.suffix)):
        reissued = life.reissue(record, issued_on=row.issued_on or today, today=today)
        record = life.evolve(record, reissued[0])
        events += reissued
    return events


async def import_row(uow: UnitOfWork, deps: RegistryDeps, row: ExtractRow, ctx: CommandContext) -> str:
    """Register the row's person, or bring the register in line with it: ``registered``, ``corrected``,
    ``unchanged`` or ``deregistered`` (a deregistered person is left alone)."""
    index = deps.vault.blind_index(row.certificate.resident_id.value)
    person_id = await registered_person(uow, index)
    if person_id is None:
        return await _register(uow, deps, row, index, ctx)
    return await _bring_in_line(uow, deps, person_id, row, ctx)


async def _bring_in_line(uow: UnitOfWork, deps: RegistryDeps, person_id: str, row: ExtractRow,
                         ctx: CommandContext) -> str:
    person = await deps.repository.load(uow, PERSON, person_id)
    if not person.state.active:
        return "deregistered"
    person_events = await _person_corrections(uow, deps, person.state, row)
    certificate = await deps.repository.find(uow, CERTIFICATE, person_id)
    certificate_events = _certificate_corrections(certificate.state, person.state, row, deps)
    if person_events:
        await deps.repository.save(uow, PERSON, person, person_events, ctx, expected_version=None)
    if certificate_events:
        await deps.repository.save(uow, CERTIFICATE, certificate, certificate_events, ctx, expected_version=None)
    return "corrected" if person_events or certificate_events else "unchanged"


async def import_chunk(uow: UnitOfWork, deps: RegistryDeps, reports: list[RowReport], ctx: CommandContext
                       ) -> list[str]:
    """Write a chunk of rows the dry run found ``new`` or ``changed``, in one command: each row's outcome.

    A new row is registered straight away (its resident index claimed, checked with the batch); a
    changed row is brought in line with the person the dry run found. Any refusal fails the whole
    chunk (nothing of it is written): the caller then retries it row by row.
    """
    outcomes: list[str] = []
    for report in reports:
        row = report.checked
        assert row is not None
        if report.status == "new":
            outcomes.append(await _register(uow, deps, row, report.resident_index, ctx))
        else:
            assert report.person_id is not None
            outcomes.append(await _bring_in_line(uow, deps, report.person_id, row, ctx))
    return outcomes


async def import_extract(
    reader: Reader, run: RunBuffered[Any], deps: RegistryDeps, principal: Principal, content: bytes
) -> dict[str, Any]:
    """Import every valid row (chunks of :data:`CHUNK_ROWS` rows per command); invalid rows are skipped
    and reported."""
    principal.require(Role.FEDERATION_ADMIN, action="importing a register extract")
    reports = await analyse(reader, deps, content)
    import_id = new_id()
    ctx = deps.context(principal, correlation_id=import_id)
    todo = [r for r in reports if r.checked is not None and r.status in ("new", "changed")]
    for report in reports:  # the clear row is needed only to write it: the report outlives it
        if report.status not in ("new", "changed"):
            report.checked = None

    async def one(report: RowReport) -> str:
        assert report.checked is not None
        checked = report.checked
        try:
            outcome: str = await run(lambda uow: import_row(uow, deps, checked, ctx))
            return outcome
        except QingdanError as exc:
            report.problems.append(Problem(exc.field or "row", exc.message))
            return "failed"

    counts = dict.fromkeys(("registered", "corrected", "unchanged", "deregistered", "failed"), 0)
    for start in range(0, len(todo), CHUNK_ROWS):
        chunk = todo[start:start + CHUNK_ROWS]
        try:
            outcomes: list[str] = await run(partial(import_chunk, deps=deps, reports=chunk, ctx=ctx))
        except QingdanError:
            # Which row was refused is not known here: row by row, only that one fails.
            outcomes = await asyncio.gather(*(one(r) for r in chunk))
        for outcome in outcomes:
            counts[outcome] += 1
        for report in chunk:
            report.checked = None
    counts["unchanged"] += sum(r.status == "registered" for r in reports)
    counts["deregistered"] += sum(r.status == "deregistered" for r in reports)
    skipped = [r for r in reports if r.status == "invalid" or r.problems]
    return {"import_id": import_id, "rows": len(reports), **counts,
            "skipped": sum(r.status == "invalid" for r in reports), "dry_run": summary(reports),
            "problems": [r.as_json() for r in skipped]}
