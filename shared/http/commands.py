"""Running a command from an HTTP route: through the service's single writer, timed and counted."""

from __future__ import annotations

import time
from typing import TypeVar

from fastapi import Request

from shared.errors import QingdanError
from shared.eventstore.executor import BufferedCommand, Command
from shared.observability import COMMAND_SECONDS, COMMANDS
from shared.runtime import ServiceRuntime

T = TypeVar("T")


async def execute(request: Request, command: Command[T] | BufferedCommand[T], *, buffered: bool = False) -> T:
    """Run ``command`` in the next group commit and record its outcome.

    ``buffered`` commands take a :class:`~shared.eventstore.unit_of_work.UnitOfWork` (the fast path).
    """
    runtime: ServiceRuntime = request.app.state.runtime
    service = runtime.settings.service
    started = time.perf_counter()
    try:
        if buffered:
            result = await runtime.executor.run_buffered(command)  # type: ignore[arg-type]
        else:
            result = await runtime.executor.run(command)  # type: ignore[arg-type]
    except QingdanError as exc:
        COMMANDS.labels(service, exc.code).inc()
        raise
    except Exception:
        COMMANDS.labels(service, "error").inc()
        raise
    COMMANDS.labels(service, "ok").inc()
    COMMAND_SECONDS.labels(service).observe(time.perf_counter() - started)
    return result
