"""A province's event logs, made fast: signed envelopes published straight into the streams.

The persons' events are decided by the registry's own domain functions, exactly as
``bench/workload.py`` does (register, home visit, plan drawn, one item added, the item
delivered: 5 events a person, personal data sealed by the vault), but instead of going through a
database and the relay, each envelope is sealed (hash chained per aggregate stream) and signed
here, as ``EventStore.append`` would, and published with ``publish_async``. The org units, the
departments and a few staff come first, so every consumer of the registry stream has something
to learn; then the checklists' and the inspections' streams (``supervision_messages``), so that
their consumers have theirs. Generation runs in worker processes (one per core), publishing in
this one, a bounded window of chunks at a time (memory does not grow with the persons).
"""


from __future__ import annotations

import asyncio
import base64
import json
import os
import random
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import nats

from bench.workload import TOWNSHIP_OF, registration_bodies
from services.registry.domain import person as person_domain
from services.registry.domain import plan as plan_domain
from services.registry.domain.certificate import SevereRule, validate_certificate_number
from services.registry.domain.survey_form import BUILT_IN
from services.stack.demo.pengshan import DEPARTMENTS, DISTRICT, TOWNSHIPS, village_code, village_name
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.catalogue import supervision as sv
from shared.catalogue import worklists as wl
from shared.envelope import Envelope
from shared.ids import new_id
from shared.interruption import end_on_interrupt
from shared.messaging.connection import nats_servers
from shared.messaging.streams import ensure_service_stream
from shared.messaging.subjects import event_subject, stream_name
from shared.pii import MasterKey, PersonalDataVault
from shared.signing import ANY_DEPARTMENT, KeyRing, Signer

DEPARTMENT = "federation"
PUBLISHERS = ("registry", "checklists", "inspections")
"""The services whose streams the workload fills (the other two from ``supervision_messages``)."""
PERSONS_PER_TASK = 50
"""A checklist task (issued, progress reported, completed: 3 events) per 50 registered persons."""
PERSONS_PER_INSPECTION = 500
"""An inspection (12 events: scheduled, started, 5 items, 3 focus checks, a finding, completed) and a
rectification (1 event) per 500 registered persons."""
CHUNK = 2_000  # persons per generating task
Message = tuple[str, bytes, str]  # subject, body, event id


@dataclass(frozen=True)
class Keys:
    """The publishers' signing keys (as seeds, to hand to worker processes) and the vault's master key."""

    signing_seed: str
    master_key: str
    checklists_seed: str = ""
    inspections_seed: str = ""

    @classmethod
    def generate(cls) -> Keys:
        """Fresh keys for one run."""
        return cls(Signer.generate().seed_base64(), base64.b64encode(os.urandom(32)).decode(),
                   Signer.generate().seed_base64(), Signer.generate().seed_base64())

    def seed(self, service: str) -> str:
        """The signing seed of ``service``'s instance (the registry, checklists or inspections)."""
        return {"registry": self.signing_seed, "checklists": self.checklists_seed,
                "inspections": self.inspections_seed}[service]

    def keyring(self) -> KeyRing:
        """What a reader trusts: each publisher's key, for every department (as a federation instance signs)."""
        return KeyRing([Signer.from_base64(self.seed(service)).public(service, DEPARTMENT, frozenset({ANY_DEPARTMENT}))
                        for service in PUBLISHERS if self.seed(service)])


class _Writer:
    """Seals and signs one aggregate stream's events as ``EventStore.append`` does."""

    def __init__(self, signer: Signer, namespace: str, now: datetime, service: str = "registry") -> None:
        self.signer = signer
        self.namespace = namespace
        self.now = now
        self.service = service
        self.messages: list[Message] = []

    def append(self, stream_id: str, payloads: Sequence[EventPayload], department: str = DEPARTMENT) -> None:
        """Append ``payloads`` as the stream's versions 1…n, each about ``department``."""
        prev_hash = ""
        for version, payload in enumerate(payloads, start=1):
            envelope = self.signer.sign(Envelope(
                id=new_id(), source=f"qingdan/{self.service}/{DEPARTMENT}", type=payload.event_type, time=self.now,
                subject=stream_id, stream_id=stream_id, stream_type=payload.stream_type, stream_version=version,
                schema_version=payload.schema_version, actor="system", department=department,
                correlation_id=new_id(), data=payload.model_dump(mode="json"),
            ).sealed(prev_hash))
            prev_hash = envelope.hash
            subject = event_subject(self.namespace, self.service, department, envelope.type)
            self.messages.append((subject, envelope.to_json(), envelope.id))


def organisation_messages(keys: Keys, namespace: str) -> tuple[list[Message], list[str]]:
    """The district, its townships and villages, the departments and two staff; the village codes."""
    writer = _Writer(Signer.from_base64(keys.signing_seed), namespace, datetime.now(UTC))
    villages: list[str] = []
    writer.append(f"orgunit-{DISTRICT[0]}", [ev.OrgUnitEstablished(code=DISTRICT[0], name=DISTRICT[1],
                                                                    level="district")])
    for code, name in TOWNSHIPS:
        writer.append(f"orgunit-{code}", [ev.OrgUnitEstablished(code=code, name=name, level="township",
                                                                 parent_code=DISTRICT[0])])
        for n in range(1, 5):
            villages.append(village_code(code, n))
            writer.append(f"orgunit-{villages[-1]}", [ev.OrgUnitEstablished(
                code=villages[-1], name=village_name(code, name, n), level="village", parent_code=code)])
    for code, name in DEPARTMENTS:
        writer.append(f"department-{code}", [ev.DepartmentRegistered(code=code, name=name)])
    for n, (code, _name) in enumerate(DEPARTMENTS[:2]):
        staff_id = f"scale-staff-{n}"
        writer.append(f"staff-{staff_id}", [ev.StaffEnrolled(staff_id=staff_id, display_name=f"员工{n}",
                                                             department=code, roles=["department_staff"])])
    return writer.messages, villages


def person_messages(args: tuple[Keys, str, Sequence[str], int, int, int]) -> list[Message]:
    """The 5 events of each person ``first`` … ``first + count - 1`` (a worker process's task)."""
    keys, namespace, villages, seed, first, count = args
    vault = PersonalDataVault(MasterKey.from_base64(keys.master_key))
    writer = _Writer(Signer.from_base64(keys.signing_seed), namespace, datetime.now(UTC))
    today = date.today()
    rule = SevereRule()
    departments = {code for code, _ in DEPARTMENTS}
    rng = random.Random(seed * 1_000_003 + first)
    # registration_bodies guarantees distinct resident ids within a chunk; chunks differ by seed
    for body in registration_bodies(rng.randrange(1 << 30), villages, count):
        certificate = validate_certificate_number(body["certificate_number"], today=today)
        person_id = new_id()
        _key, wrapped = vault.new_subject(person_id)
        sealed = vault.seal(wrapped, person_id, {
            "certificate_number": certificate.value, "name": body["name"], "address": body["address"]})
        events = person_domain.register(
            person_id=person_id, certificate=certificate, sealed=sealed, village_code=body["village_code"],
            township_code=TOWNSHIP_OF[body["village_code"][:9]], hardship=body["hardship"], severe_rule=rule,
            registered_on=today)
        person = fold(person_domain.evolve, events)
        assert person is not None
        def seal_answers(answers: dict[str, Any], key: bytes = wrapped, subject: str = person_id) -> Any:
            return vault.seal(key, subject, {"answers": json.dumps(answers, ensure_ascii=False)})
        events += person_domain.record_visit(
            person, person_domain.VisitFacts(new_id(), today, "system", "home"), form=BUILT_IN,
            answers={"what_they_need": "康复训练"}, needs=["rehabilitation"], complete=False, today=today,
            seal=seal_answers)
        plan_events = plan_domain.draw(None, person, year=today.year)
        plan = fold(plan_domain.evolve, plan_events)
        assert plan is not None
        item_id = new_id()

        def seal(texts: dict[str, str], item: str = item_id, key: bytes = wrapped, subject: str = person_id) -> Any:
            return vault.seal(key, subject, texts, scope=f"item/{item}")
        plan_events += plan_domain.add_item(
            plan, item_id=item_id, kind="protection", need="rehabilitation", description="每月两次上门康复",
            responsible_department="health", due_on=today + timedelta(days=90), known_departments=departments,
            seal=seal)
        plan = fold(plan_domain.evolve, plan_events)
        assert plan is not None
        plan_events += plan_domain.deliver_item(plan, item_id, delivered_on=today, note="", today=today, seal=seal)
        writer.append(f"person-{person_id}", events)
        writer.append(plan_domain.plan_stream_id(person_id, today.year), plan_events)
    return writer.messages


def supervision_messages(keys: Keys, namespace: str, villages: Sequence[str], persons: int) -> Iterator[list[Message]]:
    """The checklists' and the inspections' streams for a register of ``persons``, by service.

    One template and one month's task list; a task per :data:`PERSONS_PER_TASK` persons, issued by
    the federation and reported and completed by its responsible department; an inspection group,
    an inspection per :data:`PERSONS_PER_INSPECTION` persons (a township, 5 items, 3 focus checks,
    a finding, completed) and the finding's rectification. Made from the catalogue's payloads (the
    consumers read nothing else); the focus checks name persons by fresh ids. Yielded a task or an
    inspection at a time, so that a million persons' share never sits in memory at once.
    """
    now, today = datetime.now(UTC), date.today()
    month = today.strftime("%Y-%m")
    departments = [code for code, _ in DEPARTMENTS]
    townships = [code for code, _ in TOWNSHIPS]
    checklists = _Writer(Signer.from_base64(keys.checklists_seed), namespace, now, "checklists")
    template_id, list_id = "scale-template", f"scale-list-{month}"
    items = [wl.TemplateItem(item_id=f"item-{n}", text=f"检查项{n}") for n in range(1, 6)]
    checklists.append(f"template-{template_id}", [wl.TemplateVersionPublished(
        template_id=template_id, version=1, title="乡镇检查指导清单", items=items, published_on=today)])
    checklists.append(f"tasklist-{list_id}", [wl.TaskListIssued(
        list_id=list_id, month=month, title=f"{month} 责任清单", issuer_department=DEPARTMENT, issued_on=today)])
    for n in range(max(1, persons // PERSONS_PER_TASK)):
        task_id, responsible = f"scale-task-{n}", departments[n % len(departments)]
        deadline = today + timedelta(days=20)
        checklists.append(f"task-{task_id}", [wl.TaskIssued(
            task_id=task_id, list_id=list_id, month=month, issuer_department=DEPARTMENT, title=f"任务{n}",
            description="入户核实", responsible_department=responsible, org_unit_code=villages[n % len(villages)],
            metric="persons", unit="人", target_value=10, complete_when_target_reached=False, issued_on=today,
            deadline=deadline)])
        checklists.append(f"task-{task_id}-work", [
            wl.TaskProgressReported(task_id=task_id, month=month, responsible_department=responsible,
                                    value_reached=5, target_value=10, reported_on=today),
            wl.TaskCompleted(task_id=task_id, month=month, responsible_department=responsible, completed_on=today,
                             how="reported", deadline=deadline, on_time=True),
        ], department=responsible)
        yield _taken(checklists)
    inspections = _Writer(Signer.from_base64(keys.inspections_seed), namespace, now, "inspections")
    group_id = "scale-group"
    inspections.append(f"group-{group_id}", [sv.GroupFormed(
        group_id=group_id, name="督导组", leader="scale-staff-0", members=["scale-staff-0", "scale-staff-1"],
        township_codes=townships, unit_codes=[])])
    for n in range(max(1, persons // PERSONS_PER_INSPECTION)):
        inspection_id, finding_id = f"scale-inspection-{n}", f"scale-finding-{n}"
        township = townships[n % len(townships)]
        facts: dict[str, Any] = {"inspection_id": inspection_id, "group_id": group_id, "target_kind": "township",
                                 "target_code": township, "township_code": township}
        results: dict[str, sv.ItemResult] = {item.item_id: "pass" for item in items}
        results[items[0].item_id] = "fail"
        inspections.append(f"inspection-{inspection_id}", [
            sv.InspectionScheduled(**facts, target_name=township, template_id=template_id, template_version=1,
                                   scheduled_on=today),
            sv.InspectionStarted(**facts, started_on=today),
            *(sv.ItemChecked(**facts, template_id=template_id, template_version=1, item_id=item_id, result=result)
              for item_id, result in results.items()),
            *(sv.FocusCheckRecorded(**facts, person_id=new_id(), archive_complete=True, visited_this_year=True,
                                    has_plan=True) for _ in range(3)),
            sv.FindingRecorded(**facts, finding_id=finding_id, source="item", item_id=items[0].item_id,
                               description="台账不全"),
            sv.InspectionCompleted(**facts, target_name=township, template_id=template_id, template_version=1,
                                   completed_on=today, score=80.0, items_passed=4, items_failed=1,
                                   items_not_applicable=0, focus_checks=3, focus_checks_with_issues=0, findings=1,
                                   item_results=results),
        ])
        inspections.append(f"rectification-scale-{n}", [sv.RectificationAssigned(
            rectification_id=f"scale-rectification-{n}", number=f"ZG-{today.year}-{n + 1:04d}", finding_id=finding_id,
            inspection_id=inspection_id, group_id=group_id, township_code=township,
            responsible_unit=departments[n % len(departments)], deadline=today + timedelta(days=30),
            target_kind="township", target_code=township, target_name=township, problem="台账不全",
            measures="补齐台账", assigned_on=today)])
        yield _taken(inspections)


def _taken(writer: _Writer) -> list[Message]:
    """The writer's messages so far, emptied."""
    messages, writer.messages = writer.messages, []
    return messages


def _tasks(keys: Keys, namespace: str, villages: Sequence[str], persons: int,
           seed: int) -> Iterator[tuple[Keys, str, Sequence[str], int, int, int]]:
    for first in range(0, persons, CHUNK):
        yield keys, namespace, villages, seed, first, min(CHUNK, persons - first)


async def publish_province(nats_url: str, namespace: str, keys: Keys, persons: int, *, seed: int = 11,
                           workers: int | None = None) -> int:
    """Generate ``persons`` persons' events in worker processes and publish them into ``namespace``'s
    registry stream, and the checklists' and inspections' events (``supervision_messages``) into theirs
    (``Nats-Msg-Id`` set, every acknowledgement checked); the number of messages in all."""
    organisation, villages = organisation_messages(keys, namespace)
    nc = await nats.connect(servers=nats_servers(nats_url))
    published = 0
    try:
        js = nc.jetstream(publish_async_max_pending=4000)
        for service in PUBLISHERS:
            await ensure_service_stream(js, namespace, service)
        loop = asyncio.get_running_loop()

        async def send(messages: Sequence[Message]) -> None:
            nonlocal published
            for subject, body, event_id in messages:
                await js.publish_async(subject, body, headers={"Nats-Msg-Id": event_id})
            published += len(messages)

        await send(organisation)
        for messages in supervision_messages(keys, namespace, villages, persons):
            await send(messages)
        processes = workers or os.cpu_count() or 1
        with ProcessPoolExecutor(max_workers=processes, initializer=end_on_interrupt) as pool:
            # A bounded window of chunks in flight: a million persons' messages would not fit in memory.
            window: deque[asyncio.Future[list[Message]]] = deque()
            for task in _tasks(keys, namespace, villages, persons, seed):
                window.append(loop.run_in_executor(pool, person_messages, task))
                if len(window) > 2 * processes:
                    await send(await window.popleft())  # in order: the stream is the persons' order
            while window:
                await send(await window.popleft())
        await js.publish_async_completed()
        stored = 0
        for service in PUBLISHERS:
            stored += int((await js.stream_info(stream_name(namespace, service))).state.messages)
        if stored != published:
            raise RuntimeError(f"the streams hold {stored} messages, {published} were published")
    finally:
        await nc.close()
    return published

