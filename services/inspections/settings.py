"""Inspections settings (environment, prefix ``QD_``); see docs/configuration.md."""

from __future__ import annotations

from shared.settings import ServiceSettings


class InspectionsSettings(ServiceSettings):
    """The inspections service's settings: the common ones, its name and port."""

    service: str = "inspections"
    http_port: int = 8103
