"""Who may call which route of a service: one table as data, enforced, documented and tested.

A service lists its routes in :class:`Rule` rows (what, routes, the roles allowed, and the
condition on top that is not a role: "of the task's department", "a member of the group"). Its
use cases enforce the row (:meth:`Rule.require`), its ``docs/<service>.md`` shows
:meth:`AccessTable.markdown` (a test keeps the two equal), and the route-by-role test
(``shared.testing.access``) takes every cell's expected status from :meth:`AccessTable.allows`,
with the routes from the app's OpenAPI document, so that a new route without a row fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.auth import Principal, Role
from shared.errors import Forbidden

ANY_ROLE = frozenset(Role)
"""Every authenticated member of staff (viewers included)."""

OPERATIONS = ("GET /health", "GET /metrics", "GET /asyncapi.json")
"""The operator's routes every service answers without a token."""


@dataclass(frozen=True)
class Rule:
    """Some routes, and the roles that may call them. ``condition`` is what must also hold that a
    role cannot say (checked by the use case, and shown in the table): the test's principals meet it."""

    what: str
    routes: tuple[str, ...]
    roles: frozenset[Role]
    condition: str = ""

    def allows(self, principal: Principal) -> bool:
        """Whether one of the principal's roles is allowed (the ``condition`` is the caller's to check)."""
        return principal.has(*self.roles)

    def require(self, principal: Principal, action: str | None = None) -> None:
        """:class:`Forbidden` (naming the roles wanted and held) unless :meth:`allows`."""
        if not self.allows(principal):
            wanted = " or ".join(r.value for r in Role if r in self.roles)
            raise Forbidden(f"{action or self.what} needs the role {wanted}; "
                            f"{principal.staff_id} has {principal.role_list()}")


AUDIT_HISTORY = Rule("a stream's events with their hash-chain and signature check (audit)",
                     ("GET /streams/{stream_id}",), frozenset({Role.FEDERATION_ADMIN, Role.AUDITOR}))
"""``shared.http.history``'s route, the same in every service that writes events."""


@dataclass(frozen=True)
class AccessTable:
    """Every route of one service: rows of :class:`Rule`, and the routes answered without a token."""

    rules: tuple[Rule, ...]
    public: tuple[str, ...] = OPERATIONS

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for rule in self.rules:
            for route in rule.routes:
                if route in seen or route in self.public:
                    raise ValueError(f"route {route} is in two rows ({seen.get(route, 'public')}, {rule.what})")
                seen[route] = rule.what

    def rule(self, route: str) -> Rule:
        """The row of ``route`` (``"METHOD /path"`` as in the OpenAPI document); KeyError if none."""
        for rule in self.rules:
            if route in rule.routes:
                return rule
        raise KeyError(f"{route} has no row in the access table")

    def allows(self, route: str, role: Role) -> bool:
        """Whether ``role`` may call ``route`` (a public route: anyone)."""
        return route in self.public or role in self.rule(route).roles

    def routes(self) -> set[str]:
        """Every route the table documents, public ones included."""
        return {route for rule in self.rules for route in rule.routes} | set(self.public)

    def markdown(self) -> str:
        """The table for ``docs/<service>.md``: one row per :class:`Rule`, one column per role."""
        roles = list(Role)
        lines = ["| what | routes | " + " | ".join(f"`{r.value}`" for r in roles) + " | on condition |",
                 "| --- | --- | " + " | ".join("---" for _ in roles) + " | --- |"]
        for rule in self.rules:
            cells = ["yes" if role in rule.roles else "—" for role in roles]
            lines.append(f"| {rule.what} | {_routes(rule.routes)} | {' | '.join(cells)} | {rule.condition or '—'} |")
        lines += ["", f"Without a token: {_routes(self.public)}."]
        return "\n".join(lines)


def _routes(routes: Iterable[str]) -> str:
    return ", ".join(f"`{r}`" for r in routes)
