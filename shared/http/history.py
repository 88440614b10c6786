"""The audit view every service offers: the full, verified history of one of its streams."""

from __future__ import annotations

from fastapi import APIRouter

from shared.access import AUDIT_HISTORY
from shared.auth import CurrentPrincipal
from shared.errors import NotFound
from shared.eventstore.verify import verify_stream
from shared.http.deps import ReadConnection, Runtime
from shared.http.responses import StreamHistory


def history_router() -> APIRouter:
    """``GET /streams/{stream_id}``: every event of a stream, in order, with its hash-chain and
    signature check."""
    router = APIRouter(tags=["audit"])

    @router.get("/streams/{stream_id}", summary="Full event history of one entity (audit)")
    async def stream_history(
        stream_id: str, principal: CurrentPrincipal, runtime: Runtime, conn: ReadConnection
    ) -> StreamHistory:
        AUDIT_HISTORY.require(principal, "reading an audit history")
        recorded = await runtime.store.read(conn, stream_id)
        if not recorded:
            raise NotFound(f"no stream {stream_id}")
        envelopes = [r.envelope for r in recorded]
        # Signatures too: an edit with the plain hash chain recomputed shows here as well.
        problems = verify_stream(envelopes, runtime.settings.load_keyring(), [r.position for r in recorded])
        return StreamHistory(stream_id=stream_id, version=envelopes[-1].stream_version, chain_intact=not problems,
                             problems=problems, events=envelopes)

    return router
