"""Composition root of the reporting service."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.reporting.entrypoints.certificates_http import certificates_router
from services.reporting.entrypoints.http import router
from services.reporting.entrypoints.ledger_http import ledger_router
from services.reporting.entrypoints.pages import router as pages_router
from services.reporting.entrypoints.reminders_http import reminders_router
from services.reporting.entrypoints.tasks_http import tasks_router
from services.reporting.entrypoints.week_http import week_router
from services.reporting.live import LiveHub, topics_by_event_type
from services.reporting.read_models import PROJECTIONS, SCHEMA
from services.reporting.rebuild_notices import RebuildListener
from services.reporting.reminders.channels import (
    ReminderChannel,
    SmtpChannel,
    SmtpConfig,
    WebhookChannel,
    WebhookConfig,
)
from services.reporting.reminders.scheduler import ReminderPolicy, ReminderScheduler
from services.reporting.settings import ReportingSettings
from shared.http.app import create_app
from shared.messaging.feeds import attach_projections
from shared.runtime import ServiceRuntime


def reminder_channels(settings: ReportingSettings) -> list[ReminderChannel]:
    """The channels configured (none: reminders are only shown, at ``GET /reminders/mine``)."""
    channels: list[ReminderChannel] = []
    if settings.smtp_host:
        channels.append(SmtpChannel(SmtpConfig(
            host=settings.smtp_host, port=settings.smtp_port, starttls=settings.smtp_starttls, user=settings.smtp_user,
            password=settings.smtp_password, from_address=settings.smtp_from, timeout=settings.smtp_timeout)))
    if settings.reminder_webhook_url:
        channels.append(WebhookChannel(WebhookConfig(
            url=settings.reminder_webhook_url, secret=settings.reminder_webhook_secret,
            timeout=settings.reminder_webhook_timeout, attempts=settings.reminder_webhook_attempts)))
    return channels


def build_reminders(settings: ReportingSettings, runtime: ServiceRuntime) -> ReminderScheduler:
    """The reminder scheduler on the service's database, with its settings."""
    policy = ReminderPolicy(
        lead_days=settings.reminder_lead_days, interval=settings.reminder_interval,
        retry_after=timedelta(seconds=settings.reminder_retry_after), max_attempts=settings.reminder_max_attempts,
        stale_after=timedelta(seconds=settings.reminder_stale_after))
    return ReminderScheduler(runtime.engine, reminder_channels(settings), policy)


def build_runtime(settings: ReportingSettings) -> ServiceRuntime:
    """Database and consumers; reporting publishes nothing."""
    return ServiceRuntime.build(settings, schema=SCHEMA, publishes=False)


def build_app(settings: ReportingSettings | None = None) -> FastAPI:
    """The reporting HTTP app with its live consumers."""
    settings = settings or ReportingSettings()
    runtime = build_runtime(settings)
    live = LiveHub(topics_by_event_type(PROJECTIONS.projections))  # dashboards: one hub feeds every open page
    attach_projections(runtime, PROJECTIONS, after_commit=live.committed)
    runtime.tasks.append(live.ticker)  # /health names it if it fails
    reminders = build_reminders(settings, runtime)
    live.listeners.append(reminders.changed)  # a new item, a moved date, a new day: a pass soon
    runtime.tasks.append(reminders.task)
    # A rebuild's swap brings no event: this listener empties the view cache when one is announced.
    rebuilds = RebuildListener(settings.nats_url, settings.namespace, PROJECTIONS.prefix, live.rebuilt)

    async def start() -> None:
        await live.start()
        await rebuilds.start()
        reminders.start()

    async def stop() -> None:
        await reminders.stop()
        await rebuilds.stop()
        await live.stop()

    app = create_app(
        runtime,
        title="Qingdan reporting",
        description="Read models over every service's events: coverage, overdue work, scoreboards.",
        routers=[router, ledger_router, tasks_router, certificates_router, week_router, reminders_router,
                 pages_router],
        on_start=start,
        on_stop=stop,
    )
    app.state.live = live
    app.state.rebuilds = rebuilds
    app.state.reminders = reminders
    return app
