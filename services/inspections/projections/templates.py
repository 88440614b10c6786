"""The inspection templates the checklists services publish (a version never changes once published)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from services.inspections.adapters.tables import known_templates
from shared.catalogue import EventPayload
from shared.catalogue.worklists import TemplateVersionPublished
from shared.envelope import Envelope
from shared.projection import Operation, Projection, Upsert


def template_changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """A published template version, with its items in order."""
    if not isinstance(event, TemplateVersionPublished):
        return []
    items = [item.model_dump() for item in event.items]
    return [Upsert(known_templates, {"template_id": event.template_id, "version": event.version}, {
        "title": event.title, "items": json.dumps(items, ensure_ascii=False),
        "published_on": event.published_on, "supersedes": event.supersedes})]


TEMPLATES = Projection(
    name="templates", source_service="checklists", tables=(known_templates,),
    reads=(TemplateVersionPublished,), changes=template_changes,
)
"""Every published template version, which inspections are carried out against."""
