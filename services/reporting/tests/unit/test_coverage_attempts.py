"""Coverage counts visit attempts: reached once is reached for the year; 失访 only when never reached."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.reporting.projections.coverage import COVERAGE, cov_years
from shared.catalogue import people as ev
from shared.projection import MemoryModel
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.unit


def visit(person: str, day: int, reason: str | None = None) -> ev.HomeVisitRecorded:
    return ev.HomeVisitRecorded(
        person_id=person, visit_id=f"{person}-{day}", year=2026, visited_on=date(2026, 3, day), visitor="t",
        mode="lost_to_follow_up" if reason else "home", outcome="lost" if reason else "reached", lost_reason=reason,
        needs=[], village_code="511403001001", township_code="511403001000")


def years(*events: ev.HomeVisitRecorded) -> dict[str, tuple[bool, bool, bool, str | None]]:
    model = MemoryModel(COVERAGE.tables)
    for n, event in enumerate(events, 1):
        envelope = envelope_for(event, stream_id=f"person-{event.person_id}", version=n, time=datetime.now(UTC))
        model.apply(COVERAGE.changes(envelope, event))
    return {r["person_id"]: (r["attempted"], r["visited"], r["lost_to_follow_up"], r["lost_reason"])
            for r in model.table_rows(cov_years)}


def test_a_lost_attempt_then_a_reached_one_is_reached_and_a_later_lost_one_undoes_nothing() -> None:
    assert years(visit("a", 1, "working_away"), visit("a", 9), visit("a", 20, "refused"),
                 visit("b", 2, "no_contact"), visit("b", 5, "refused"), visit("c", 3)) == {
        "a": (True, True, True, "refused"),
        "b": (True, False, True, "refused"),  # lost: the latest reason counts
        "c": (True, True, False, None),
    }


def test_a_lost_visit_without_a_reason_counts_as_not_recorded() -> None:
    old = ev.HomeVisitRecorded.model_validate({**visit("d", 4, "other").model_dump(), "lost_reason": None})
    assert years(old)["d"] == (True, False, True, "not_recorded")
