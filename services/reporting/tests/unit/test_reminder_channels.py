"""The webhook channel against a mock transport: signed body, retries on 5xx with one idempotency key,
no retry on another 4xx; and the e-mail's headers. (Real servers: tests/e2e/test_reminders_e2e.py.)"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, timedelta

import httpx
import pytest

from services.reporting.reminders.channels import (
    ChannelError,
    SmtpChannel,
    SmtpConfig,
    WebhookChannel,
    WebhookConfig,
    reminder_id,
)
from services.reporting.reminders.selection import OpenItem, Planned, ReminderKey, StaffMember

TODAY = date(2026, 6, 10)
ITEM = OpenItem("task", "t-1", "六月走访", TODAY + timedelta(days=2), "health")
STAFF = StaffMember("health-1", "health", frozenset({"department_officer"}), email="h@example.org",
                    webhook_recipient="138")
SECRET = "k" * 20


def _planned(channel: str) -> Planned:
    key = ReminderKey("task", "t-1", ITEM.due_on, "health-1", channel)  # type: ignore[arg-type]
    return Planned(key, ITEM, STAFF, STAFF.address(key.channel) or "")


def _channel(statuses: list[int], seen: list[httpx.Request]) -> WebhookChannel:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(statuses.pop(0))
    return WebhookChannel(WebhookConfig(url="http://gateway.test/remind", secret=SECRET, attempts=3, backoff=0.001),
                          transport=httpx.MockTransport(answer))


async def test_a_signed_post_retried_after_a_503_with_the_same_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    await _channel([503, 204], seen).send(_planned("webhook"), TODAY)
    assert len(seen) == 2
    assert {r.headers["idempotency-key"] for r in seen} == {reminder_id(_planned("webhook"))}
    request = seen[-1]
    signed = request.headers["x-qingdan-timestamp"].encode() + b"." + request.content
    assert request.headers["x-qingdan-signature"] == "sha256=" + hmac.new(SECRET.encode(), signed,
                                                                          hashlib.sha256).hexdigest()
    body = json.loads(request.content)
    assert (body["recipient"], body["item"]["id"], body["days_left"]) == ("138", "t-1", 2)


async def test_a_400_is_not_retried_and_exhausted_retries_fail() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ChannelError, match="HTTP 400"):
        await _channel([400, 204], seen).send(_planned("webhook"), TODAY)
    assert len(seen) == 1
    seen.clear()
    with pytest.raises(ChannelError, match="HTTP 502"):
        await _channel([502, 502, 502], seen).send(_planned("webhook"), TODAY)
    assert len(seen) == 3


def test_the_mail_names_the_item_and_a_stable_message_id() -> None:
    mail = SmtpChannel(SmtpConfig(host="smtp.test", from_address="qingdan@pengshan.example")).message(
        _planned("email"), TODAY)
    assert mail["To"] == "h@example.org" and ITEM.due_on.isoformat() in mail["Subject"]
    assert mail["Message-ID"] == f"<reminder-{reminder_id(_planned('email'))}@pengshan.example>"
    assert "task/t-1" in mail.get_content()
