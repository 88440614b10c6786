"""Who may call which route of the inspections service: one table, as data.

The use cases enforce it, docs/inspections.md shows it (:func:`markdown_table`, kept equal by a
test), and the route-by-role test takes its expected statuses from it (``shared.testing.access``).
"""

from __future__ import annotations

from services.inspections.domain.group import Group
from shared.access import ANY_ROLE, AUDIT_HISTORY, AccessTable, Rule
from shared.auth import Principal, Role

GROUPS = Rule("form a group, change its members or coverage", (
    "POST /groups", "PUT /groups/{group_id}/membership", "PUT /groups/{group_id}/coverage"),
    frozenset({Role.FEDERATION_ADMIN}))
GROUP_WORK = Rule(
    "schedule, start, record results and focus checks, raise findings, complete, cancel; enter a finding "
    "into the ledger, verify (close), reopen, extend a deadline", (
        "POST /inspections", "POST /inspections/{inspection_id}/start",
        "PUT /inspections/{inspection_id}/items/{item_id}",
        "PUT /inspections/{inspection_id}/focus-checks/{person_id}", "POST /inspections/{inspection_id}/findings",
        "POST /inspections/{inspection_id}/completion", "POST /inspections/{inspection_id}/cancellation",
        "POST /inspections/{inspection_id}/findings/{finding_id}/rectification",
        "POST /rectifications/{rectification_id}/verification", "POST /rectifications/{rectification_id}/reopening",
        "POST /rectifications/{rectification_id}/deadline-extension"),
    frozenset({Role.INSPECTOR, Role.FEDERATION_ADMIN}), "a member of the inspecting group (its leader included)")
RECTIFYING = Rule("report a rectification", ("POST /rectifications/{rectification_id}/report",),
                  frozenset({Role.DEPARTMENT_OFFICER}), "of the responsible unit (the officer's department)")
READS = Rule("read anything: groups, inspections, focus persons (opaque ids), the ledger, learned facts", (
    "GET /groups", "GET /groups/{group_id}", "GET /inspections", "GET /inspections/{inspection_id}",
    "GET /inspections/{inspection_id}/focus-persons", "GET /rectifications", "GET /rectifications/{rectification_id}",
    "GET /templates", "GET /templates/{template_id}/versions/{version}", "GET /directory/{what}"), ANY_ROLE)

TABLE = AccessTable((GROUPS, GROUP_WORK, RECTIFYING, READS, AUDIT_HISTORY))
"""Every route of the inspections service."""


def require_group_work(principal: Principal, group: Group, action: str) -> None:
    """:data:`GROUP_WORK`: an inspector's (or admin's) role, and membership of ``group``. A viewer
    or officer put into a group reads, but does not inspect."""
    GROUP_WORK.require(principal, action)
    group.require_member(principal.staff_id, action)


def markdown_table() -> str:
    """The table of docs/inspections.md ("Who may do what")."""
    return TABLE.markdown()
