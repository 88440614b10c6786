"""Who may call which route of a checklists instance: one table, as data.

The use cases enforce it (``ChecklistsDeps.require_issuer`` / ``require_worker`` take the row),
docs/checklists.md shows it (:func:`markdown_table`, kept equal by a test), and the route-by-role
test takes its expected statuses from it (``shared.testing.access``).
"""

from __future__ import annotations

from shared.access import ANY_ROLE, AUDIT_HISTORY, AccessTable, Rule
from shared.auth import Role

ADMIN = frozenset({Role.FEDERATION_ADMIN})
DEPARTMENT = frozenset({Role.DEPARTMENT_OFFICER, Role.FEDERATION_ADMIN})
ON_THE_ISSUER = "on the issuer's instance"

ISSUING = Rule("issue a list or task, extend a deadline, cancel a task", (
    "POST /task-lists", "POST /task-lists/{month}/tasks", "POST /tasks/{task_id}/deadline-extension",
    "POST /tasks/{task_id}/cancellation"), ADMIN, ON_THE_ISSUER)
TEMPLATES = Rule("save / publish a template", (
    "PUT /templates/{template_id}/draft", "POST /templates/{template_id}/draft/publication",
    "POST /templates/{template_id}/versions"), ADMIN, ON_THE_ISSUER)
REVIEWING = Rule("approve, reject, feature a highlight", (
    "POST /highlights/{highlight_id}/approval", "POST /highlights/{highlight_id}/rejection",
    "POST /highlights/{highlight_id}/featuring"), ADMIN, ON_THE_ISSUER)
TASK_WORK = Rule("report progress, report completion", (
    "POST /tasks/{task_id}/progress", "POST /tasks/{task_id}/completion"), DEPARTMENT,
    "of the task's responsible department, on the instance serving it")
PUBLISHING = Rule("submit a highlight, list or withdraw publicity", (
    "POST /highlights", "POST /publicity", "POST /publicity/{item_id}/withdrawal"), DEPARTMENT,
    "of the department, on the instance serving it")
READS = Rule("read anything the instance knows", (
    "GET /instance", "GET /departments", "GET /task-lists", "GET /task-lists/{month}", "GET /tasks",
    "GET /tasks/{task_id}", "GET /tasks/{task_id}/history", "GET /templates", "GET /templates/{template_id}",
    "GET /highlights", "GET /highlights/{highlight_id}", "GET /publicity"), ANY_ROLE)

TABLE = AccessTable((ISSUING, TEMPLATES, REVIEWING, TASK_WORK, PUBLISHING, READS, AUDIT_HISTORY))
"""Every route of a checklists instance."""


def markdown_table() -> str:
    """The table of docs/checklists.md ("Who may do what")."""
    return TABLE.markdown()
