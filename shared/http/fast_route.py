"""One hot command route answered without FastAPI's per-request machinery — in the plain case only.

A request through FastAPI crosses its middleware stack, the router's match against every route in
turn, dependency solving, body parsing and response building: about as much CPU as the registration
it carries. :class:`FastCommand` (an ASGI middleware) answers one ``(method, path)`` itself when
the request is the plain case: a JSON body of at most ``max_body`` bytes that validates into the
command model, a bearer token that verifies and matches the staff directory, no ``Origin`` header
(browsers' requests keep going through CORS). Every other request — and every request that fails
one of those checks — goes, with its body replayed unchanged, to the app it wraps, so 401, 422 and
the rest are the framework's own answers. The route stays declared in FastAPI (``/docs``, the
other cases) and both paths call the same handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import Principal, current_principal
from shared.errors import QingdanError, Unauthenticated
from shared.http.errors import domain_error_response

Handler = Callable[[Request, Principal, Any], Awaitable[BaseModel]]
"""What the route does once its caller and body (an instance of the model) are known; the FastAPI
route calls it too."""


class FastCommand:
    """ASGI middleware: ``method path`` with a valid body and caller answered by ``handle`` directly."""

    def __init__(self, app: ASGIApp, *, method: str, path: str, model: type[BaseModel], handle: Handler,
                 status_code: int = 201, max_body: int = 64 * 1024) -> None:
        self.app = app
        self._method = method
        self._path = path
        self._model = model
        self._handle = handle
        self._status = status_code
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._plain(scope):
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        body = await self._read_body(receive, received)
        command = self._parse(body) if body is not None else None
        request = Request(scope, receive)
        principal = await self._caller(request) if command is not None else None
        if command is None or principal is None:
            await self.app(scope, _replay(received, receive), send)
            return
        try:
            answer = await self._handle(request, principal, command)
        except QingdanError as exc:
            await domain_error_response(exc)(scope, receive, send)
            return
        content = answer.__pydantic_serializer__.to_json(answer)
        await send({"type": "http.response.start", "status": self._status, "headers": [
            (b"content-length", str(len(content)).encode()), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": content})

    def _plain(self, scope: Scope) -> bool:
        """The route, called without a root path and without an ``Origin`` header (so CORS has nothing to add)."""
        if scope["type"] != "http" or scope["method"] != self._method or scope["path"] != self._path:
            return False
        if scope.get("root_path"):
            return False
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"origin":
                return False
            if name == b"content-type":
                content_type = value
        return content_type.split(b";", 1)[0].strip().lower() == b"application/json"

    async def _read_body(self, receive: Receive, received: list[Message]) -> bytes | None:
        """The whole body, or None past ``max_body`` or on a disconnect (what was read is kept for the replay)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _parse(self, body: bytes) -> BaseModel | None:
        # Parsed, then validated in Python mode, as FastAPI does (JSON-mode validation accepts a
        # little more or less for some types); anything orjson refuses (NaN, huge integers) is
        # left to the framework too.
        try:
            return self._model.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError):
            return None  # the framework answers 422 with its own wording

    @staticmethod
    async def _caller(request: Request) -> Principal | None:
        try:
            return await current_principal(request)
        except Unauthenticated:
            return None  # the framework answers 401


def _replay(received: list[Message], receive: Receive) -> Receive:
    """``receive`` giving back the messages already read first."""
    pending = list(received)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        message: Any = await receive()
        return message  # type: ignore[no-any-return]

    return replayed
