"""Calling a service over HTTP from a script: the launcher's demo loader and the tests alike."""

from __future__ import annotations

from typing import Any

import httpx


class UnexpectedResponse(AssertionError):
    """A service answered with another status than the caller required.

    An ``AssertionError`` so that a test using :func:`expect` fails as an assertion would.
    """


def expect(response: httpx.Response, status: int) -> Any:
    """The JSON body of a response that must have ``status``; raises with the body otherwise."""
    if response.status_code != status:
        raise UnexpectedResponse(
            f"{response.request.method} {response.request.url} -> {response.status_code}, "
            f"expected {status}: {response.text}"
        )
    return response.json() if response.content else None
