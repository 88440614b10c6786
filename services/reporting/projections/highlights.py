"""Highlights wall (特色亮点清单) and publicity list (宣传清单) read model, from the checklists events.

A highlight is submitted by its department's instance and reviewed by the federation's; the review
always follows the submission on the stream (the federation reviews only what it has received), so
each event simply sets the columns it knows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Boolean, Column, Date, MetaData, String, Table, Text, false

from shared.catalogue import EventPayload
from shared.catalogue import worklists as ev
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert

metadata = MetaData()

rpt_highlights = Table(
    "rpt_highlights", metadata,
    Column("highlight_id", String(36), primary_key=True),
    Column("department", String(50), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("status", String(10), nullable=False),
    Column("reject_reason", Text),
    Column("approved_on", Date),
    Column("featured_on", Date),
)

rpt_publicity = Table(
    "rpt_publicity", metadata,
    Column("item_id", String(36), primary_key=True),
    Column("department", String(50), nullable=False),
    Column("title", String(200), nullable=False),
    Column("channel", String(50), nullable=False),
    Column("published_on", Date, nullable=False),
    Column("highlight_id", String(36)),
    Column("url", String(500)),
    Column("withdrawn", Boolean, nullable=False, default=False, server_default=false()),
    Column("withdraw_reason", Text),
)


def changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The highlight or publicity row an event changes."""
    match event:
        case ev.HighlightSubmitted():
            return [Upsert(rpt_highlights, {"highlight_id": event.highlight_id}, {
                "department": event.department, "title": event.title, "description": event.description,
                "tags": json.dumps(event.tags, ensure_ascii=False),
                "evidence": json.dumps(event.evidence, ensure_ascii=False),
                "submitted_on": event.submitted_on, "status": "submitted"})]
        case ev.HighlightApproved():
            return [Patch(rpt_highlights, {"highlight_id": event.highlight_id},
                          {"status": "approved", "approved_on": event.approved_on})]
        case ev.HighlightRejected():
            return [Patch(rpt_highlights, {"highlight_id": event.highlight_id},
                          {"status": "rejected", "reject_reason": event.reason})]
        case ev.HighlightFeatured():
            return [Patch(rpt_highlights, {"highlight_id": event.highlight_id},
                          {"status": "featured", "featured_on": event.featured_on})]
        case ev.PublicityItemListed():
            return [Upsert(rpt_publicity, {"item_id": event.item_id}, {
                "department": event.department, "title": event.title, "channel": event.channel,
                "published_on": event.published_on, "highlight_id": event.highlight_id, "url": event.url})]
        case ev.PublicityItemWithdrawn():
            return [Patch(rpt_publicity, {"item_id": event.item_id},
                          {"withdrawn": True, "withdraw_reason": event.reason})]
    return []


HIGHLIGHTS = Projection(
    name="highlights",
    source_service="checklists",
    tables=(rpt_highlights, rpt_publicity),
    reads=(ev.HighlightSubmitted, ev.HighlightApproved, ev.HighlightRejected, ev.HighlightFeatured,
           ev.PublicityItemListed, ev.PublicityItemWithdrawn),
    changes=changes,
)
