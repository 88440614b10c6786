"""4. Command → coverage-visible latency at a steady ~200 commands/s.

The registry and reporting services run as processes over this run's NATS. Registrations are
sent at a steady rate (one every 5 ms at 200/s, each its own request) for ``latency_seconds``.
A registration is *visible* when the reporting service has committed the transaction that counts
it in coverage.

How visibility is observed without disturbing it: reporting's durable consumer acknowledges a
batch (``AckPolicy.ALL``, the batch's last message) right after the transaction that applied it
commits. An acknowledgement is an ordinary NATS message on ``$JS.ACK.<stream>.<consumer>.…``, whose
subject carries the stream sequence; the benchmark subscribes to ``$JS.ACK.>`` and receives a copy
of every ack as the server routes it. That costs the reporting process nothing (no polling of its
HTTP API, no extra database reads) and is precise to the ~0.1 ms of one NATS hop. Which sequence a
registration got is learnt from an ordered consumer on the registry's ``person.registered``
subjects (it reads the person id in the envelope). So: latency = time of the first ack covering the
registration's sequence − time its HTTP request was sent. The stages printed with it: the HTTP
command (request → 201) and publication (request → the event reached the benchmark's own
subscriber, i.e. the relay has published it).

As a check of the method, a few registrations are then sent one at a time and ``GET /coverage``
is polled until its count grows; that latency (which includes the poll's own HTTP round trip) is
printed next to the ack-based one for the same registrations.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from bench.harness import Environment, Figure, Sizes, percentile, process_cpu, say
from bench.http_client import Connections
from bench.workload import registration_bodies
from services.reporting.projections.coverage import COVERAGE
from services.reporting.read_models import PROJECTIONS
from services.stack.demo.pengshan import seed_organisation
from shared.auth import Role
from shared.messaging.connection import nats_servers
from shared.messaging.feeds import source_consumer
from shared.messaging.subjects import stream_name
from shared.testing.stack import Stack

NAME = "latency"
AIM_P99_MS = 50.0
CHECKS = 10
MAX_BEHIND_SECONDS = 2.0


class Overloaded(RuntimeError):
    """The services could not keep up with the steady rate: latency would only measure the queue."""


@dataclass
class Observer:
    """What the benchmark sees on NATS: acks of reporting's consumer, sequences of registrations."""

    stream: str
    consumer: str
    acks_seq: list[int] = field(default_factory=list)
    acks_time: list[float] = field(default_factory=list)
    registered: dict[str, tuple[int, float]] = field(default_factory=dict)  # person id → (sequence, seen at)

    def on_ack(self, msg: Msg) -> None:
        """``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.…`` (or with domain and account hash first)."""
        tokens = msg.subject.split(".")
        offset = 2 if len(tokens) == 9 else 4  # v1 subjects have 9 tokens, v2 have 12 or more
        if tokens[offset] == self.stream and tokens[offset + 1] == self.consumer:
            self.acks_seq.append(int(tokens[offset + 3]))
            self.acks_time.append(asyncio.get_running_loop().time())

    def on_registered(self, msg: Msg) -> None:
        """Note the stream sequence of a registration (by its person id)."""
        person_id = json.loads(msg.data)["data"]["person_id"]
        self.registered[person_id] = (msg.metadata.sequence.stream, asyncio.get_running_loop().time())

    def visible_at(self, person_id: str) -> float | None:
        """When the first ack covering this registration's sequence arrived (acks are cumulative)."""
        seen = self.registered.get(person_id)
        if seen is None:
            return None
        index = bisect.bisect_left(self.acks_seq, seen[0])
        return self.acks_time[index] if index < len(self.acks_seq) else None


@dataclass(frozen=True)
class Sent:
    """One registration as the client saw it."""

    person_id: str
    sent: float
    answered: float


async def _register(client: Connections, body: dict[str, Any]) -> Sent:
    loop = asyncio.get_running_loop()
    sent = loop.time()
    status, answer = await client.request("POST", "/persons", body)
    if status != 201:
        raise RuntimeError(f"registration failed: {status} {answer}")
    return Sent(answer["person_id"], sent, loop.time())


async def _wait_visible(observer: Observer, sent: Sequence[Sent], limit: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while any(observer.visible_at(s.person_id) is None for s in sent[-50:]):
        if loop.time() > deadline:
            missing = sum(observer.visible_at(s.person_id) is None for s in sent)
            raise TimeoutError(f"{missing} of {len(sent)} registrations not visible after {limit} s")
        await asyncio.sleep(0.05)


async def _steady(client: Connections, bodies: Sequence[dict[str, Any]], rate: float) -> tuple[list[Sent], float]:
    """Send one registration every 1/rate seconds; return them and the worst lateness of a send."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks: list[asyncio.Task[Sent]] = []
    waiting: set[asyncio.Task[Sent]] = set()
    worst = 0.0
    for i, body in enumerate(bodies):
        target = start + i / rate
        delay = target - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        worst = max(worst, loop.time() - target)
        if len(waiting) > MAX_BEHIND_SECONDS * rate:
            for task in tasks:
                task.cancel()
            raise Overloaded(f"more than {MAX_BEHIND_SECONDS:.0f} s of requests were waiting for an answer after "
                             f"{i:,} of {len(bodies):,}: the registry does not sustain {rate:.0f}/s here")
        task = asyncio.create_task(_register(client, body))
        tasks.append(task)
        waiting.add(task)
        task.add_done_callback(waiting.discard)
    return list(await asyncio.gather(*tasks)), worst


async def _poll_checks(client: Connections, reporting: Connections, observer: Observer,
                       bodies: Sequence[dict[str, Any]], before: int) -> list[tuple[float, float]]:
    """One registration at a time; (latency by polling /coverage, latency by ack) for each."""
    loop = asyncio.get_running_loop()
    pairs = []
    year = date.today().year
    for n, body in enumerate(bodies, start=1):
        one = await _register(client, body)
        while True:
            status, answer = await reporting.request("GET", f"/coverage?year={year}")
            if status == 200 and answer["all"]["registered"] >= before + n:
                polled = loop.time()
                break
            await asyncio.sleep(0.001)  # one poll after another, leaving the service a moment between
        await _wait_visible(observer, [one])
        acked = observer.visible_at(one.person_id)
        assert acked is not None
        pairs.append((polled - one.sent, acked - one.sent))
        await asyncio.sleep(0.1)
    return pairs


async def measure(stack: Stack, nats_url: str, villages: Sequence[str], sizes: Sizes) -> dict[str, Any]:
    """Run the steady load on a started stack; return the latencies in seconds, by stage."""
    # The consumer feeding coverage (and the registry's other read models): its ack follows the commit.
    observer = Observer(stream_name(stack.namespace, "registry"),
                        source_consumer(PROJECTIONS.prefix, COVERAGE.source_service))
    count = int(sizes.latency_rate * sizes.latency_seconds)
    bodies = registration_bodies(23, villages, 50 + count + CHECKS)
    nc = await nats.connect(servers=nats_servers(nats_url))
    token = stack.token("bench", Role.FEDERATION_ADMIN)
    client = Connections(stack.services["registry"].url, token)
    reporting = Connections(stack.services["reporting"].url, token)
    try:
        await nc.subscribe("$JS.ACK.>", cb=_sync(observer.on_ack))
        await nc.jetstream().subscribe(f"{stack.namespace}.registry.*.person.registered", ordered_consumer=True,
                                       cb=_sync(observer.on_registered), deliver_policy=DeliverPolicy.ALL)
        warm, _ = await _steady(client, bodies[:50], 50.0)
        await _wait_visible(observer, warm)
        say(f"[{NAME}] warmed up; {count:,} registrations at {sizes.latency_rate:.0f}/s")
        cpu = {key: process_cpu(stack.services[key]) for key in ("registry", "reporting")}
        started = asyncio.get_running_loop().time()
        sent, worst = await _steady(client, bodies[50:50 + count], sizes.latency_rate)
        await _wait_visible(observer, sent)
        elapsed = asyncio.get_running_loop().time() - started
        used = {key: process_cpu(stack.services[key]) - before for key, before in cpu.items()}
        cpu = {key: seconds / elapsed for key, seconds in used.items()}
        per_command = {key: seconds / count for key, seconds in used.items()}
        checks = await _poll_checks(client, reporting, observer, bodies[50 + count:], 50 + count)
    finally:
        client.close()
        reporting.close()
        await nc.close()
    total, command, published = [], [], []
    for s in sent:
        visible = observer.visible_at(s.person_id)
        if visible is None:
            raise RuntimeError(f"registration {s.person_id} never became visible")
        total.append(visible - s.sent)
        command.append(s.answered - s.sent)
        published.append(observer.registered[s.person_id][1] - s.sent)
    return {"total": total, "command": command, "published": published, "worst_lateness": worst,
            "checks": checks, "cpu": cpu, "cpu_per_command": per_command}


def _sync(handler: Any) -> Any:
    async def callback(msg: Msg) -> None:
        handler(msg)
    return callback


def run(env: Environment, backends: Sequence[str], sizes: Sizes) -> list[Figure]:
    """Benchmark 4 on each backend (both services' databases of that backend)."""
    figures: list[Figure] = []
    for backend in backends:
        stack = env.stack(backend, "lat")
        stack.add("registry")
        stack.add("reporting")
        stack.start()
        try:
            with stack.client("registry", stack.token("bench", Role.FEDERATION_ADMIN)) as client:
                villages = seed_organisation(client)
            result = asyncio.run(measure(stack, env.nats.url, villages, sizes))
        except Overloaded as exc:
            say(f"[{NAME}] {backend}: {exc}")
            figures.append(Figure(NAME, backend, f"command → coverage visible at {sizes.latency_rate:.0f}/s, p99",
                                  float("nan"), "ms", aim=f"p99 <= {AIM_P99_MS:.0f} ms", met=False, note=str(exc)))
            continue
        finally:
            stack.stop()
        ms = {k: [v * 1000 for v in result[k]] for k in ("total", "command", "published")}
        p99 = percentile(ms["total"], 99)
        polled = [p * 1000 for p, _ in result["checks"]]
        acked = [a * 1000 for _, a in result["checks"]]
        say(f"[{NAME}] {backend}: p50 {percentile(ms['total'], 50):.1f} ms, p99 {p99:.1f} ms; sends at most "
            f"{result['worst_lateness'] * 1000:.1f} ms late; check: polled p50 {percentile(polled, 50):.1f} ms vs "
            f"ack p50 {percentile(acked, 50):.1f} ms")
        what = f"command → coverage visible at {sizes.latency_rate:.0f}/s"
        figures += [
            Figure(NAME, backend, f"{what}, p50", percentile(ms["total"], 50), "ms"),
            Figure(NAME, backend, f"{what}, p99", p99, "ms", aim=f"p99 <= {AIM_P99_MS:.0f} ms",
                   met=p99 <= AIM_P99_MS),
            Figure(NAME, backend, "stage: HTTP command (request → 201), p50 / p99",
                   percentile(ms["command"], 50), "ms", note=f"p99 {percentile(ms['command'], 99):.1f} ms"),
            Figure(NAME, backend, "stage: published (request → event on NATS), p50 / p99",
                   percentile(ms["published"], 50), "ms", note=f"p99 {percentile(ms['published'], 99):.1f} ms"),
            Figure(NAME, backend, "registry process CPU during the steady load", result["cpu"]["registry"] * 100,
                   "% of a core", note=f"{result['cpu_per_command']['registry'] * 1000:.2f} ms per command"),
            Figure(NAME, backend, "reporting process CPU during the steady load", result["cpu"]["reporting"] * 100,
                   "% of a core", note=f"{result['cpu_per_command']['reporting'] * 1000:.2f} ms per registration"),
            Figure(NAME, backend, f"check: polling /coverage, {CHECKS} single commands, p50",
                   percentile(polled, 50), "ms", note=f"ack method on the same: {percentile(acked, 50):.1f} ms"),
        ]
    return figures
