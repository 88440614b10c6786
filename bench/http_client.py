"""A minimal HTTP/1.1 load client on asyncio streams: one keep-alive connection per worker.

Why not only httpx: on this machine one ``httpx.AsyncClient`` process tops out near 1,200
requests/s even against a route that does nothing (measured in the same run as the ``echo``
rows), so it cannot show whether the registry reaches 2,000/s. This client spends a few tens of
microseconds per request: what it measures is the server. It speaks just enough HTTP for our
JSON routes (``Content-Length`` bodies, no chunking, no redirects).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit


class HttpError(RuntimeError):
    """The server answered something this client does not understand."""


async def post_all(host: str, port: int, path: str, token: str, bodies: Sequence[dict[str, Any]],
                   clients: int, expect: int = 201) -> tuple[float, list[float], list[str]]:
    """POST each body as JSON with ``clients`` connections; (seconds, latencies, failures)."""
    pending = iter(bodies)
    latencies: list[float] = []
    failures: list[str] = []
    prefix = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
              "Content-Type: application/json\r\n")

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for body in pending:
                data = json.dumps(body).encode()
                request = f"{prefix}Content-Length: {len(data)}\r\n\r\n".encode() + data
                started = time.perf_counter()
                writer.write(request)
                status, answer = await _response(reader)
                latencies.append(time.perf_counter() - started)
                if status != expect:
                    failures.append(f"{status} {answer[:300]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started, latencies, failures


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise HttpError(f"not an HTTP status line: {lines[0]!r}") from None
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise HttpError("chunked responses are not supported by this client")
    if length is None:
        raise HttpError(f"response without Content-Length: {head!r}")
    return status, await reader.readexactly(length)


IDLE_SECONDS = 3.0  # reuse a keep-alive connection only if idle for less than this


class Connections:
    """Keep-alive connections to one server, opened as needed: any number of requests in flight."""

    def __init__(self, url: str, token: str) -> None:
        address = urlsplit(url)
        self._host = address.hostname or "127.0.0.1"
        self._port = address.port or 80
        self._headers = f"Host: {self._host}:{self._port}\r\nAuthorization: Bearer {token}\r\n"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request; the status and the decoded JSON answer."""
        if body is None:
            request = f"{method} {path} HTTP/1.1\r\n{self._headers}\r\n".encode()
        else:
            data = json.dumps(body).encode()
            request = (f"{method} {path} HTTP/1.1\r\n{self._headers}Content-Type: application/json\r\n"
                       f"Content-Length: {len(data)}\r\n\r\n").encode() + data
        while self._idle:
            reader, writer, since = self._idle.pop()
            if time.monotonic() - since < IDLE_SECONDS:
                break
            writer.close()  # the server closes idle keep-alive connections after 5 s (uvicorn's default)
        else:
            reader, writer = await asyncio.open_connection(self._host, self._port)
        writer.write(request)
        status, answer = await _response(reader)
        self._idle.append((reader, writer, time.monotonic()))
        return status, json.loads(answer) if answer else None

    def close(self) -> None:
        """Close every idle connection."""
        for _reader, writer, _since in self._idle:
            writer.close()
        self._idle.clear()
