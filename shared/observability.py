"""Structured logs and Prometheus metrics shared by every service."""

from __future__ import annotations

import logging
import sys

import structlog
from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPENDED = Counter("qingdan_events_appended_total", "Events committed to the event store", ["service"])
EVENTS_PUBLISHED = Counter("qingdan_events_published_total", "Events acknowledged by JetStream", ["service"])
OUTBOX_BACKLOG = Gauge("qingdan_outbox_backlog", "Events in the last outbox batch read (0 = caught up)", ["service"])
EVENTS_APPLIED = Counter(
    "qingdan_events_applied_total", "Events applied by a consumer to its read model", ["consumer"]
)
EVENTS_SKIPPED = Counter(
    "qingdan_events_skipped_total", "Redelivered events a consumer had already applied", ["consumer"]
)
DEAD_LETTERS = Counter("qingdan_dead_letters_total", "Events a consumer could not process", ["consumer"])
CONSUMER_POSITION = Gauge("qingdan_consumer_position", "Last stream sequence applied", ["consumer", "source"])
CONSUMER_LAG = Gauge(
    "qingdan_consumer_lag", "Events in the source stream after the last one a consumer fetched", ["consumer", "source"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "qingdan_outbox_oldest_age_seconds", "Age of the oldest committed event not yet published (0 = none)", ["service"]
)
RELAY_PARKED_STREAMS = Gauge(
    "qingdan_relay_parked_streams",
    "Streams the relay set aside because an event of theirs cannot be published (0 = none)", ["service"],
)
NATS_RTT = Gauge(
    "qingdan_nats_rtt_seconds",
    "Round trip to NATS of a service's connection at the last health check (-1 = no answer)",
    ["service", "connection"],
)
TASK_UP = Gauge("qingdan_task_up", "1 while a background task runs without failure, 0 while it is down", ["task"])
TASK_RESTARTS = Counter("qingdan_task_restarts_total", "Background task failures followed by a restart", ["task"])
COMMANDS = Counter("qingdan_commands_total", "Commands handled", ["service", "outcome"])
COMMAND_SECONDS = Histogram(
    "qingdan_command_seconds", "Command latency including the group commit", ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Structured logs to stderr: JSON lines for operators, or coloured console lines for a developer."""
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
