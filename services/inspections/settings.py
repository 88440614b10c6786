"""Inspections settings (environment, prefix ``QD_``); see docs/configuration.md."""

from __future__ import annotations

from typing import ClassVar

from shared.settings import ServiceSettings


class InspectionsSettings(ServiceSettings):
    """The inspections service's settings: the common ones, its name and port."""

    service: str = "inspections"
    writes_events: ClassVar[bool] = True
    http_port: int = 8103
