"""Who may do what on NATS: one user per service instance, and an operator.

Every service instance connects as its own user (``QD_NATS_USER`` / ``QD_NATS_PASSWORD``). A
user may publish events only on its own subjects (``<ns>.<service>.<department>.>`` for each
department it writes for) and call only the JetStream API a service needs: stream info and
message reads, and creating, reading and deleting pull consumers on the namespace's streams.
Creating, updating, purging or deleting a stream, and deleting a message, are not in that list
(and are denied explicitly besides); the operator user does those, in the ``streams`` step.

User and password rather than NKeys: the server configuration and the secrets are plain files
the launcher writes (0600) and the same values come from the environment in production; the
server's configuration holds the passwords, so it is a secret file too.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from shared.messaging.subjects import stream_name
from shared.signing import ANY_DEPARTMENT, write_private

WRITING_SERVICES = ("registry", "checklists", "inspections")
"""The services that own a stream (the reporting service only reads)."""
OPERATOR = "qd-operator"
"""The user of the operator step (streams with deny-delete and deny-purge) and of test tools."""

# What no service may ever do, denied even if an allow rule were widened by mistake.
DENIED_TO_SERVICES = (
    "$JS.API.STREAM.CREATE.>", "$JS.API.STREAM.UPDATE.>", "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.MSG.DELETE.>",
)
_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class NatsUser:
    """A user in the server's configuration: name, password and permissions (None: everything)."""

    name: str
    password: str
    publish: tuple[str, ...] | None = None
    subscribe: tuple[str, ...] | None = None
    deny_publish: tuple[str, ...] = field(default=())

    def config_entry(self) -> str:
        """This user as an entry of the ``authorization.users`` list of nats-server's config."""
        entry = f"{{user: {json.dumps(self.name)}, password: {json.dumps(self.password)}"
        if self.publish is None:
            return entry + "}"
        publish = f"{{allow: {json.dumps(list(self.publish))}, deny: {json.dumps(list(self.deny_publish))}}}"
        subscribe = f"{{allow: {json.dumps(list(self.subscribe or ()))}}}"
        return entry + f", permissions: {{publish: {publish}, subscribe: {subscribe}}}}}"


def user_name(namespace: str, service: str, department: str) -> str:
    """The NATS user of one service instance."""
    return f"{namespace}-{service}-{department}"


def service_permissions(
    namespace: str, service: str, departments: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(publish, subscribe) allow lists of an instance writing for ``departments`` (``*``: any)."""
    departments = sorted(set(departments))
    if ANY_DEPARTMENT in departments:
        own = [f"{namespace}.{service}.>"]
    else:
        own = [f"{namespace}.{service}.{d}.>" for d in departments]
    streams = [stream_name(namespace, s) for s in WRITING_SERVICES]
    api = ["$JS.API.INFO", "$JS.API.STREAM.NAMES"]
    for stream in streams:
        api += [
            f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.MSG.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}.>",
            f"$JS.API.CONSUMER.CREATE.{stream}", f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.*", f"$JS.API.CONSUMER.DELETE.{stream}.*",
            f"$JS.API.CONSUMER.INFO.{stream}.*", f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
            f"$JS.ACK.{stream}.>",
        ]
    # Flow control of ordered consumers (rebuild, verify) answers on $JS.FC; replies come to inboxes.
    # A rebuild announces its swap on a plain subject that serving processes hear (no stream keeps
    # it; a forged notice can only empty a view cache).
    notices = f"{namespace}._rebuilt.>"
    return (*own, *api, "$JS.FC.>", notices), ("_INBOX.>", notices)


def publishing_departments(service: str, department: str, hosted: Iterable[str] = ()) -> frozenset[str]:
    """What an instance writes for, as its settings' ``signs_for`` says (the launcher and test
    stacks, which do not import the services, use this)."""
    if service == "reporting":
        return frozenset()
    if service == "checklists":
        return frozenset({department, *hosted})
    return frozenset({ANY_DEPARTMENT})


def instance_user(auth: NatsAuth, namespace: str, service: str, env: Mapping[str, str]) -> NatsUser:
    """The NATS user of one service instance, from the environment it is started with (its
    ``QD_DEPARTMENT``, federation if unset, and ``QD_HOSTED_DEPARTMENTS``): allowed to publish only
    its own subjects. The embedded launcher and the test stacks start instances this way."""
    department = env.get("QD_DEPARTMENT", "federation")
    hosted = [d for d in env.get("QD_HOSTED_DEPARTMENTS", "").split(",") if d]
    return auth.service_user(namespace, service, department, publishing_departments(service, department, hosted))


class NatsAuth:
    """The users of one nats-server; their passwords are kept in ``<folder>/users.json`` (0600).

    Passwords are generated once and kept, so a restarted stack keeps its identities.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.users_path = folder / "users.json"
        self._users: dict[str, NatsUser] = {}
        stored: dict[str, str] = json.loads(self.users_path.read_text()) if self.users_path.exists() else {}
        self._passwords = stored
        self.operator = self._user(OPERATOR, None, None)

    def _user(self, name: str, publish: tuple[str, ...] | None, subscribe: tuple[str, ...] | None) -> NatsUser:
        password = self._passwords.get(name) or secrets.token_urlsafe(24)
        self._passwords[name] = password
        deny = () if publish is None else DENIED_TO_SERVICES
        user = NatsUser(name, password, publish, subscribe, deny)
        self._users[name] = user
        return user

    def service_user(self, namespace: str, service: str, department: str, departments: Iterable[str]) -> NatsUser:
        """The user of one service instance (created, or its permissions refreshed)."""
        publish, subscribe = service_permissions(namespace, service, departments)
        return self._user(user_name(namespace, service, department), publish, subscribe)

    def authorization(self) -> str:
        """The ``authorization`` block of nats-server's configuration; also saves the passwords (0600)."""
        write_private(self.users_path, json.dumps(self._passwords, indent=2) + "\n")
        users = "\n".join(f"    {u.config_entry()}" for u in self._users.values())
        return f"authorization {{\n  users = [\n{users}\n  ]\n}}\n"


def authorization_template(namespace: str, instances: Iterable[tuple[str, str, Iterable[str]]]) -> str:
    """An ``authorization`` block for a deployment whose passwords come from the environment:
    the operator's from ``$QD_NATS_OPERATOR_PASSWORD``, each instance's (service, department,
    hosted departments) from ``$QD_NATS_PASSWORD_<SERVICE>[_<DEPARTMENT>]`` (department omitted
    for the federation's)."""
    operator = f"    {{user: {json.dumps(OPERATOR)}, password: $QD_NATS_OPERATOR_PASSWORD}}"
    lines = ["authorization {", "  users = [", operator]
    for service, department, hosted in instances:
        departments = publishing_departments(service, department, hosted)
        publish, subscribe = service_permissions(namespace, service, departments)
        suffix = service if department == "federation" else f"{service}_{department}"
        name = json.dumps(user_name(namespace, service, department))
        lines += [
            f"    {{user: {name}, password: $QD_NATS_PASSWORD_{suffix.upper()}, permissions: {{",
            f"      publish: {{allow: {json.dumps(list(publish))},",
            f"                deny: {json.dumps(list(DENIED_TO_SERVICES))}}}",
            f"      subscribe: {{allow: {json.dumps(list(subscribe))}}}}}}}",
        ]
    return "\n".join([*lines, "  ]", "}"]) + "\n"


def with_credentials(url: str, user: str, password: str) -> str:
    """Each comma-separated server URL with ``user:password@`` (passwords are URL-safe tokens)."""
    if not (_SAFE.match(user) and _SAFE.match(password)):
        raise ValueError("NATS user and password may only contain letters, digits, '_' and '-'")
    urls = []
    for one in url.split(","):
        parts = urlsplit(one.strip())
        host = parts.netloc.rsplit("@", 1)[-1]
        urls.append(urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}")))
    return ",".join(urls)


def masked(url: str) -> str:
    """A URL fit for a log line: passwords replaced by ``***``."""
    return re.sub(r"(//[^:/@,]+:)[^@,]+@", r"\1***@", url)
