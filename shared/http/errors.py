"""The JSON answer to a domain error, the same from every route."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from shared.errors import QingdanError, TooManyRequests


def domain_error_response(exc: QingdanError) -> JSONResponse:
    """``{"error", "message"[, "field"]}`` with the error's status (and ``Retry-After`` for a 429)."""
    body: dict[str, Any] = {"error": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return JSONResponse(body, status_code=exc.status_code, headers=headers)
