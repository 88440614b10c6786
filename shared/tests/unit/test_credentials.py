"""NATS identities: what each may publish, and the deployment's config kept in step with the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.messaging.credentials import (
    NatsAuth,
    authorization_template,
    masked,
    publishing_departments,
    service_permissions,
    with_credentials,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_INSTANCES = [("registry", "federation", ()), ("checklists", "federation", ()),
                     ("checklists", "health", ()), ("inspections", "federation", ()), ("reporting", "federation", ())]


def test_a_department_instance_publishes_only_its_own_subjects() -> None:
    publish, subscribe = service_permissions("qd", "checklists", publishing_departments("checklists", "health"))
    events = [p for p in publish if not p.startswith("$") and p != "qd._rebuilt.>"]
    assert events == ["qd.checklists.health.>"] and subscribe == ("_INBOX.>", "qd._rebuilt.>")
    assert not any(p.startswith(("$JS.API.STREAM.PURGE", "$JS.API.STREAM.DELETE", "$JS.API.STREAM.MSG.DELETE",
                                 "$JS.API.STREAM.CREATE", "$JS.API.STREAM.UPDATE", "$JS.API.>")) for p in publish)
    registry, _ = service_permissions("qd", "registry", publishing_departments("registry", "federation"))
    assert [p for p in registry if not p.startswith("$")] == ["qd.registry.>", "qd._rebuilt.>"]
    reporting, _ = service_permissions("qd", "reporting", publishing_departments("reporting", "federation"))
    assert [p for p in reporting if not p.startswith("$")] == ["qd._rebuilt.>"]  # rebuild notices only


def test_the_deployment_config_is_what_the_code_generates() -> None:
    text = (ROOT / "deploy" / "nats" / "nats-auth.conf").read_text()
    body = "".join(line + "\n" for line in text.splitlines() if not line.startswith("#"))
    assert body == authorization_template("qd", COMPOSE_INSTANCES), \
        "regenerate deploy/nats/nats-auth.conf with shared.messaging.credentials.authorization_template"


def test_passwords_are_kept_and_secret(tmp_path: Path) -> None:
    auth = NatsAuth(tmp_path)
    user = auth.service_user("qd", "registry", "federation", {"*"})
    auth.authorization()
    assert (tmp_path / "users.json").stat().st_mode & 0o777 == 0o600
    again = NatsAuth(tmp_path)
    assert again.service_user("qd", "registry", "federation", {"*"}).password == user.password
    assert again.operator.password == auth.operator.password


def test_urls_carry_credentials_and_logs_do_not() -> None:
    url = with_credentials("nats://a:4222,nats://b:4222", "qd-registry-federation", "s3cret_-x")
    assert url == "nats://qd-registry-federation:s3cret_-x@a:4222,nats://qd-registry-federation:s3cret_-x@b:4222"
    assert "s3cret" not in masked(url)
    with pytest.raises(ValueError, match="may only contain"):
        with_credentials("nats://a:4222", "user", "p@ss")
