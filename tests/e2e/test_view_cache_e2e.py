"""The dashboards' view cache in the real reporting process: a rebuild's swap reaches it at once."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.stack.demo.pengshan import TOWNSHIPS, person_body, seed_organisation
from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import expect

pytestmark = pytest.mark.e2e

YEAR = date.today().year


async def test_a_rebuild_replaces_the_cached_figures_without_waiting_for_an_event(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting")
    stack.start()
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    rng = random.Random(5)
    for n in range(4):
        expect(registry.post("/persons", json=person_body(rng, villages[0], n)), 201)

    def view() -> int:
        body = expect(reporting.get("/views/coverage", params={"year": YEAR}), 200)
        registered: int = body["all"]["registered"]
        return registered

    def table() -> int:  # the same figure, read from the tables without the cache (-1: no district yet)
        response = reporting.get("/coverage", params={"year": YEAR})
        registered: int = response.json()["all"]["registered"] if response.status_code == 200 else -1
        return registered
    await wait_until(lambda: table() == 4, timeout=30, message="the four persons to reach coverage")
    await wait_until(lambda: expect(reporting.get("/views/live-stats"), 200)["hears_rebuilds"], timeout=15,
                     message="reporting to listen for rebuild notices")

    # The read model goes wrong behind the service's back (say, a bad manual fix) and the page's
    # view caches the wrong figure; then an operator rebuilds the model from the stream.
    engine = create_async_engine(stack.services["reporting"].env["QD_DATABASE_URL"])
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM cov_years"))
            await conn.execute(text("DELETE FROM cov_persons"))
            for counters in ("cov_counts", "cov_year_counts"):  # the figures come from the counters
                await conn.execute(text(f"DELETE FROM {counters}"))
    finally:
        await engine.dispose()
    assert view() == 0 and view() == 0
    stats = expect(reporting.get("/views/live-stats"), 200)
    assert stats["cached_views"] >= 1 and stats["cache_clears"] == 0, stats

    rebuild = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "services.reporting", "rebuild", "coverage"],
        env={**stack.services["reporting"].env}, capture_output=True, text=True, timeout=60)
    assert rebuild.returncode == 0 and "replaced" in rebuild.stdout, rebuild.stdout + rebuild.stderr
    assert table() == 4
    # no event arrives meanwhile: only the rebuild's notice can make the view right
    await wait_until(lambda: view() == 4, timeout=10, message="the view to show the rebuilt figure")
    assert expect(reporting.get("/views/live-stats"), 200)["cache_clears"] == 1
