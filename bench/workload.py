"""The data the benchmarks write: unique registrations, and a registry log made by the registry's own code.

:func:`registration_bodies` gives valid, unique registration requests (seeded, so every run
sends the same ones). :func:`fill_registry` writes a registry database in-process, through the
shared :class:`~shared.eventstore.CommandExecutor` and :class:`~shared.eventstore.EventStore`,
without HTTP and without a relay: the events wait in the outbox, ready for the relay benchmark.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import nats
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.harness import Environment, Sizes, say
from services.registry.adapters.tables import metadata as registry_metadata
from services.registry.application import commands as c
from services.registry.application import organisation
from services.registry.application.deps import RegistryDeps
from services.registry.bootstrap import SYSTEM, build_deps
from services.registry.domain import person as person_domain
from services.registry.domain import plan as plan_domain
from services.registry.domain.certificate import validate_certificate_number
from services.registry.domain.survey_form import BUILT_IN
from services.registry.settings import RegistrySettings
from services.stack.demo.pengshan import DEPARTMENTS, DISTRICT, TOWNSHIPS, person_body, village_code, village_name
from shared.aggregate import fold
from shared.db import create_engine
from shared.eventstore.executor import CommandExecutor
from shared.eventstore.outbox import Outbox
from shared.eventstore.tables import events, outbox
from shared.ids import new_id
from shared.messaging.connection import nats_servers
from shared.messaging.relay import OutboxRelay
from shared.messaging.streams import ensure_service_stream
from shared.runtime import ServiceRuntime

BATCH = 250  # persons appended by one executor command
TOWNSHIP_OF = {code[:9]: code for code, _ in TOWNSHIPS}


def registration_bodies(seed: int, villages: Sequence[str], count: int) -> list[dict[str, Any]]:
    """``count`` valid registration requests with pairwise different resident IDs (certificate[:18])."""
    rng = random.Random(seed)
    seen: set[str] = set()
    bodies: list[dict[str, Any]] = []
    while len(bodies) < count:
        body = person_body(rng, villages[len(bodies) % len(villages)], len(bodies))
        resident_id = body["certificate_number"][:18]
        if resident_id in seen:
            continue  # the same birth date and sequence number drawn twice: the registry would refuse it
        seen.add(resident_id)
        bodies.append(body)
    return bodies


@dataclass(frozen=True)
class FilledRegistry:
    """A registry database whose outbox holds every event it has committed."""

    database_url: str
    persons: int
    events: int
    seconds: float  # how long the fill took (not a benchmark figure; printed for orientation)
    data_dir: Path  # the registry's data folder: its signing key, and the trust folder with its public key


async def fill_registry(database_url: str, data_dir: Path, persons_count: int, *, seed: int = 7) -> FilledRegistry:
    """Org units and departments (by the use cases), then ``persons_count`` persons, each registered,
    visited, given a plan with one item, and the item delivered: 5 events a person.

    The persons' events are decided by the registry's domain functions (the ones its use cases
    call), with personal data sealed by the vault, and appended with the shared EventStore in
    big batches through the CommandExecutor: one command appends the streams of ``BATCH``
    persons. Running the use cases one command per event would give the same events, but costs
    minutes (see the commands benchmark); this benchmark is about what happens to them afterwards.
    """
    settings = RegistrySettings(database_url=database_url, data_dir=data_dir, nats_url="nats://127.0.0.1:1",
                                master_key=base64.b64encode(os.urandom(32)).decode(), log_level="WARNING")
    runtime = ServiceRuntime.build(settings, schema=(registry_metadata,), publishes=False)
    deps = build_deps(settings, runtime)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await runtime.create_schema()
    await runtime.executor.start()
    try:
        villages = await establish_organisation(runtime.executor, deps)
        bodies = registration_bodies(seed, villages, persons_count)
        for start in range(0, len(bodies), BATCH):
            await runtime.executor.run(partial(_append_persons, deps=deps, bodies=bodies[start:start + BATCH]))
        async with runtime.engine.connect() as conn:
            total = await _count(conn)
    finally:
        await runtime.executor.stop()
        await runtime.engine.dispose()
    return FilledRegistry(database_url, persons_count, total, loop.time() - started, data_dir)


async def _append_persons(conn: AsyncConnection, deps: RegistryDeps, bodies: Sequence[dict[str, Any]]) -> None:
    today = date.today()
    ctx = deps.context(SYSTEM)
    for body in bodies:
        certificate = validate_certificate_number(body["certificate_number"], today=today)
        person_id = new_id()
        _key, wrapped = deps.vault.new_subject(person_id)
        sealed = deps.vault.seal(wrapped, person_id, {
            "certificate_number": certificate.value, "name": body["name"], "address": body["address"]})
        township = TOWNSHIP_OF[body["village_code"][:9]]
        person_events = person_domain.register(
            person_id=person_id, certificate=certificate, sealed=sealed,
            village_code=body["village_code"], township_code=township, hardship=body["hardship"],
            severe_rule=deps.severe_rule, registered_on=today)
        person = fold(person_domain.evolve, person_events)
        assert person is not None

        def seal_answers(answers: dict[str, Any], key: bytes = wrapped, subject: str = person_id) -> Any:
            return deps.vault.seal(key, subject, {"answers": json.dumps(answers, ensure_ascii=False)})
        person_events += person_domain.record_visit(
            person, person_domain.VisitFacts(new_id(), today, SYSTEM.staff_id, "home"), form=BUILT_IN,
            answers={"what_they_need": "康复训练"}, needs=["rehabilitation"], complete=False, today=today,
            seal=seal_answers)
        plan_events = plan_domain.draw(None, person, year=today.year)
        plan = fold(plan_domain.evolve, plan_events)
        assert plan is not None
        item_id = new_id()

        def seal(texts: dict[str, str], item: str = item_id, key: bytes = wrapped, subject: str = person_id) -> Any:
            return deps.vault.seal(key, subject, texts, scope=f"item/{item}")  # as the registry seals item texts
        plan_events += plan_domain.add_item(
            plan, item_id=item_id, kind="protection", need="rehabilitation",
            description="每月两次上门康复", responsible_department="health", due_on=today + timedelta(days=90),
            known_departments={code for code, _ in DEPARTMENTS}, seal=seal)
        plan = fold(plan_domain.evolve, plan_events)
        assert plan is not None
        plan_events += plan_domain.deliver_item(plan, item_id, delivered_on=today, note="", today=today, seal=seal)
        await deps.store.append(conn, f"person-{person_id}", person_events, ctx, expected_version=0)
        await deps.store.append(conn, plan_domain.plan_stream_id(person_id, today.year), plan_events, ctx,
                                expected_version=0)


async def _count(conn: AsyncConnection) -> int:
    in_log = int((await conn.execute(select(func.count()).select_from(events))).scalar_one())
    waiting = int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())
    if in_log != waiting:
        raise RuntimeError(f"the outbox holds {waiting} of {in_log} events: something published them")
    return in_log


async def establish_organisation(executor: CommandExecutor, deps: RegistryDeps) -> list[str]:
    """The district, its 8 townships with 4 demo villages each, and the departments, by the use cases."""
    # The routes' own way of running these use cases: the buffered fast path where the executor has one.
    submit: Any = getattr(executor, "run_buffered", executor.run)
    units = [c.EstablishOrgUnit(code=DISTRICT[0], name=DISTRICT[1], level="district")]
    villages: list[str] = []
    for code, name in TOWNSHIPS:
        units.append(c.EstablishOrgUnit(code=code, name=name, level="township", parent_code=DISTRICT[0]))
        for n in range(1, 5):
            villages.append(village_code(code, n))
            units.append(c.EstablishOrgUnit(code=villages[-1], name=village_name(code, name, n), level="village",
                                            parent_code=code))
    for unit in units:  # one by one: a village's parent must be there first
        await submit(partial(organisation.establish_org_unit, deps=deps, principal=SYSTEM, cmd=unit))
    for code, name in DEPARTMENTS:
        await submit(partial(organisation.register_department, deps=deps, principal=SYSTEM,
                             cmd=c.RegisterDepartment(code=code, name=name)))
    return villages


async def relay_outbox(database_url: str, nats_url: str, namespace: str, total: int) -> tuple[float, float]:
    """Publish a filled outbox with the real OutboxRelay into ``namespace``'s registry stream.

    The stream is declared first (as the relay would), so the time is the publishing alone:
    from starting the relay until it has had all ``total`` events acknowledged. Returns the seconds,
    and the CPU seconds this process spent meanwhile (the relay runs here; on SQLite the database
    driver's thread is included, PostgreSQL's own processes are not).
    """
    nc = await nats.connect(servers=nats_servers(nats_url))
    try:
        stream = await ensure_service_stream(nc.jetstream(), namespace, "registry")
        engine = create_engine(database_url)
        relay_outbox = Outbox(engine)
        executor = CommandExecutor(engine, outbox=relay_outbox)
        await executor.start()
        relay = OutboxRelay(relay_outbox, nats_url=nats_url, namespace=namespace, service="registry")
        loop = asyncio.get_running_loop()
        started, cpu = loop.time(), time.process_time()
        await relay.start()
        try:
            deadline = started + 600
            while relay.published < total:
                if loop.time() > deadline:
                    raise TimeoutError(f"the relay published {relay.published} of {total} events in 600 s")
                await asyncio.sleep(0.002)  # a cheap check of a counter, against seconds of publishing
            seconds, cpu = loop.time() - started, time.process_time() - cpu
        finally:
            await relay.stop()
            await executor.stop()
            await engine.dispose()
        messages = (await nc.jetstream().stream_info(stream)).state.messages
        if messages != total:
            raise RuntimeError(f"stream {stream} holds {messages} messages, expected {total}")
        return seconds, cpu
    finally:
        await nc.close()


async def refill_outbox(database_url: str) -> None:
    """Queue every event of the log again (after a relay emptied the outbox), for another round."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(outbox).from_select(["position"], select(events.c.position)))
    finally:
        await engine.dispose()


class Workloads:
    """Per backend, made once per run: a filled registry database, and a stream holding its events."""

    def __init__(self, env: Environment, sizes: Sizes) -> None:
        self._env = env
        self._sizes = sizes
        self._registries: dict[str, FilledRegistry] = {}
        self._streams: dict[str, str] = {}

    def registry(self, backend: str) -> FilledRegistry:
        """The filled registry database of ``backend`` (its outbox full unless a relay ran)."""
        if backend not in self._registries:
            url = self._env.database_url(backend, "reg")
            say(f"[workload] {backend}: {self._sizes.persons:,} persons × 5 events into a registry database")
            filled = asyncio.run(fill_registry(url, self._env.root / self._env.unique("regdata"),
                                               self._sizes.persons))
            say(f"[workload] {backend}: {filled.events:,} events written in {filled.seconds:.1f} s")
            self._registries[backend] = filled
        return self._registries[backend]

    def remember_stream(self, backend: str, namespace: str) -> None:
        """A relay published the registry of ``backend`` into ``namespace``."""
        self._streams.setdefault(backend, namespace)

    def stream(self, backend: str) -> str:
        """The namespace whose registry stream holds the workload of ``backend`` (published if need be)."""
        if backend not in self._streams:
            filled = self.registry(backend)
            namespace = self._env.unique("wl")
            say(f"[workload] {backend}: publishing {filled.events:,} events with the relay")
            asyncio.run(relay_outbox(filled.database_url, self._env.nats.url, namespace, filled.events))
            self._streams[backend] = namespace
        return self._streams[backend]
