"""One instance per department: its settings, and what its replica projection keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.checklists.adapters.tables import replica_events
from services.checklists.application import access
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.projections import NAMES, projection_set
from services.checklists.projections.departments import DEPARTMENTS
from services.checklists.projections.replica import replica_projection, subject_department
from services.checklists.settings import ChecklistsSettings
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.catalogue.people import DepartmentRegistered
from shared.catalogue.worklists import HighlightSubmitted, TaskListIssued, TaskProgressReported
from shared.envelope import Envelope
from shared.errors import Forbidden
from shared.eventstore import EventStore
from shared.projection import Upsert
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.unit

PROGRESS = TaskProgressReported(task_id="t1", month="2025-03", responsible_department="health", value_reached=3,
                                target_value=10, reported_on=date(2025, 3, 5))


def _deps(department: str, hosted: frozenset[str] = frozenset()) -> ChecklistsDeps:
    return ChecklistsDeps(store=EventStore("checklists", department), issuer_department="federation",
                          served=frozenset({department}) | hosted, today=lambda: date(2025, 3, 10))


def _envelope(event: EventPayload, department: str, stream_id: str = "taskwork-t1") -> Envelope:
    return envelope_for(event, stream_id=stream_id, department=department, time=datetime(2025, 3, 5, tzinfo=UTC),
                        source=f"qingdan/checklists/{department}")


def test_a_department_instance_serves_only_its_department_and_gets_its_own_sqlite_file() -> None:
    settings = ChecklistsSettings(department="health", data_dir="data")
    assert settings.served() == {"health"} and settings.hosted() == frozenset()
    assert settings.effective_database_url.endswith("checklists-health.db")
    assert ChecklistsSettings(data_dir="data").effective_database_url.endswith("/checklists.db")


def test_only_the_issuers_instance_may_host_other_departments() -> None:
    settings = ChecklistsSettings(hosted_departments="civil_affairs, hrss,")
    assert settings.served() == {"federation", "civil_affairs", "hrss"}
    with pytest.raises(ValueError, match="for the federation instance only"):
        ChecklistsSettings(department="health", hosted_departments="hrss")


def test_the_federation_copies_a_departments_progress_but_not_its_own() -> None:
    projection = replica_projection(_deps("federation"))
    (operation,) = projection.changes(_envelope(PROGRESS, "health"), PROGRESS)
    assert isinstance(operation, Upsert) and operation.table is replica_events
    assert operation.key == {"stream_id": "taskwork-t1", "version": 1}
    assert operation.values["department"] == "health"
    assert projection.changes(_envelope(PROGRESS, "federation"), PROGRESS) == []


def test_another_department_copies_nothing_of_healths_work() -> None:
    assert replica_projection(_deps("education")).changes(_envelope(PROGRESS, "health"), PROGRESS) == []


def test_the_departments_come_from_the_registry() -> None:
    event = DepartmentRegistered(code="health", name="区卫健局")
    (operation,) = DEPARTMENTS.changes(_envelope(event, "federation", "department-health"), event)
    assert isinstance(operation, Upsert) and operation.values == {"name": "区卫健局"}


def test_what_an_event_is_about() -> None:
    listed = TaskListIssued(list_id="l", month="2025-03", title="t", issuer_department="federation",
                            issued_on=date(2025, 3, 1))
    submitted = HighlightSubmitted(highlight_id="h", department="education", title="t", description="d",
                                   submitted_on=date(2025, 3, 1))
    assert [subject_department(e) for e in (listed, PROGRESS, submitted)] == ["federation", "health", "education"]


def test_who_may_work_where() -> None:
    health_officer = Principal(staff_id="doc", department="health", roles=frozenset({Role.DEPARTMENT_OFFICER}))
    _deps("health").require_worker(health_officer, access.TASK_WORK, "health", "reporting progress")
    with pytest.raises(Forbidden, match="own instance"):
        _deps("federation").require_worker(health_officer, access.TASK_WORK, "health", "reporting progress")
    with pytest.raises(Forbidden, match="may act only on health's own work"):
        _deps("health").require_worker(health_officer, access.TASK_WORK, "civil_affairs", "reporting progress")
    admin = Principal(staff_id="admin", department="federation", roles=frozenset({Role.FEDERATION_ADMIN}))
    _deps("federation").require_issuer(admin, access.ISSUING, "issuing a task")
    with pytest.raises(Forbidden, match="done on the federation instance"):
        _deps("health").require_issuer(admin, access.ISSUING, "issuing a task")
    with pytest.raises(Forbidden, match="needs the role federation_admin"):
        _deps("federation").require_issuer(health_officer, access.ISSUING, "issuing a task")


def test_an_instance_reads_each_source_stream_once_and_names_its_checkpoints_after_its_department() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from shared.messaging.feeds import projection_consumers
    projections = projection_set(_deps("health"))
    assert projections.names == list(NAMES)
    consumers = projection_consumers(create_async_engine("sqlite+aiosqlite://"), projections,
                                     nats_url="nats://unused", namespace="qd")
    assert sorted(c.name for c in consumers) == ["checklists-health-from-checklists", "checklists-health-from-registry"]
    assert [projections.checkpoint(p) for p in projections.projections] == [
        "checklists-health-departments", "checklists-health-replica", "checklists-health-staff_directory"]
    replica = projections.named("replica")
    assert replica.event_types == {"tasklist.issued", "task.issued", "task.deadline_extended", "task.cancelled",
                                   "task.progress_reported", "task.completed", "highlight.submitted",
                                   "highlight.approved", "highlight.rejected", "highlight.featured"}
