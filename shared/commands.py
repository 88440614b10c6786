"""The base of every command input: pydantic models validated at the edge (HTTP body or CLI)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Command(BaseModel):
    """Base: unknown fields are an error, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VersionedCommand(Command):
    """A change to an existing entity; ``expected_version`` is the version the caller last saw."""

    expected_version: int | None = Field(
        default=None, ge=0, description="Refuse with 409 if the entity has changed since this version"
    )
