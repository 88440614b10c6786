"""Inspection checklist templates as this service knows them: learned from checklists' events.

The checklists service owns the templates; the application fills :class:`KnownTemplate` values
from its template-published events and hands them to the inspection commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.catalogue.worklists import TemplateItem
from shared.errors import InvalidInput


@dataclass(frozen=True)
class KnownTemplate:
    """One published version of an inspection checklist template (检查指导清单); its items' weights
are above zero (``TemplateItem`` checks them)."""

    template_id: str
    version: int
    items: tuple[TemplateItem, ...]

    def __post_init__(self) -> None:
        ids = [item.item_id for item in self.items]
        duplicates = sorted({item_id for item_id in ids if ids.count(item_id) > 1})
        if duplicates:
            raise ValueError(f"template {self.label} repeats item(s) {', '.join(duplicates)}")

    @property
    def label(self) -> str:
        """``template-id v3``, for messages."""
        return f"{self.template_id} v{self.version}"

    @property
    def item_ids(self) -> tuple[str, ...]:
        """The item ids in template order."""
        return tuple(item.item_id for item in self.items)

    def item(self, item_id: str) -> TemplateItem | None:
        """The item with that id, or ``None`` if this version has no such item."""
        return next((item for item in self.items if item.item_id == item_id), None)

    def score(self, results: Mapping[str, str]) -> float | None:
        """100 × Σ weight(pass) / Σ weight(pass + fail), to one decimal; not-applicable items left out.

        ``None`` when no applicable item carries weight (all not applicable): nothing was scored,
        which is more honest than a perfect 100.
        """
        passed = sum(item.weight for item in self.items if results.get(item.item_id) == "pass")
        failed = sum(item.weight for item in self.items if results.get(item.item_id) == "fail")
        if passed + failed == 0:
            return None
        return round(100 * passed / (passed + failed), 1)


TemplateKey = tuple[str, int]


def require_template(
    known: Mapping[TemplateKey, KnownTemplate], template_id: str, version: int
) -> KnownTemplate:
    """The template version asked for, or a 422 saying this service has not heard of it."""
    template = known.get((template_id, version))
    if template is None:
        versions = sorted(v for (tid, v) in known if tid == template_id)
        hint = (f"; known versions: {', '.join(map(str, versions))}" if versions
                else "; no version of it has been published")
        raise InvalidInput(
            f"template {template_id} v{version} is unknown to the inspections service "
            f"(it learns templates from the checklists service's published events){hint}",
            field="template_version" if versions else "template_id",
        )
    return template
