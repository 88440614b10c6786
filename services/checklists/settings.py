"""Checklists settings (environment, prefix ``QD_``); see docs/checklists.md.

One instance runs per department: ``QD_DEPARTMENT`` names it. The instance deployed for
``QD_ISSUER_DEPARTMENT`` (the federation) issues task lists and templates and reviews highlights.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from shared.settings import ServiceSettings


class ChecklistsSettings(ServiceSettings):
    """The checklists service's settings on top of the common ones."""

    service: str = "checklists"
    writes_events: ClassVar[bool] = True
    http_port: int = 8102
    issuer_department: str = Field(
        default="federation",
        description="The department whose instance issues task lists and templates and reviews highlights",
    )
    hosted_departments: str = Field(
        default="",
        description="Issuer instance only: departments without an instance of their own, served here "
                    "(comma-separated codes)",
    )

    @model_validator(mode="after")
    def _only_the_issuer_hosts(self) -> ChecklistsSettings:
        if self.hosted() and self.department != self.issuer_department:
            raise ValueError(
                f"QD_HOSTED_DEPARTMENTS is for the {self.issuer_department} instance only; "
                f"this instance is deployed for {self.department}"
            )
        return self

    def hosted(self) -> frozenset[str]:
        """The departments served here besides this instance's own."""
        return frozenset(d.strip() for d in self.hosted_departments.split(",") if d.strip()) - {self.department}

    def served(self) -> frozenset[str]:
        """Every department whose tasks, highlights and publicity this instance writes."""
        return frozenset({self.department}) | self.hosted()

    def signs_for(self) -> frozenset[str]:
        """A department's instance publishes and signs only for the departments it serves."""
        return self.served()

    @property
    def effective_database_url(self) -> str:
        """As for every service, but each department's instance gets its own SQLite file by default."""
        if self.database_url or self.department == self.issuer_department:
            return super().effective_database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service}-{self.department}.db').resolve()}"
