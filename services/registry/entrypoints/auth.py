"""HTTP routes of sign-in (``/auth/*``) and of staff accounts (set-up codes, roles, contact, disabling)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from services.registry.application import commands as c
from services.registry.application import credentials, organisation
from services.registry.application.credentials import Outcome, SignedIn, SignInPolicy
from services.registry.application.deps import RegistryDeps
from services.registry.entrypoints import schemas as s
from shared.auth import CurrentPrincipal, TokenService
from shared.http.commands import execute
from shared.http.deps import ReadConnection, service_deps
from shared.http.responses import ResponseModel
from shared.ratelimit import PerMinuteLimit

router = APIRouter(tags=["auth"])

Deps = Annotated[RegistryDeps, Depends(service_deps(RegistryDeps))]
StaffId = Annotated[str, Path(pattern=r"^[a-zA-Z0-9_.-]{2,50}$")]


async def _policy(request: Request) -> SignInPolicy:
    policy: SignInPolicy = request.app.state.sign_in
    return policy


Policy = Annotated[SignInPolicy, Depends(_policy)]


async def _attempt(request: Request) -> None:
    """Count one attempt against the client address's limit (429 once over it). Behind a reverse
    proxy the address is the proxy's unless uvicorn trusts its ``X-Forwarded-For`` (docs/registry.md)."""
    limit: PerMinuteLimit = request.app.state.sign_in_attempts
    limit.hit(request.client.host if request.client else "unknown")


Attempt = Depends(_attempt)


class Login(BaseModel):
    staff_id: str = Field(max_length=50)
    password: str = Field(max_length=200)


class SetPassword(BaseModel):
    staff_id: str = Field(max_length=50)
    code: str = Field(max_length=100)
    password: str = Field(min_length=10, max_length=200, description="At least 10 characters")


class RefreshToken(BaseModel):
    refresh_token: str = Field(max_length=200)


class TokenPair(ResponseModel):
    """A short-lived access token and the refresh token that gets the next one (use it once)."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="Seconds the access token is valid")
    staff_id: str
    roles: list[str]
    department: str


class Done(ResponseModel):
    """The request was carried out (nothing else to say)."""

    done: bool


class SetupCode(ResponseModel):
    """A one-time code for a member of staff to set their password with (hand it over in person)."""

    staff_id: str
    code: str
    expires_at: datetime


def _pair(request: Request, signed_in: SignedIn) -> TokenPair:
    tokens: TokenService = request.app.state.tokens
    p = signed_in.principal
    return TokenPair(access_token=tokens.issue(p), refresh_token=signed_in.refresh_token, token_type="bearer",
                     expires_in=int(tokens.ttl.total_seconds()), staff_id=p.staff_id,
                     roles=sorted(r.value for r in p.roles), department=p.department)


def _signed_in(request: Request, result: tuple[Outcome, SignedIn | None], until: datetime | None = None) -> TokenPair:
    outcome, signed_in = result
    if signed_in is None:
        raise credentials.refused(outcome, until)
    return _pair(request, signed_in)


@router.post("/auth/login", summary="Sign in with staff id and password", dependencies=[Attempt],
             responses={401: {"description": "Wrong staff id or password"},
                        423: {"description": "Locked after repeated failures; try again later"},
                        429: {"description": "Too many attempts from this address; try again later"}})
async def login(body: Login, request: Request, policy: Policy, conn: ReadConnection) -> TokenPair:
    row = await credentials.stored_hash(conn, body.staff_id)
    await conn.rollback()  # hold no read transaction while hashing
    until = row.locked_until if row else None
    if until is not None and until > policy.clock():
        raise credentials.refused(Outcome.LOCKED, until)
    # argon2 is slow on purpose: verify in a thread, outside the writer; the writer records the outcome.
    ok = await asyncio.to_thread(credentials.password_matches, row.password_hash if row else None, body.password)
    outcome, signed_in, until = await execute(
        request, lambda uow: credentials.record_sign_in(uow, policy, body.staff_id, ok))
    return _signed_in(request, (outcome, signed_in), until)


@router.post("/auth/refresh", summary="Trade a refresh token for new tokens (the old one is spent)")
async def refresh(body: RefreshToken, request: Request, policy: Policy) -> TokenPair:
    return _signed_in(request, await execute(request, lambda uow: credentials.rotate(uow, policy, body.refresh_token)))


@router.post("/auth/logout", summary="Revoke a refresh token (signing out)")
async def logout(body: RefreshToken, request: Request) -> Done:
    await execute(request, lambda uow: credentials.revoke(uow, body.refresh_token))
    return Done(done=True)


@router.post("/auth/password", summary="Set a password with a one-time set-up code", dependencies=[Attempt],
             responses={429: {"description": "Too many attempts from this address; try again later"}})
async def set_password(body: SetPassword, request: Request, policy: Policy) -> Done:
    hashed = await asyncio.to_thread(credentials.hash_password, body.password)
    await execute(request, lambda uow: credentials.set_password(uow, policy, body.staff_id, body.code, hashed))
    return Done(done=True)


@router.post("/staff/{staff_id}/setup-code", status_code=201, tags=["organisation"],
             summary="Issue a one-time code for a member of staff to set their password (admins)")
async def issue_setup_code(staff_id: StaffId, request: Request, who: CurrentPrincipal, policy: Policy) -> SetupCode:
    code, expires = await execute(request, lambda uow: credentials.issue_setup_code(uow, policy, who, staff_id))
    return SetupCode(staff_id=staff_id, code=code, expires_at=expires)


@router.put("/staff/{staff_id}/roles", tags=["organisation"],
            summary="Change a member of staff's roles or township (their tokens stop working everywhere)")
async def change_roles(staff_id: StaffId, body: c.ChangeStaffRoles, request: Request, who: CurrentPrincipal,
                       deps: Deps) -> s.StaffWritten:
    return s.StaffWritten.model_validate(await execute(
        request, lambda uow: organisation.change_staff_roles(uow, deps, who, staff_id, body)))


@router.put("/staff/{staff_id}/contact", tags=["organisation"],
            summary="Set where reminders reach a member of staff: e-mail, gateway recipient id (admins)")
async def set_contact(staff_id: StaffId, body: c.SetStaffContact, request: Request, who: CurrentPrincipal,
                      deps: Deps) -> s.StaffWritten:
    return s.StaffWritten.model_validate(await execute(
        request, lambda uow: organisation.set_staff_contact(uow, deps, who, staff_id, body)))


@router.post("/staff/{staff_id}/disable", tags=["organisation"],
             summary="Disable a member of staff (no sign-in; every service refuses their tokens)")
async def disable(staff_id: StaffId, body: c.DisableStaff, request: Request, who: CurrentPrincipal,
                  deps: Deps) -> s.StaffWritten:
    return s.StaffWritten.model_validate(await execute(
        request, lambda uow: organisation.disable_staff(uow, deps, who, staff_id, body)))

