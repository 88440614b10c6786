"""Who is acting: signed bearer tokens, roles and scope.

Tokens are JWTs (HS256) signed with ``QD_AUTH_SECRET``, shared by every service, so each
service verifies the actor itself and enforces roles and scope on the data it owns. The registry,
which owns staff, issues them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Protocol

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict

from shared.envelope import utcnow
from shared.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    """The roles a principal may hold (each route says which it needs)."""

    FEDERATION_ADMIN = "federation_admin"
    DEPARTMENT_OFFICER = "department_officer"
    TOWNSHIP_OFFICER = "township_officer"
    INSPECTOR = "inspector"
    VIEWER = "viewer"
    AUDITOR = "auditor"


PERSONAL_DATA_ROLES = frozenset({Role.FEDERATION_ADMIN, Role.TOWNSHIP_OFFICER})
"""Roles that may see personal data in clear (township officers only within their township)."""


class Principal(BaseModel):
    """An authenticated member of staff."""

    model_config = ConfigDict(frozen=True)

    staff_id: str
    name: str = ""
    department: str
    roles: frozenset[Role]
    township_code: str | None = None

    def has(self, *roles: Role) -> bool:
        """Whether the principal holds any of ``roles``."""
        return bool(self.roles.intersection(roles))

    def require(self, *roles: Role, action: str) -> None:
        """Raise :class:`Forbidden` unless the principal holds one of ``roles``."""
        if not self.has(*roles):
            wanted = " or ".join(r.value for r in roles)
            raise Forbidden(f"{action} needs the role {wanted}; {self.staff_id} has {self.role_list()}")

    def require_township(self, township_code: str, *, action: str) -> None:
        """A township officer acts only in their own township; federation admins anywhere."""
        if self.has(Role.FEDERATION_ADMIN):
            return
        if self.has(Role.TOWNSHIP_OFFICER) and self.township_code == township_code:
            return
        raise Forbidden(
            f"{action}: {self.staff_id} may act only in township {self.township_code or '(none)'}, "
            f"not {township_code}"
        )

    def role_list(self) -> str:
        """The roles as a readable list."""
        return ", ".join(sorted(r.value for r in self.roles)) or "no role"


_VERIFIED_MAX = 10_000
"""Verified tokens remembered per service (staff × devices signed in within a token's lifetime)."""


class TokenService:
    """Issues and verifies bearer tokens."""

    algorithm = "HS256"

    def __init__(self, secret: str, *, ttl: timedelta = timedelta(minutes=15),
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._secret = secret
        self._ttl = ttl
        self._clock = clock
        # token → (principal, exp): a token verified once needs no second HMAC and claims parsing
        # (~80 µs a request); its expiry is still checked on every use, and the staff directory
        # check (shared.staff) still runs on every request, so nothing is trusted for longer.
        self._verified: dict[str, tuple[Principal, int]] = {}

    @property
    def ttl(self) -> timedelta:
        """How long the tokens issued here live unless told otherwise."""
        return self._ttl

    def issue(self, principal: Principal, *, ttl: timedelta | None = None) -> str:
        """A signed token for ``principal``."""
        now = self._clock()
        claims = {
            "sub": principal.staff_id,
            "dept": principal.department,
            "roles": sorted(r.value for r in principal.roles),
            "township": principal.township_code,
            "iat": int(now.timestamp()),
            "exp": int((now + (ttl or self._ttl)).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=self.algorithm)

    def verify(self, token: str) -> Principal:
        """The principal a token names; :class:`Unauthenticated` if it is invalid or expired."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached[1] <= int(self._clock().timestamp()):
                del self._verified[token]
                raise Unauthenticated("the token has expired; get a new one")
            return cached[0]
        principal, expires = self._verify(token)
        if len(self._verified) >= _VERIFIED_MAX:
            self._verified.clear()  # bounded: at worst tokens are verified again
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, int]:
        try:
            # A token without ``exp`` would never expire: refuse it rather than trust it forever.
            claims = jwt.decode(token, self._secret, algorithms=[self.algorithm],
                                options={"require": ["exp", "sub"], "verify_exp": False, "verify_iat": False})
            if int(claims["exp"]) <= int(self._clock().timestamp()):
                raise jwt.ExpiredSignatureError("Signature has expired")
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired; get a new one") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None
        except (TypeError, ValueError):
            raise Unauthenticated("the token is not valid: its exp is not a time") from None
        try:
            return Principal(
                staff_id=claims["sub"],
                name=claims.get("name", ""),
                department=claims["dept"],
                roles=frozenset(Role(r) for r in claims.get("roles", [])),
                township_code=claims.get("township"),
            ), int(claims["exp"])
        except (KeyError, ValueError) as exc:
            raise Unauthenticated(f"the token lacks a valid claim: {exc}") from None


class _BearerPrincipal(HTTPBearer):
    """The bearer scheme (``/docs`` shows it, with its Authorize button) resolving straight to the
    verified caller: one dependency per request instead of a scheme and a dependency on it (each
    level of FastAPI's dependency solving costs a few per cent of a command route's CPU)."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("send an 'Authorization: Bearer <token>' header")
        tokens: TokenService = request.app.state.tokens
        principal = tokens.verify(token)
        # The staff directory (shared.staff) refuses tokens of staff unknown here, disabled, or whose
        # roles or township changed since the token was issued; absent only where nothing feeds it.
        directory: StaffCheck | None = getattr(request.app.state, "staff_directory", None)
        if directory is not None:
            await directory.check(principal)
        return principal


current_principal = _BearerPrincipal(auto_error=False, scheme_name="HTTPBearer",
                                     description="Bearer token issued by the registry service")
"""FastAPI dependency: the verified caller, or 401."""


class StaffCheck(Protocol):
    """What the bearer dependency asks of a staff directory (see :mod:`shared.staff`)."""

    async def check(self, principal: Principal) -> None:
        """Raise :class:`Unauthenticated` unless ``principal`` matches a current member of staff."""


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
