"""Inspection checklist templates: drafts, published versions that never change, supersession."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from services.checklists.domain import template as tp
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue.worklists import (
    TaskCancelled,
    TemplateDraftSaved,
    TemplateItem,
    TemplateVersionPublished,
)
from shared.errors import DomainRuleViolated, InvalidInput, NotFound

pytestmark = pytest.mark.unit

TODAY = date(2025, 3, 10)
SPECS = [
    TemplateItem(item_id="A1", text=" Archive complete for every severe person ",
                 guidance=" Check 10 files at random ", weight=3, evidence_required=True),
    TemplateItem(item_id="A2", text="Home visit recorded this year", guidance="", weight=2),
]
ITEMS = [
    TemplateItem(
        item_id="A1",
        text="Archive complete for every severe person",
        guidance="Check 10 files at random",
        weight=3,
        evidence_required=True,
    ),
    TemplateItem(item_id="A2", text="Home visit recorded this year", guidance="", weight=2),
]
V1 = TemplateVersionPublished(
    template_id="township",
    version=1,
    title="Township inspection",
    items=ITEMS,
    published_on=date(2025, 1, 10),
)
V2_ITEMS = [*ITEMS, TemplateItem(item_id="A3", text="Plan drawn", weight=1)]
V2 = TemplateVersionPublished(
    template_id="township",
    version=2,
    title="Township inspection",
    items=V2_ITEMS,
    published_on=date(2025, 2, 10),
    supersedes=1,
)


def given(*events: EventPayload) -> tp.Template | None:
    return fold(tp.evolve, events)


def publish(state: tp.Template | None, **changes: Any) -> list[EventPayload]:
    args: dict[str, Any] = dict(
        template_id="township",
        title=" Township inspection ",
        items=SPECS,
        published_on=date(2025, 1, 10),
        today=TODAY,
    )
    args.update(changes)
    return tp.publish_version(state, **args)


def test_a_new_template_publishes_version_one() -> None:
    [event] = publish(None)
    assert event == V1
    state = given(event)
    assert state is not None
    assert (state.status, state.next_version, state.current) == (
        "published",
        2,
        tp.PublishedVersion(1, "Township inspection", tuple(ITEMS), date(2025, 1, 10)),
    )


def test_a_new_version_supersedes_and_leaves_the_old_one_intact() -> None:
    specs = [*SPECS, TemplateItem(item_id="A3", text="Plan drawn")]
    [event] = publish(given(V1), items=specs, published_on=date(2025, 2, 10))
    assert event == V2
    state = given(V1, event)
    assert state is not None
    assert [v.version for v in state.versions] == [1, 2]
    assert state.version(1).items == tuple(ITEMS)
    assert state.version(2).items == tuple(V2_ITEMS)
    assert state.current is not None and state.current.version == 2


def test_changing_only_the_title_is_a_new_version() -> None:
    [event] = publish(given(V1), title="Township inspection 2025")
    assert isinstance(event, TemplateVersionPublished)
    assert (event.version, event.supersedes, event.items) == (2, 1, ITEMS)


def test_republishing_the_same_content_is_refused() -> None:
    with pytest.raises(DomainRuleViolated, match="nothing to publish"):
        publish(given(V1, V2), items=[*SPECS, TemplateItem(item_id="A3", text="Plan drawn")])


def test_an_unknown_version_is_not_found() -> None:
    state = given(V1)
    assert state is not None
    with pytest.raises(NotFound, match="no published version 3"):
        state.version(3)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"items": []}, "items", id="no-items"),
        pytest.param(
            {"items": [TemplateItem(item_id="A1", text="x"), TemplateItem(item_id="A1", text="y")]},
            "items[1].item_id",
            id="duplicate-id",
        ),
        pytest.param(
            {"items": [TemplateItem(item_id=f"A{i}", text="x") for i in range(201)]}, "items",
            id="too-many",
        ),
        pytest.param({"title": ""}, "title", id="blank-title"),
        pytest.param({"template_id": " "}, "template_id", id="blank-template-id"),
        pytest.param({"published_on": date(2025, 3, 11)}, "published_on", id="future"),
    ],
)
def test_bad_versions_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        publish(None, **changes)
    assert caught.value.field == field


def test_a_version_cannot_be_dated_before_the_one_it_supersedes() -> None:
    with pytest.raises(InvalidInput) as caught:
        publish(given(V1), title="new", published_on=date(2025, 1, 9))
    assert caught.value.field == "published_on"


def test_a_draft_is_saved_replaced_and_published() -> None:
    [first] = tp.save_draft(None, template_id="township", title="Township inspection", items=[])
    assert first == TemplateDraftSaved(
        template_id="township", version=1, title="Township inspection", items=[]
    )
    state = given(first)
    assert state is not None and state.status == "draft" and state.current is None
    [second] = tp.save_draft(state, template_id="township", title=" Township inspection ", items=SPECS)
    state = given(first, second)
    assert state is not None and state.draft == tp.Draft(1, "Township inspection", tuple(ITEMS))
    [published] = tp.publish_draft(state, published_on=date(2025, 1, 10), today=TODAY)
    assert published == V1
    state = given(first, second, published)
    assert state is not None and (state.status, state.draft) == ("published", None)


def test_a_draft_of_the_next_version_leaves_the_published_one_in_force() -> None:
    [draft] = tp.save_draft(
        given(V1), template_id="township", title="Township inspection v2",
        items=[TemplateItem(item_id="B1", text="New item")],
    )
    assert isinstance(draft, TemplateDraftSaved) and draft.version == 2
    state = given(V1, draft)
    assert state is not None
    assert state.current is not None and state.current.items == tuple(ITEMS)
    [published] = tp.publish_draft(state, published_on=TODAY, today=TODAY)
    assert isinstance(published, TemplateVersionPublished)
    assert (published.version, published.supersedes, [i.item_id for i in published.items]) == (2, 1, ["B1"])


def test_a_draft_is_checked_but_may_be_empty() -> None:
    twice = [TemplateItem(item_id="A1", text="x"), TemplateItem(item_id="A1", text="y")]
    with pytest.raises(InvalidInput) as caught:
        tp.save_draft(None, template_id="township", title="t", items=twice)
    assert caught.value.field == "items[1].item_id"


def test_publishing_an_empty_draft_is_refused() -> None:
    state = given(TemplateDraftSaved(template_id="township", version=1, title="t", items=[]))
    with pytest.raises(InvalidInput) as refused:
        tp.publish_draft(state, published_on=TODAY, today=TODAY)
    assert refused.value.field == "items"


def test_publishing_without_a_draft_is_refused() -> None:
    with pytest.raises(DomainRuleViolated, match="no draft"):
        tp.publish_draft(None, published_on=TODAY, today=TODAY)
    with pytest.raises(DomainRuleViolated, match="township has no draft"):
        tp.publish_draft(given(V1), published_on=TODAY, today=TODAY)


def test_a_template_stream_refuses_foreign_events() -> None:
    with pytest.raises(TypeError):
        given(
            V1,
            TaskCancelled(
                task_id="t", month="2025-03", responsible_department="d", reason="r", cancelled_on=TODAY
            ),
        )


@pytest.mark.parametrize(
    ("item", "field"),
    [
        pytest.param({"item_id": "A1", "text": "x", "weight": 0}, "weight", id="zero-weight"),
        pytest.param({"item_id": "A1", "text": "x", "weight": -1}, "weight", id="negative-weight"),
        pytest.param({"item_id": "A1", "text": "x", "weight": float("nan")}, "weight", id="nan-weight"),
        pytest.param({"item_id": " ", "text": "x"}, "item_id", id="blank-id"),
        pytest.param({"item_id": "A" * 41, "text": "x"}, "item_id", id="long-id"),
        pytest.param({"item_id": "A1", "text": " "}, "text", id="blank-text"),
        pytest.param({"item_id": "A1", "text": "x", "guidance": "g" * 4001}, "guidance", id="long-guidance"),
    ],
)
def test_an_item_is_refused_where_it_is_made(item: dict[str, Any], field: str) -> None:
    """Commands, events and both services share one ``TemplateItem``: a bad item never reaches the domain."""
    with pytest.raises(ValidationError) as caught:
        TemplateItem(**item)
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]
