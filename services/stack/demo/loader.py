"""Load the Pengshan demo into a running embedded stack, over HTTP, once per data folder."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from services.stack.demo import supervision, worklists
from services.stack.demo.pengshan import DEMO_STAFF, TOWNSHIPS, load_registry_demo, seed_organisation
from services.stack.launcher import HOSTED_DEPARTMENTS, EmbeddedStack
from shared.http.client import expect


def issue_token(stack: EmbeddedStack, staff_id: str) -> str:
    """A development token from the registry (POST /auth/dev-token)."""
    token = try_token(stack, staff_id)
    if token is None:
        raise RuntimeError(f"the registry has no staff {staff_id!r}")
    return token


def try_token(stack: EmbeddedStack, staff_id: str) -> str | None:
    """A development token, or None if there is no such member of staff (no demo loaded)."""
    with httpx.Client(base_url=stack.url("registry"), trust_env=False) as client:
        response = client.post("/auth/dev-token", json={"staff_id": staff_id})
    if response.status_code == 404:
        return None
    token: str = expect(response, 200)["access_token"]
    return token


# An authenticated read of each service: 401 until it has learned the staff from the registry's events.
_STAFF_PROBES = {"checklists": "/instance", "checklists-health": "/instance", "inspections": "/groups",
                 "reporting": "/views/live-stats"}


def _wait_until_staff_known(stack: EmbeddedStack, staff_id: str, timeout: float = 60.0) -> None:
    """Every service refuses tokens of staff it has not learned of yet (its staff directory, fed by
    the registry's events): wait until each knows the last member enrolled, so the demo's next
    steps are not refused."""
    token = issue_token(stack, staff_id)
    deadline = time.monotonic() + timeout
    for key, path in _STAFF_PROBES.items():
        if key not in stack.processes:
            continue
        with _client(stack.url(key), token) as client:
            while client.get(path).status_code == 401:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{key} did not learn of staff {staff_id} within {timeout:.0f} s")
                time.sleep(0.1)  # polling a condition: the service applies the registry's events on its own


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60, trust_env=False)


def load_demo(stack: EmbeddedStack, *, persons: int, say: Any) -> None:
    """Organisation, staff, persons with visits and plans; then worklists and inspections if present.
    ``say`` is told each step and, during the persons, each tenth done."""
    today = date.today()
    admin = issue_token(stack, "admin")
    with _client(stack.url("registry"), admin) as registry:
        say("org units and departments")
        seed_organisation(registry, villages_per_township=4)
        for member in DEMO_STAFF:
            expect(registry.post("/staff", json=member), 201)
    _wait_until_staff_known(stack, str(DEMO_STAFF[-1]["staff_id"]))
    say(f"{persons} persons with home visits and personal plans")

    async def persons_demo() -> dict[str, int]:
        async with httpx.AsyncClient(base_url=stack.url("registry"), headers={"Authorization": f"Bearer {admin}"},
                                     timeout=60, trust_env=False) as client:
            return await load_registry_demo(client, persons=persons, year=today.year, today=today,
                                            progress=progress)

    def progress(done: int) -> None:
        if done < persons and done % max(1, persons // 10) == 0:
            say(f"{done} of {persons} persons loaded")

    counts = asyncio.run(persons_demo())
    say(", ".join(f"{v} {k}" for k, v in counts.items()))
    if "checklists" in stack.processes:
        say("monthly task lists, an inspection template, highlights")
        departments = {"health": _client(stack.url("checklists-health"), issue_token(stack, "health-officer"))}
        for code in HOSTED_DEPARTMENTS:  # served by the federation's instance
            departments[code] = _client(stack.url("checklists"), issue_token(stack, f"{code}-officer"))
        with _client(stack.url("checklists"), admin) as federation:
            worklists.load_worklists_demo(federation, departments, year=today.year, today=today)
        for client in departments.values():
            client.close()
    if "inspections" in stack.processes:
        say("inspection groups, inspections and the rectification ledger")
        tokens: dict[str, str] = {}

        def as_staff(staff_id: str) -> httpx.Client:
            tokens.setdefault(staff_id, issue_token(stack, staff_id))
            return _client(stack.url("inspections"), tokens[staff_id])

        with _client(stack.url("inspections"), admin) as inspections:
            supervision.load_supervision_demo(inspections, as_staff, year=today.year, today=today,
                                              township_codes=[code for code, _ in TOWNSHIPS])


def write_tokens(stack: EmbeddedStack, path: Path) -> dict[str, str]:
    """Fresh tokens for the demo roles, saved for scripts (the folder is the user's own)."""
    roles = {"admin": "federation admin 区残联管理员", "viewer": "viewer 区领导", "auditor": "auditor 审计",
             "health-officer": "department officer 卫健局", "township-001": "township officer 凤鸣街道",
             "inspector-1": "inspector 督导员"}
    found = {staff: try_token(stack, staff) for staff in roles}
    tokens = {staff: token for staff, token in found.items() if token is not None}
    path.write_text(json.dumps(tokens, indent=2))
    path.chmod(0o600)
    return {f"{staff} ({roles[staff]})": token for staff, token in tokens.items()}
