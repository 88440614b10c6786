"""The base of every service's response models, and the shapes every service shares.

Routes declare what they return (``-> schemas.Person``), so ``/docs`` shows each response's schema,
and dates and times are serialised by the model (``date`` → ``"2026-03-01"``, ``datetime`` →
``"2026-03-01T08:00:00Z"``), never by hand.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.envelope import Envelope


class ResponseModel(BaseModel):
    """A JSON response body.

    Unknown keys are an error rather than silently dropped: a view that grows a field must say so
    in its model, or the route tests fail instead of clients quietly missing it.
    """

    model_config = ConfigDict(extra="forbid")


class StreamHistory(ResponseModel):
    """Every event of one stream, in order, with the result of checking its hash chain."""

    stream_id: str
    version: int
    chain_intact: bool
    problems: list[str]
    events: list[Envelope]
