"""Reporting settings (environment, prefix ``QD_``); see docs/configuration.md."""

from __future__ import annotations

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """The reporting service reads every other service's stream; it owns no events."""

    service: str = "reporting"
    http_port: int = 8104
