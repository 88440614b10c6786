"""Access tokens (exp required, expiry by an injected clock) and the staff directory's check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import insert

from shared.auth import Principal, Role, TokenService
from shared.catalogue.people import StaffDisabled, StaffEnrolled, StaffRolesChanged
from shared.db import create_engine
from shared.errors import Unauthenticated
from shared.eventstore.tables import metadata, staff_directory
from shared.projection import Patch, Upsert
from shared.staff import StaffDirectory, directory_operations

pytestmark = pytest.mark.unit

SECRET = "k" * 40
ANA = Principal(staff_id="ana", department="health", roles=frozenset({Role.VIEWER}))


def test_a_token_carries_exp_and_stops_working_when_it_passes() -> None:
    now = [datetime(2026, 12, 1, 8, 0, tzinfo=UTC)]
    tokens = TokenService(SECRET, ttl=timedelta(minutes=15), clock=lambda: now[0])
    token = tokens.issue(ANA)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False})
    assert claims["exp"] - claims["iat"] == 15 * 60
    now[0] += timedelta(minutes=14, seconds=59)
    assert tokens.verify(token) == ANA
    now[0] += timedelta(seconds=1)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(token)


def test_a_token_without_exp_is_refused() -> None:
    forever = jwt.encode({"sub": "ana", "dept": "health", "roles": ["viewer"]}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="exp"):
        TokenService(SECRET).verify(forever)


def test_a_token_with_a_non_numeric_exp_is_refused() -> None:
    odd = jwt.encode({"sub": "ana", "dept": "health", "roles": ["viewer"], "exp": "soon"}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        TokenService(SECRET).verify(odd)


def test_staff_events_become_directory_rows() -> None:
    enrolled = directory_operations(StaffEnrolled(staff_id="ana", display_name="Ana", department="health",
                                                  roles=["viewer", "auditor"]))
    assert enrolled == [Upsert(staff_directory, {"staff_id": "ana"},
                               {"roles": '["auditor", "viewer"]', "township_code": None, "active": True})]
    changed = directory_operations(StaffRolesChanged(staff_id="ana", roles=["township_officer"],
                                                     township_code="511403001000"))
    assert changed == [Patch(staff_directory, {"staff_id": "ana"},
                             {"roles": '["township_officer"]', "township_code": "511403001000"})]
    assert directory_operations(StaffDisabled(staff_id="ana")) == [
        Patch(staff_directory, {"staff_id": "ana"}, {"active": False})]


async def test_the_directory_refuses_unknown_disabled_and_changed_staff_within_its_cache_time(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(staff_directory).values(staff_id="ana", roles='["viewer"]', township_code=None,
                                                          active=True))
    now = [0.0]
    directory = StaffDirectory(engine, cache_seconds=20, clock=lambda: now[0])
    await directory.check(ANA)
    with pytest.raises(Unauthenticated, match="not known"):
        await directory.check(Principal(staff_id="ghost", department="health", roles=frozenset({Role.VIEWER})))
    with pytest.raises(Unauthenticated, match="changed"):
        await directory.check(Principal(staff_id="ana", department="health", roles=frozenset({Role.AUDITOR})))
    async with engine.begin() as conn:
        await conn.execute(staff_directory.update().values(active=False))
    now[0] = 19.0
    await directory.check(ANA)  # still cached: the change shows within the cache time, not at once
    now[0] = 20.0
    with pytest.raises(Unauthenticated, match="disabled"):
        await directory.check(ANA)
    await engine.dispose()
