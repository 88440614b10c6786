"""Who may call which route of the reporting service: one table, as data.

Reporting holds no names or certificate numbers (persons appear by opaque id only, the registry
shows who they are to the roles allowed), so every view answers every role but the audit history, the
officer's week and the record of reminders sent.
The routes enforce it, docs/reporting.md shows it (:func:`markdown_table`, kept equal by a test),
and the route-by-role test takes its expected statuses from it (``shared.testing.access``).
"""

from __future__ import annotations

from shared.access import ANY_ROLE, AccessTable, Rule
from shared.auth import Role

VIEWS = Rule("coverage, the rehabilitation indicator, certificates, the ledger, scores, tasks, highlights and "
             "their dashboards (opaque ids only)", (
    "GET /coverage", "GET /rehabilitation", "GET /certificates", "GET /certificates/expiring", "GET /rectifications",
    "GET /rectifications/ledger.{extension}", "GET /rectifications/overdue", "GET /rectifications/{rectification_id}",
    "GET /inspections/scores", "GET /inspections/open-findings", "GET /tasks", "GET /tasks/summary",
    "GET /tasks/scoreboard", "GET /highlights", "GET /publicity", "GET /views/coverage", "GET /views/coverage/persons",
    "GET /views/rehabilitation",
    "GET /views/worklist", "GET /views/scoreboards", "GET /views/ledger", "GET /views/highlights",
    "GET /views/live-stats", "GET /live"), ANY_ROLE)
HISTORY = Rule("every event naming an entity, across services (audit)", ("GET /views/history/{entity_id}",),
               frozenset({Role.FEDERATION_ADMIN, Role.AUDITOR}))

WEEK = Rule("the officer's week of a township or village (own township only for a township officer)",
            ("GET /views/week",), frozenset({Role.FEDERATION_ADMIN, Role.TOWNSHIP_OFFICER}))

MY_REMINDERS = Rule("my own items falling due or overdue, and the reminders sent about them",
                    ("GET /reminders/mine",), ANY_ROLE)
REMINDERS_SENT = Rule("every reminder sent (who, which item, channel, outcome)", ("GET /reminders/sent",),
                      frozenset({Role.FEDERATION_ADMIN}))

TABLE = AccessTable((VIEWS, HISTORY, WEEK, MY_REMINDERS, REMINDERS_SENT),
                    public=("GET /health", "GET /metrics"))  # it publishes no events
"""Every route of the reporting service (the dashboards' pages and files, outside the OpenAPI
document, are static and carry no data: they ask the routes above with the signed-in token)."""


def markdown_table() -> str:
    """The table of docs/reporting.md ("Who may read what")."""
    return TABLE.markdown()
