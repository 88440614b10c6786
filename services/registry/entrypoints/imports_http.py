"""HTTP routes of the register extract: dry run (JSON or xlsx), import, reconciliation, deaths.

Uploads are the file itself as the request body (``Content-Type`` of an xlsx or ``text/csv``;
the format is told from the content), bounded by ``QD_IMPORT_MAX_BYTES`` (413 beyond it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from services.registry.adapters.spreadsheet import XLSX
from services.registry.application import imports, reconciliation
from services.registry.application.deps import RegistryDeps
from services.registry.application.extract_analysis import report_workbook, summary
from services.registry.entrypoints import register_schemas as s
from shared.auth import CurrentPrincipal
from shared.errors import InvalidInput, QingdanError
from shared.http.commands import execute
from shared.http.deps import ReadConnection, service_deps

router = APIRouter(tags=["register import"])

Deps = Annotated[RegistryDeps, Depends(service_deps(RegistryDeps))]

_UPLOAD = {"requestBody": {"required": True, "content": {
    XLSX: {"schema": {"type": "string", "format": "binary"}},
    "text/csv": {"schema": {"type": "string", "format": "binary"}}}}}


class UploadTooLarge(QingdanError):
    """The uploaded file is larger than the configured bound."""

    status_code = 413
    code = "too_large"


async def read_upload(request: Request, max_bytes: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``max_bytes`` (never read whole first)."""
    too_large = UploadTooLarge(f"the file is larger than {max_bytes} bytes (QD_IMPORT_MAX_BYTES); "
                               "split the extract by township", field="file")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    content = b"".join(chunks)
    if not content:
        raise InvalidInput("no file: send the xlsx or csv extract as the request body", field="file")
    return content


@router.post("/register-imports/dry-run", openapi_extra=_UPLOAD, response_model=s.DryRun,
             summary="Check an extract of certificate holders against the register (writes nothing)",
             responses={200: {"content": {XLSX: {}}, "description": "the report, as JSON or (format=xlsx) a workbook"}})
async def dry_run(
    request: Request, who: CurrentPrincipal, deps: Deps, conn: ReadConnection,
    report_format: Annotated[str, Query(alias="format", pattern="^(json|xlsx)$")] = "json",
) -> Any:
    content = await read_upload(request, deps.import_max_bytes)
    reports = await imports.dry_run(conn, deps, who, content)
    if report_format == "xlsx":
        return Response(report_workbook(reports), media_type=XLSX,
                        headers={"content-disposition": 'attachment; filename="register-dry-run.xlsx"'})
    return s.DryRun.model_validate({"summary": summary(reports), "rows": [r.as_json() for r in reports]})


@router.post("/register-imports", openapi_extra=_UPLOAD, summary="Import an extract (idempotent)")
async def import_extract(request: Request, who: CurrentPrincipal, deps: Deps, conn: ReadConnection
                         ) -> s.ImportResult:
    content = await read_upload(request, deps.import_max_bytes)

    async def run(command: Any) -> Any:
        return await execute(request, command, buffered=True)
    return s.ImportResult.model_validate(await imports.import_extract(conn, run, deps, who, content))


@router.post("/register-imports/reconciliation", openapi_extra=_UPLOAD,
             summary="A later extract against the register: missing, extra, differing")
async def reconcile(request: Request, who: CurrentPrincipal, deps: Deps, conn: ReadConnection) -> s.Reconciliation:
    content = await read_upload(request, deps.import_max_bytes)
    return s.Reconciliation.model_validate(await reconciliation.reconcile(conn, deps, who, content))


@router.post("/deaths/proposals", openapi_extra=_UPLOAD,
             summary="A deaths list: the deregistrations it proposes (writes nothing)")
async def propose_deaths(request: Request, who: CurrentPrincipal, deps: Deps, conn: ReadConnection
                         ) -> list[s.DeathProposal]:
    content = await read_upload(request, deps.import_max_bytes)
    return [s.DeathProposal.model_validate(p) for p in await reconciliation.propose_deaths(conn, deps, who, content)]


@router.post("/deaths/confirmations", summary="Confirm proposed deaths: deregister and cancel the certificate")
async def confirm_deaths(body: reconciliation.ConfirmDeaths, request: Request, who: CurrentPrincipal, deps: Deps
                         ) -> list[s.DeathConfirmed]:
    async def run(command: Any) -> int:
        result: int = await execute(request, command, buffered=True)
        return result
    found = await reconciliation.confirm_deaths(run, deps, who, body)
    return [s.DeathConfirmed.model_validate(d) for d in found]


