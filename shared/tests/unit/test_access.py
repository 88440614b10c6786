"""The access table as data: one row per route, its verdict per role, its markdown."""

from __future__ import annotations

import pytest

from shared.access import ANY_ROLE, AUDIT_HISTORY, AccessTable, Rule
from shared.auth import Role
from shared.errors import Forbidden
from shared.testing.usecases import principal

ISSUE = Rule("issue", ("POST /things",), frozenset({Role.FEDERATION_ADMIN}), "on the issuer's instance")
READ = Rule("read", ("GET /things",), ANY_ROLE)


def test_a_route_in_two_rows_is_refused() -> None:
    with pytest.raises(ValueError, match="POST /things is in two rows"):
        AccessTable((ISSUE, Rule("again", ("POST /things",), ANY_ROLE)))
    with pytest.raises(ValueError, match="GET /health is in two rows"):
        AccessTable((Rule("health", ("GET /health",), ANY_ROLE),))


def test_the_table_answers_per_route_and_role_and_shows_itself() -> None:
    table = AccessTable((ISSUE, READ, AUDIT_HISTORY))
    assert table.allows("GET /things", Role.VIEWER) and table.allows("GET /health", Role.VIEWER)
    assert not table.allows("POST /things", Role.DEPARTMENT_OFFICER)
    assert table.allows("GET /streams/{stream_id}", Role.AUDITOR)
    with pytest.raises(KeyError, match="no row"):
        table.allows("DELETE /things", Role.FEDERATION_ADMIN)
    assert table.routes() == {"POST /things", "GET /things", "GET /streams/{stream_id}", "GET /health",
                              "GET /metrics", "GET /asyncapi.json"}
    assert "| issue | `POST /things` | yes | — | — | — | — | — | on the issuer's instance |" in table.markdown()


def test_a_rule_refuses_naming_the_roles_wanted_and_held() -> None:
    ISSUE.require(principal("admin"))
    with pytest.raises(Forbidden, match="issuing needs the role federation_admin; v has viewer"):
        ISSUE.require(principal("v", Role.VIEWER), "issuing")
