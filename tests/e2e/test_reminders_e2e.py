"""Reminders end to end: registry → NATS → reporting → a real SMTP server and a real webhook receiver.

A plan item of the health department falls due in two days; its officer has an e-mail address and
a gateway recipient id (set through the registry). Reporting sends exactly one mail and one signed
webhook call, records both, and shows them at ``/reminders/mine`` and ``/reminders/sent``. An item
delivered before the contact was known is never reminded. After reporting restarts, nothing is sent
again, while a new item due tomorrow is (so the scheduler did run after the restart).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.stack.demo.pengshan import TOWNSHIPS, person_body, seed_organisation
from shared.auth import Role
from shared.processes import free_port
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

TODAY = date.today()
DUE = TODAY + timedelta(days=2)
SECRET = "webhook-secret-" + "s" * 20
OFFICER_MAIL = "health-1@example.org"


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"")
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


@dataclass
class Webhook:
    """A local HTTP server recording every POST (body and headers)."""

    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    with hook.serving():
        yield hook


def _start(make: Callable[[NatsServerProcess], Stack], nats: NatsServerProcess, smtp_port: int, hook: Webhook) -> Stack:
    stack = make(nats)
    stack.add("registry")
    stack.add("reporting", env={
        "QD_SMTP_HOST": "127.0.0.1", "QD_SMTP_PORT": str(smtp_port), "QD_SMTP_STARTTLS": "false",
        "QD_SMTP_FROM": "qingdan@example.org",
        "QD_REMINDER_WEBHOOK_URL": f"http://127.0.0.1:{hook.port}/remind", "QD_REMINDER_WEBHOOK_SECRET": SECRET,
        "QD_REMINDER_LEAD_DAYS": "3"})
    stack.start()
    return stack


def _plan_item(registry: httpx.Client, person_id: str, due: date, need: str) -> str:
    item_id: str = expect(registry.post(f"/persons/{person_id}/plans/{due.year}/items", json={
        "kind": "protection", "need": need, "description": "每月两次上门康复",
        "responsible_department": "health", "due_on": due.isoformat()}), 201)["item_id"]
    return item_id


def _for_item(box: Mailbox, hook: Webhook, item_id: str) -> tuple[list[Message], list[dict[str, Any]]]:
    mails = [m for m in box.messages if item_id in m.get_payload(decode=True).decode()]  # type: ignore[union-attr]
    calls = [json.loads(body) for _, body in hook.calls]
    return mails, [c for c in calls if c["item"]["id"] == item_id]


async def _wait(stack: Stack, predicate: Callable[[], bool], message: str) -> None:
    try:
        await wait_until(predicate, timeout=60, message=message)
    except AssertionError:
        print(stack.logs())
        raise


async def test_a_plan_item_due_in_two_days_is_reminded_once_by_mail_and_webhook(
    stack_factory: Any, nats_server: NatsServerProcess, mailbox: tuple[Mailbox, int], webhook: Webhook
) -> None:
    box, smtp_port = mailbox
    stack = _start(stack_factory, nats_server, smtp_port, webhook)
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    for staff_id in ("health-1", "health-2"):  # health-2 has no contact: only the page shows them their items
        expect(registry.post("/staff", json={"staff_id": staff_id, "display_name": staff_id, "department": "health",
                                             "roles": ["department_officer"]}), 201)
    person_id = expect(registry.post("/persons", json=person_body(random.Random(7), villages[0], 1)), 201)["person_id"]
    expect(registry.post(f"/persons/{person_id}/plans/{DUE.year}"), 201)
    due_item = _plan_item(registry, person_id, DUE, "rehabilitation")
    done_item = _plan_item(registry, person_id, DUE, "assistive_devices")
    expect(registry.post(f"/persons/{person_id}/plans/{DUE.year}/items/{done_item}/delivery",
                         json={"delivered_on": TODAY.isoformat()}), 200)
    # Last: reporting applies the registry's events in order, so it knows the delivery before it can send.
    expect(registry.put("/staff/health-1/contact", json={"email": OFFICER_MAIL, "webhook_recipient": "13800000001"}),
           200)

    await _wait(stack, lambda: box.messages and webhook.calls, "a reminder by mail and by webhook")
    await _wait(stack, lambda: len(expect(reporting.get("/reminders/sent", params={"status": "sent"}), 200)
                                   ["reminders"]) == 2, "both reminders recorded as sent")
    mails, calls = _for_item(box, webhook, due_item)
    assert len(mails) == 1 and len(calls) == 1
    assert mails[0]["X-Envelope-To"] == OFFICER_MAIL and DUE.isoformat() in mails[0]["Subject"]
    headers, body = webhook.calls[0]
    signed = headers["x-qingdan-timestamp"].encode() + b"." + body
    assert headers["x-qingdan-signature"] == "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert calls[0]["recipient"] == "13800000001" and calls[0]["days_left"] == 2
    assert headers["idempotency-key"] == calls[0]["reminder_id"]
    assert _for_item(box, webhook, done_item) == ([], [])

    sent = expect(reporting.get("/reminders/sent"), 200)
    assert sorted((r["item_id"], r["staff_id"], r["channel"], r["status"]) for r in sent["reminders"]) == [
        (due_item, "health-1", "email", "sent"), (due_item, "health-1", "webhook", "sent")]
    assert OFFICER_MAIL not in json.dumps(sent)  # the record names staff, never their address
    officer = stack.token("health-1", Role.DEPARTMENT_OFFICER, department="health")
    with stack.client("reporting", officer) as as_officer:
        mine = expect(as_officer.get("/reminders/mine"), 200)
        assert as_officer.get("/reminders/sent").status_code == 403
    assert [(i["item_id"], i["days_left"], sorted(r["channel"] for r in i["reminders"])) for i in mine["items"]] == [
        (due_item, 2, ["email", "webhook"])]
    assert OFFICER_MAIL not in stack.services["reporting"].log_tail(400)

    # Restart: nothing is sent again, and a new item due tomorrow shows the scheduler runs.
    stack.services["reporting"].stop()
    stack.services["reporting"].start()
    next_item = _plan_item(registry, person_id, TODAY + timedelta(days=1), "employment")
    await _wait(stack, lambda: all(_for_item(box, webhook, next_item)), "the new item's reminders after the restart")
    assert [len(x) for x in _for_item(box, webhook, due_item)] == [1, 1]
    assert len(box.messages) == len(webhook.calls) == 2
