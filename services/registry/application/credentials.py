"""Sign-in: one-time set-up codes, passwords (argon2id), lockout and rotating refresh tokens.

Credentials live in the registry's own tables (``staff_credentials``, ``refresh_tokens``) and in
no event: no hash, code or token ever reaches the bus or another service. Other services learn
only what the staff events say (enrolled, roles changed, disabled) and check tokens against that.

Hashing a password is deliberately slow, so routes hash and verify *outside* the writer
(:func:`hash_password`, :func:`password_matches` in a thread) and the use cases here only record
the outcome. A use case that must both record something and refuse the caller (a failed sign-in
counts towards the lockout) returns an outcome instead of raising, so that its write commits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters.tables import refresh_tokens, staff, staff_credentials
from shared.auth import Principal, Role
from shared.envelope import utcnow
from shared.errors import InvalidInput, NotFound, QingdanError, Unauthenticated
from shared.eventstore.unit_of_work import UnitOfWork

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class AccountLocked(QingdanError):
    """Too many failed sign-ins in a row: the account is locked for a while."""

    status_code = 423
    code = "locked"


@dataclass(frozen=True)
class SignInPolicy:
    """How long codes and refresh tokens live, and when repeated failures lock an account."""

    setup_code_ttl: timedelta = timedelta(hours=72)
    refresh_ttl: timedelta = timedelta(hours=12)
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    clock: Callable[[], datetime] = utcnow


class Outcome(StrEnum):
    """What a sign-in or refresh came to (recorded before the caller hears it)."""

    OK = "ok"
    FAILED = "failed"
    LOCKED = "locked"


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in or refresh: who, and their new refresh token (only ever shown here)."""

    principal: Principal
    refresh_token: str


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (slow on purpose: call it in a thread)."""
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash; a missing hash is hashed anyway so timing says nothing."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; every time here is UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


async def _active_staff(uow: UnitOfWork, staff_id: str) -> Principal | None:
    row = await uow.find(staff, staff_id=staff_id)
    if row is None or not row["active"]:
        return None
    return Principal(staff_id=staff_id, name=row["display_name"], department=row["department"],
                     roles=frozenset(Role(r) for r in json.loads(row["roles"])), township_code=row["township_code"])


@dataclass(frozen=True)
class Stored:
    """What sign-in reads before verifying a password (outside the writer)."""

    password_hash: str | None
    locked_until: datetime | None


async def stored_hash(conn: AsyncConnection, staff_id: str) -> Stored | None:
    """The stored password hash and lock of ``staff_id``, if they have credentials."""
    row = (await conn.execute(select(staff_credentials).where(staff_credentials.c.staff_id == staff_id))).first()
    if row is None:
        return None
    return Stored(password_hash=row.password_hash, locked_until=_aware(row.locked_until))


async def issue_setup_code(
    uow: UnitOfWork, policy: SignInPolicy, principal: Principal, staff_id: str
) -> tuple[str, datetime]:
    """A new one-time code for ``staff_id`` to set their password with, and when it expires.

    The admin hands it over in person; only its SHA-256 is kept. A new code replaces an unused
    one; the current password (if any) keeps working until the code is used.
    """
    principal.require(Role.FEDERATION_ADMIN, action="issuing a set-up code")
    if await _active_staff(uow, staff_id) is None:
        raise NotFound(f"no active staff {staff_id}")
    code = secrets.token_urlsafe(12)
    expires = policy.clock() + policy.setup_code_ttl
    values = {"setup_code_hash": _digest(code), "setup_code_expires": expires}
    if await uow.find(staff_credentials, staff_id=staff_id):
        await uow.update(staff_credentials, {"staff_id": staff_id}, values)
    else:
        await uow.insert(staff_credentials, {"staff_id": staff_id, "password_hash": None, "failed_logins": 0,
                                             "locked_until": None, **values})
    return code, expires


async def set_password(
    uow: UnitOfWork, policy: SignInPolicy, staff_id: str, code: str, password_hash: str
) -> None:
    """Use a one-time code to set a password: the code is spent, the lockout and refresh tokens cleared."""
    row = await uow.find(staff_credentials, staff_id=staff_id)
    expires = _aware(row["setup_code_expires"]) if row else None
    stored = row["setup_code_hash"] if row else None
    if (row is None or stored is None or expires is None or expires <= policy.clock()
            or not hmac.compare_digest(stored, _digest(code))
            or await _active_staff(uow, staff_id) is None):
        raise InvalidInput("the set-up code is wrong, used or expired; ask an admin for a new one", field="code")
    await uow.update(staff_credentials, {"staff_id": staff_id}, {
        "password_hash": password_hash, "setup_code_hash": None, "setup_code_expires": None,
        "failed_logins": 0, "locked_until": None})
    await revoke_all(uow, staff_id)


async def locked_until(uow: UnitOfWork, policy: SignInPolicy, staff_id: str) -> datetime | None:
    """When ``staff_id``'s lock ends, if they are locked out now."""
    row = await uow.find(staff_credentials, staff_id=staff_id)
    until = _aware(row["locked_until"]) if row else None
    return until if until is not None and until > policy.clock() else None


async def record_sign_in(
    uow: UnitOfWork, policy: SignInPolicy, staff_id: str, password_ok: bool
) -> tuple[Outcome, SignedIn | None, datetime | None]:
    """Count a failed attempt (locking at the limit) or reset the count and start a refresh chain.

    The outcome, the signed-in member (if it worked) and when a lock ends (if locked).
    """
    row = await uow.find(staff_credentials, staff_id=staff_id)
    principal = await _active_staff(uow, staff_id)
    if row is None:
        return Outcome.FAILED, None, None
    if (until := await locked_until(uow, policy, staff_id)) is not None:
        return Outcome.LOCKED, None, until
    if not password_ok or principal is None:
        failures = int(row["failed_logins"]) + 1
        if failures >= policy.max_failures:
            until = policy.clock() + policy.lock_for
            await uow.update(staff_credentials, {"staff_id": staff_id}, {"failed_logins": 0, "locked_until": until})
            return Outcome.LOCKED, None, until
        await uow.update(staff_credentials, {"staff_id": staff_id}, {"failed_logins": failures})
        return Outcome.FAILED, None, None
    await uow.update(staff_credentials, {"staff_id": staff_id}, {"failed_logins": 0, "locked_until": None})
    return Outcome.OK, SignedIn(principal, await _new_refresh_token(uow, policy, staff_id)), None


async def _new_refresh_token(uow: UnitOfWork, policy: SignInPolicy, staff_id: str) -> str:
    token = secrets.token_urlsafe(32)
    await uow.insert(refresh_tokens, {"token_hash": _digest(token), "staff_id": staff_id,
                                      "expires_at": policy.clock() + policy.refresh_ttl, "revoked": False})
    return token


async def rotate(uow: UnitOfWork, policy: SignInPolicy, token: str) -> tuple[Outcome, SignedIn | None]:
    """Spend a refresh token for a new one (and the caller a new access token).

    A token presented a second time means that someone else holds a copy: every refresh token of
    that member of staff is revoked, so both must sign in again.
    """
    row = await uow.find(refresh_tokens, token_hash=_digest(token))
    if row is None:
        return Outcome.FAILED, None
    staff_id = str(row["staff_id"])
    if row["revoked"]:
        await revoke_all(uow, staff_id)
        return Outcome.FAILED, None
    expires = _aware(row["expires_at"])
    principal = await _active_staff(uow, staff_id)
    if expires is None or expires <= policy.clock() or principal is None:
        return Outcome.FAILED, None
    await uow.update(refresh_tokens, {"token_hash": row["token_hash"]}, {"revoked": True})
    return Outcome.OK, SignedIn(principal, await _new_refresh_token(uow, policy, staff_id))


async def revoke(uow: UnitOfWork, token: str) -> None:
    """Sign out: the refresh token stops working (its access token runs out on its own)."""
    await uow.execute(update(refresh_tokens).where(refresh_tokens.c.token_hash == _digest(token))
                      .values(revoked=True))


async def revoke_all(uow: UnitOfWork, staff_id: str) -> None:
    """Every refresh token of ``staff_id`` stops working (new password, disabled)."""
    await uow.execute(update(refresh_tokens).where(refresh_tokens.c.staff_id == staff_id).values(revoked=True))


def refused(outcome: Outcome, until: datetime | None = None) -> QingdanError:
    """The error a refused sign-in answers with (the same for an unknown id and a wrong password)."""
    if outcome is Outcome.LOCKED:
        when = f" after {until:%H:%M} UTC" if until else " later"
        return AccountLocked(f"too many failed sign-ins: this account is locked; try again{when}")
    return Unauthenticated("wrong staff id or password")
