"""Where reminders go: e-mail over SMTP, and an HTTP webhook for an SMS or WeChat gateway.

A channel's :meth:`send` returns when the far side accepted the reminder and raises
:class:`ChannelError` otherwise. Its messages never carry personal data of persons (plan items are
named by need and plan, not by person), and nothing here logs an address.

The webhook's body is JSON, signed: ``X-Qingdan-Signature: sha256=<hex>`` is the HMAC-SHA256, with
the configured secret, of ``<X-Qingdan-Timestamp>.<body>``, so that the gateway can check that
Qingdan sent it and refuse a replay of an old one. ``Idempotency-Key`` (and the e-mail's
``Message-ID``) is the same for every attempt at one reminder, so a receiver can drop a repeat
(delivery is at least once: docs/reminders.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

import httpx

from services.reporting.reminders.selection import Channel, Planned
from shared.messaging.retry import Backoff


class ChannelError(Exception):
    """The channel did not take the reminder (the message says why, without the address)."""


def reminder_id(planned: Planned) -> str:
    """A stable id of one reminder (its key), the same on every attempt."""
    k = planned.key
    raw = f"{k.item_kind}|{k.item_id}|{k.due_on.isoformat()}|{k.staff_id}|{k.channel}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


KIND_NAMES = {"plan_item": "一人一策事项 plan item", "task": "清单任务 task", "rectification": "整改事项 rectification"}


def text_of(planned: Planned, today: date) -> str:
    """The reminder's text (bilingual, like the dashboards)."""
    item = planned.item
    days = (item.due_on - today).days
    when = "今天到期 due today" if days <= 0 else f"{days} 天后到期 due in {days} day{'s' if days != 1 else ''}"
    return (f"{KIND_NAMES[item.kind]}: {item.title}\n"
            f"到期 due on {item.due_on.isoformat()} ({when}).\n"
            f"编号 ref: {item.kind}/{item.item_id}\n"
            f"请登录清单系统处理。Please see to it in Qingdan.")


class ReminderChannel(Protocol):
    """A way to reach staff."""

    name: Channel

    async def send(self, planned: Planned, today: date) -> None:
        """Deliver one reminder; raise :class:`ChannelError` if it was not accepted."""


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the mail server (the password comes from the environment only)."""

    host: str
    port: int = 587
    starttls: bool = True
    user: str = ""
    password: str = ""
    from_address: str = "qingdan@localhost"
    timeout: float = 10.0


class SmtpChannel:
    """E-mail through an SMTP server, with the standard library's client in a worker thread."""

    name: Channel = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def message(self, planned: Planned, today: date) -> EmailMessage:
        """The e-mail for one reminder."""
        msg = EmailMessage()
        msg["From"] = self.config.from_address
        msg["To"] = planned.address
        msg["Subject"] = f"[清单 Qingdan] {planned.item.title} · {planned.item.due_on.isoformat()}"
        msg["Date"] = formatdate(localtime=False)
        domain = self.config.from_address.rpartition("@")[2] or "qingdan"
        msg["Message-ID"] = f"<reminder-{reminder_id(planned)}@{domain}>"
        msg["X-Qingdan-Reminder"] = reminder_id(planned)
        msg.set_content(text_of(planned, today))
        return msg

    async def send(self, planned: Planned, today: date) -> None:
        """Send the e-mail; :class:`ChannelError` on any SMTP or network failure."""
        message = self.message(planned, today)
        try:
            await asyncio.to_thread(self._send, message)
        except (OSError, smtplib.SMTPException) as exc:
            # The exception may quote the recipient (SMTPRecipientsRefused): name only its kind and code.
            code = getattr(exc, "smtp_code", None)
            raise ChannelError(f"smtp: {type(exc).__name__}{f' {code}' if code else ''}") from None

    def _send(self, message: EmailMessage) -> None:
        c = self.config
        with smtplib.SMTP(c.host, c.port, timeout=c.timeout) as smtp:
            if c.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if c.user:
                smtp.login(c.user, c.password)
            smtp.send_message(message)


@dataclass(frozen=True)
class WebhookConfig:
    """Where the gateway listens and how to sign for it."""

    url: str
    secret: str
    timeout: float = 5.0
    attempts: int = 3
    backoff: float = 0.5


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Qingdan-Signature`` value of a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class WebhookChannel:
    """An HTTP POST of JSON to a gateway that forwards it by SMS or WeChat."""

    name: Channel = "webhook"

    def __init__(self, config: WebhookConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport

    def payload(self, planned: Planned, today: date) -> dict[str, Any]:
        """The JSON body for one reminder."""
        item = planned.item
        return {"reminder_id": reminder_id(planned), "recipient": planned.address, "staff_id": planned.staff.staff_id,
                "item": {"kind": item.kind, "id": item.item_id, "title": item.title, "due_on": item.due_on.isoformat()},
                "days_left": (item.due_on - today).days, "text": text_of(planned, today)}

    async def send(self, planned: Planned, today: date) -> None:
        """POST it, retrying network errors, 429 and 5xx with back-off; :class:`ChannelError` if never accepted."""
        c = self.config
        body = json.dumps(self.payload(planned, today), ensure_ascii=False).encode()
        backoff = Backoff(c.backoff, c.backoff * 8)
        error = "no attempt"
        async with httpx.AsyncClient(timeout=c.timeout, transport=self._transport) as client:
            for attempt in range(c.attempts):
                if attempt:
                    await backoff.sleep()  # between attempts at a refusing gateway, not waiting for an event
                stamp = str(int(time.time()))
                headers = {"content-type": "application/json", "X-Qingdan-Timestamp": stamp,
                           "X-Qingdan-Signature": signature(c.secret, stamp, body),
                           "Idempotency-Key": reminder_id(planned)}
                try:
                    response = await client.post(c.url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    error = f"webhook: {type(exc).__name__}"
                    continue
                if response.is_success:
                    return
                error = f"webhook: HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    break  # the gateway refuses this request: the same again will not do better
        raise ChannelError(error)
