"""Staff as the reminders see them: department, roles, township scope and contact addresses.

The shared ``staff_directory`` (:mod:`shared.staff`) checks tokens and knows no department or
address; the reminders need both, to find who is responsible for an item and where to reach them
(docs/reminders.md). ``email`` and ``webhook_recipient`` are personal data of staff: read by the
reminder scheduler and by nothing else, never logged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Boolean, Column, MetaData, String, Table, Text

from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert

metadata = MetaData()

rm_staff = Table(
    "rm_staff", metadata,
    Column("staff_id", String(50), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("department", String(50), nullable=False),
    Column("roles", Text, nullable=False),  # JSON list
    Column("township_code", String(12)),
    Column("active", Boolean, nullable=False),
    Column("email", String(254)),
    Column("webhook_recipient", String(100)),
)


def changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The staff row a registry staff event changes."""
    match event:
        case ev.StaffEnrolled():
            return [Upsert(rm_staff, {"staff_id": event.staff_id}, {
                "display_name": event.display_name, "department": event.department,
                "roles": json.dumps(sorted(event.roles)), "township_code": event.township_code, "active": True})]
        case ev.StaffRolesChanged():
            return [Patch(rm_staff, {"staff_id": event.staff_id},
                          {"roles": json.dumps(sorted(event.roles)), "township_code": event.township_code})]
        case ev.StaffDisabled():
            return [Patch(rm_staff, {"staff_id": event.staff_id}, {"active": False})]
        case ev.StaffContactSet():
            return [Patch(rm_staff, {"staff_id": event.staff_id},
                          {"email": event.email, "webhook_recipient": event.webhook_recipient})]
    return []


REMINDER_STAFF = Projection(
    name="reminder_staff",
    source_service="registry",
    tables=(rm_staff,),
    reads=(ev.StaffEnrolled, ev.StaffRolesChanged, ev.StaffDisabled, ev.StaffContactSet),
    changes=changes,
)
