"""Issue 8 end to end: forged and replayed events never reach a read model, and ``verify`` finds
every kind of edit to a service's database (deleted tail, resealed chain, edited lookup rows)."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import nats
import pytest
from sqlalchemy import delete, insert, select, update

from services.registry.adapters.tables import persons, staff
from services.stack.demo.pengshan import TOWNSHIPS, person_body, seed_organisation
from shared.auth import Role
from shared.db import create_engine
from shared.envelope import Envelope
from shared.eventstore.tables import events
from shared.ids import new_id
from shared.messaging.subjects import event_subject, stream_name
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

YEAR = date.today().year


def _registered(stack: Stack) -> int:
    with stack.client("reporting", stack.token("admin", Role.FEDERATION_ADMIN)) as reporting:
        return int(expect(reporting.get("/coverage", params={"year": YEAR}), 200)["all"]["registered"])


async def _stream_messages(stack: Stack) -> list[Envelope]:
    nc = await nats.connect(stack.nats.url)
    try:
        js = nc.jetstream()
        stream = stream_name(stack.namespace, "registry")
        last = (await js.stream_info(stream)).state.last_seq
        return [Envelope.from_json((await js.get_msg(stream, seq)).data) for seq in range(1, last + 1)]
    finally:
        await nc.close()


async def _publish_as_operator(stack: Stack, envelope: Envelope) -> int:
    """Someone with publish rights on the registry's subjects, but not the registry's key."""
    nc = await nats.connect(stack.nats.url)
    try:
        subject = event_subject(stack.namespace, "registry", envelope.department, envelope.type)
        ack = await nc.jetstream().publish(subject, envelope.to_json(), headers={"Nats-Msg-Id": new_id()})
        return int(ack.seq)
    finally:
        await nc.close()


def _reporting_health(stack: Stack) -> dict[str, Any]:
    with stack.client("reporting") as client:
        result: dict[str, Any] = client.get("/health").json()
        return result


async def test_forged_and_replayed_events_do_not_reach_coverage(
    stack_factory: Callable[[NatsServerProcess], Stack], nats_server: NatsServerProcess
) -> None:
    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting")
    stack.start()
    registry = stack.client("registry", stack.token("admin", Role.FEDERATION_ADMIN))
    villages = seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    rng = random.Random(8)
    first, _second = (expect(registry.post("/persons", json=person_body(rng, villages[0], i)), 201)["person_id"]
                     for i in range(2))
    expect(registry.post(f"/persons/{first}/deregistration", json={"reason": "moved_away"}), 200)
    await wait_until(lambda: _registered(stack) == 1, timeout=30, message="coverage to count one person")

    # Each service connects as its own NATS user.
    async with httpx.AsyncClient(trust_env=False) as monitor:
        connections = (await monitor.get(f"http://127.0.0.1:{nats_server.monitor_port}/connz",
                                         params={"auth": "true", "limit": 1000})).json()["connections"]
    ours = {c.get("authorized_user") for c in connections} - {None}
    ours = {u for u in ours if u.startswith(f"{stack.namespace}-")}
    assert ours == {f"{stack.namespace}-registry-federation", f"{stack.namespace}-reporting-federation"}

    messages = await _stream_messages(stack)
    registered = next(e for e in messages if e.type == "person.registered" and e.stream_id == f"person-{first}")
    forged = registered.model_copy(update={"id": new_id(), "stream_id": f"person-{new_id()}"})
    forged = forged.model_copy(update={"subject": forged.stream_id}).sealed("")  # plain hash recomputed ...
    forged = forged.model_copy(update={"key_id": registered.key_id, "signature": registered.signature})  # old seal
    await _publish_as_operator(stack, registered)  # the deregistered person's old event, new message id
    last = await _publish_as_operator(stack, forged)

    def caught_up() -> bool:
        health = _reporting_health(stack)
        return health["dead_letters"] >= 1 and all(
            c["position"] >= last for c in health["consumers"] if c["stream"].endswith("_REGISTRY"))
    await wait_until(caught_up, timeout=30, message="reporting to read both and dead-letter the forgery")
    assert _registered(stack) == 1
    registry.close()


async def _verify(stack: Stack) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "services.registry", "verify"],
        env=stack.services["registry"].env, capture_output=True, text=True, timeout=120)


async def test_verify_finds_a_deleted_tail_a_resealed_chain_and_edited_lookup_rows(
    stack_factory: Callable[[NatsServerProcess], Stack], nats_server: NatsServerProcess
) -> None:
    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.start()
    with stack.client("registry", stack.token("admin", Role.FEDERATION_ADMIN)) as registry:
        villages = seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:2])
        rng = random.Random(4)
        pid = expect(registry.post("/persons", json=person_body(rng, villages[0], 1)), 201)["person_id"]
        expect(registry.post(f"/persons/{pid}/visits", json={
            "visited_on": f"{YEAR}-01-15", "mode": "home", "needs": [], "what_they_need": ""}), 201)
        expect(registry.post("/staff", json={"staff_id": "viewer-1", "display_name": "查阅员(演示)",
                                             "department": "federation", "roles": ["viewer"]}), 201)

        def published() -> bool:
            return expect(registry.get("/health"), 200)["outbox_backlog"] == 0
        await wait_until(published, timeout=30, message="the registry's outbox to drain")
    stack.services["registry"].stop()  # edits happen behind the service's back, as an intruder's would

    intact = await _verify(stack)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "intact" in intact.stdout

    engine = create_engine(stack.services["registry"].env["QD_DATABASE_URL"])
    stream_id = f"person-{pid}"
    try:
        async with engine.begin() as conn:
            rows = [dict(r) for r in (await conn.execute(
                select(events).where(events.c.stream_id == stream_id).order_by(events.c.version))).mappings()]
        tail = rows[-1]

        # 1. The last event of a stream deleted: the chain is intact, JetStream still has it.
        async with engine.begin() as conn:
            await conn.execute(delete(events).where(events.c.position == tail["position"]))
        result = await _verify(stack)
        assert result.returncode == 2
        assert result.stdout.startswith(f"first problem: {stream_id} v{tail['version']} (event {tail['event_id']}")
        assert "in JetStream but not in the database (deleted)" in result.stdout.splitlines()[0]
        async with engine.begin() as conn:
            await conn.execute(insert(events).values(**tail))

        # 2. A payload rewritten and the plain SHA-256 chain recomputed from there on.
        first = Envelope.from_json(rows[0]["envelope"])
        edited = first.model_copy(update={"data": {**first.data, "village_code": villages[1]}})
        resealed = [edited.sealed("")]
        for row in rows[1:]:
            resealed.append(Envelope.from_json(row["envelope"]).sealed(resealed[-1].hash))
        async with engine.begin() as conn:
            for row, envelope in zip(rows, resealed, strict=True):
                kept = Envelope.from_json(row["envelope"])  # keep the old signature fields, as a forger must
                envelope = envelope.model_copy(update={"key_id": kept.key_id, "signature": kept.signature})
                await conn.execute(update(events).where(events.c.position == row["position"]).values(
                    envelope=envelope.to_json().decode(), hash=envelope.hash))
        result = await _verify(stack)
        assert result.returncode == 2
        assert result.stdout.startswith(f"first problem: {stream_id} v1: signature does not verify")
        async with engine.begin() as conn:
            for row in rows:
                await conn.execute(update(events).where(events.c.position == row["position"]).values(
                    envelope=row["envelope"], hash=row["hash"]))

        # 3. A lookup row moved to another township.
        async with engine.begin() as conn:
            township = (await conn.execute(select(persons.c.township_code).where(
                persons.c.person_id == pid))).scalar_one()
            await conn.execute(update(persons).where(persons.c.person_id == pid).values(
                township_code=TOWNSHIPS[1][0]))
        result = await _verify(stack)
        assert result.returncode == 2
        assert result.stdout.splitlines()[0] == (
            f"first problem: persons[{pid}]: township_code is {TOWNSHIPS[1][0]!r}, its events say {township!r}")
        async with engine.begin() as conn:
            await conn.execute(update(persons).where(persons.c.person_id == pid).values(township_code=township))

        # 4. A member of staff given a role by hand: the next token would carry it.
        async with engine.begin() as conn:
            await conn.execute(update(staff).where(staff.c.staff_id == "viewer-1").values(
                roles='["federation_admin", "viewer"]'))
        result = await _verify(stack)
        assert result.returncode == 2
        assert result.stdout.splitlines()[0] == (
            "first problem: staff[viewer-1]: roles is ['federation_admin', 'viewer'], its events say ['viewer']")
    finally:
        await engine.dispose()
