"""Inspection checklist templates (检查指导清单): a draft, then published versions that never change.

A template is one stream holding a working draft of its next version and every version published so
far. Publishing freezes a version; a new version supersedes the previous one but never rewrites it,
so an inspection made with version 1 can always be read against version 1's items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import singledispatch
from typing import Literal

from services.checklists.domain import checks
from shared.catalogue import EventPayload
from shared.catalogue.worklists import TemplateDraftSaved, TemplateItem, TemplateVersionPublished
from shared.errors import DomainRuleViolated, InvalidInput, NotFound

TemplateStatus = Literal["draft", "published"]
MAX_ITEMS = 200


def template_stream_id(template_id: str) -> str:
    """One stream per template, holding all its versions."""
    return f"template-{template_id}"


@dataclass(frozen=True)
class Draft:
    """The working copy of the next version: editable until it is published."""

    version: int
    title: str
    items: tuple[TemplateItem, ...]


@dataclass(frozen=True)
class PublishedVersion:
    """A published version: immutable."""

    version: int
    title: str
    items: tuple[TemplateItem, ...]
    published_on: date


@dataclass(frozen=True)
class Template:
    """A template's state: its draft (if any) and its published versions, oldest first."""

    template_id: str
    draft: Draft | None = None
    versions: tuple[PublishedVersion, ...] = ()

    @property
    def status(self) -> TemplateStatus:
        """``draft`` until a first version is published."""
        return "published" if self.versions else "draft"

    @property
    def current(self) -> PublishedVersion | None:
        """The version in force: the latest published one."""
        return self.versions[-1] if self.versions else None

    @property
    def next_version(self) -> int:
        """The number the next published version gets."""
        return len(self.versions) + 1

    def version(self, number: int) -> PublishedVersion:
        """A published version by number."""
        for published in self.versions:
            if published.version == number:
                return published
        raise NotFound(f"template {self.template_id} has no published version {number}")


def evolve(state: Template | None, event: EventPayload) -> Template:
    """Apply one event to a template."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: Template | None) -> Template:
    raise TypeError(f"a template stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: TemplateDraftSaved, state: Template | None) -> Template:
    template = state or Template(event.template_id)
    return replace(template, draft=Draft(event.version, event.title, tuple(event.items)))


@_apply.register
def _(event: TemplateVersionPublished, state: Template | None) -> Template:
    template = state or Template(event.template_id)
    published = PublishedVersion(event.version, event.title, tuple(event.items), event.published_on)
    return replace(template, draft=None, versions=(*template.versions, published))


def check_items(items: Sequence[TemplateItem], *, allow_empty: bool) -> list[TemplateItem]:
    """The items of a version: non-empty (unless a draft), at most ``MAX_ITEMS``, ids unique.

    Each item was checked when it was made (``TemplateItem`` refuses a blank id or text and a weight
    that is not a finite number above zero); what is left are the rules about the list.
    """
    if not items and not allow_empty:
        raise InvalidInput("a published template needs at least one item", field="items")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} items, not {len(items)}", field="items")
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.item_id in seen:
            raise InvalidInput(f"item id {item.item_id!r} is used twice", field=f"items[{index}].item_id")
        seen.add(item.item_id)
    return list(items)


def save_draft(
    template: Template | None, *, template_id: str, title: str, items: Sequence[TemplateItem]
) -> list[EventPayload]:
    """Save (or replace) the working copy of the template's next version; it may be incomplete."""
    template_id = checks.text(template_id, "template_id", what="the template id", max_length=80)
    next_version = template.next_version if template is not None else 1
    return [
        TemplateDraftSaved(
            template_id=template_id, version=next_version,
            title=checks.text(title, "title", what="the template's title"),
            items=check_items(items, allow_empty=True),
        )
    ]


def publish_version(
    template: Template | None,
    *,
    template_id: str,
    title: str,
    items: Sequence[TemplateItem],
    published_on: date,
    today: date,
) -> list[EventPayload]:
    """Publish a new version with its full item list; it supersedes the current one, which stays as it was."""
    template_id = checks.text(template_id, "template_id", what="the template id", max_length=80)
    title = checks.text(title, "title", what="the template's title")
    checked = check_items(items, allow_empty=False)
    checks.not_future(published_on, today, "published_on", what="publication date")
    current = template.current if template is not None else None
    if current is not None:
        if (title, tuple(checked)) == (current.title, current.items):
            raise DomainRuleViolated(
                f"template {template_id} version {current.version} already has exactly this title and "
                "these items: nothing to publish"
            )
        if published_on < current.published_on:
            raise InvalidInput(f"publication date {published_on} is before version {current.version} was "
                               f"published ({current.published_on})", field="published_on")
    return [
        TemplateVersionPublished(
            template_id=template_id,
            version=current.version + 1 if current is not None else 1,
            title=title,
            items=checked,
            published_on=published_on,
            supersedes=current.version if current is not None else None,
        )
    ]


def publish_draft(template: Template | None, *, published_on: date, today: date) -> list[EventPayload]:
    """Publish the saved draft as the next version (the same checks as :func:`publish_version`)."""
    if template is None or template.draft is None:
        which = template.template_id if template is not None else "this template"
        raise DomainRuleViolated(f"{which} has no draft to publish")
    draft = template.draft
    return publish_version(template, template_id=template.template_id, title=draft.title, items=draft.items,
                           published_on=published_on, today=today)
