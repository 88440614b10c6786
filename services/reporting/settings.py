"""Reporting settings (environment, prefix ``QD_``); see docs/configuration.md."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """The reporting service reads every other service's stream; it owns no events."""

    service: str = "reporting"
    http_port: int = 8104

    # Reminders of work falling due (docs/reminders.md). No channel configured: nothing is sent,
    # GET /reminders/mine still shows each member of staff their items.
    reminder_lead_days: int = Field(default=3, ge=0, le=60, description="Remind this many days before the due date")
    reminder_interval: float = Field(
        default=300.0, gt=0, le=86_400, description="Seconds between reminder passes (also the retry tick)")
    reminder_retry_after: float = Field(
        default=300.0, gt=0, description="Seconds before a failed reminder is tried again (doubled each failure)")
    reminder_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Failed sends of one reminder before it is abandoned")
    reminder_stale_after: float = Field(
        default=600.0, gt=0, description="Seconds after which a reminder left `sending` by a dead process is resent")
    smtp_host: str = Field(default="", description="SMTP server for e-mail reminders; empty: no e-mail")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS")
    smtp_user: str = Field(default="", description="SMTP user (empty: no login)")
    smtp_password: str = Field(default="", description="SMTP password (from the environment only)")
    smtp_from: str = Field(default="", description="From address of reminder e-mails (required with QD_SMTP_HOST)")
    smtp_timeout: float = Field(default=10.0, gt=0, le=120)
    reminder_webhook_url: str = Field(
        default="", description="URL of an SMS/WeChat gateway taking reminders as signed JSON; empty: no webhook")
    reminder_webhook_secret: str = Field(default="", description="HMAC-SHA256 key of the webhook's signature")
    reminder_webhook_timeout: float = Field(default=5.0, gt=0, le=60)
    reminder_webhook_attempts: int = Field(default=3, ge=1, le=10, description="Tries per send (network, 429, 5xx)")

    @model_validator(mode="after")
    def _channels_are_complete(self) -> ReportingSettings:
        if self.smtp_host and not self.smtp_from:
            raise ValueError("QD_SMTP_FROM must be set with QD_SMTP_HOST")
        if self.smtp_user and not self.smtp_password:
            raise ValueError("QD_SMTP_PASSWORD must be set with QD_SMTP_USER")
        if self.reminder_webhook_url:
            if not self.reminder_webhook_url.startswith(("http://", "https://")):
                raise ValueError("QD_REMINDER_WEBHOOK_URL must be an http:// or https:// URL")
            if len(self.reminder_webhook_secret) < 16:
                raise ValueError("QD_REMINDER_WEBHOOK_SECRET (at least 16 characters) must be set with "
                                 "QD_REMINDER_WEBHOOK_URL")
        return self
