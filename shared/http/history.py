"""The audit view every service offers: the full, verified history of one of its streams."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from shared.auth import CurrentPrincipal, Role
from shared.errors import NotFound
from shared.eventstore.verify import verify_stream
from shared.runtime import ServiceRuntime


def history_router() -> APIRouter:
    """``GET /streams/{stream_id}``: every event of a stream, in order, with its hash-chain and
    signature check."""
    router = APIRouter(tags=["audit"])

    @router.get("/streams/{stream_id}", summary="Full event history of one entity (audit)")
    async def stream_history(stream_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
        principal.require(Role.FEDERATION_ADMIN, Role.AUDITOR, action="reading an audit history")
        runtime: ServiceRuntime = request.app.state.runtime
        async with runtime.engine.connect() as conn:
            recorded = await runtime.store.read(conn, stream_id)
        if not recorded:
            raise NotFound(f"no stream {stream_id}")
        # Signatures too: an edit with the plain hash chain recomputed shows here as well.
        problems = verify_stream([r.envelope for r in recorded], runtime.settings.load_keyring())
        return {
            "stream_id": stream_id,
            "version": recorded[-1].envelope.stream_version,
            "chain_intact": not problems,
            "problems": problems,
            "events": [r.envelope.model_dump(mode="json", by_alias=True) for r in recorded],
        }

    return router
