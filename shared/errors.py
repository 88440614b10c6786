"""Errors the domain and application raise; the HTTP layer maps each kind to a status code."""

from __future__ import annotations


class QingdanError(Exception):
    """Base of errors meant for the user: the message says what is wrong."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class DomainRuleViolated(QingdanError):
    """A command that the current state does not allow (completing twice, a visit for a deregistered person)."""

    status_code = 409
    code = "rule_violated"


class InvalidInput(QingdanError):
    """Input that is well-formed but wrong (a bad certificate number, an unknown village)."""

    status_code = 422
    code = "invalid"


class NotFound(QingdanError):
    """The entity named does not exist."""

    status_code = 404
    code = "not_found"


class AlreadyExists(QingdanError):
    """An entity with that identity exists already (a duplicate certificate number)."""

    status_code = 409
    code = "already_exists"


class ConcurrencyConflict(QingdanError):
    """The stream changed since the caller read it: their expected version is stale."""

    status_code = 409
    code = "version_conflict"

    def __init__(self, stream_id: str, expected: int, actual: int | None) -> None:
        where = f"is at version {actual}, not {expected}" if actual is not None else "was changed concurrently"
        super().__init__(f"{stream_id} {where}: it was changed by someone else; reload it and try again")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class WriteConflict(QingdanError):
    """A write clashed with one made at the same moment by another process."""

    status_code = 409
    code = "write_conflict"

    def __init__(self) -> None:
        super().__init__("this change clashed with another made at the same moment; reload and try again")


class Unauthenticated(QingdanError):
    """No valid credentials."""

    status_code = 401
    code = "unauthenticated"


class Forbidden(QingdanError):
    """Authenticated, but this actor's role or scope does not allow the command."""

    status_code = 403
    code = "forbidden"


class TooManyRequests(QingdanError):
    """The caller used up a rate limit; ``retry_after`` seconds until they may try again (429)."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
