"""Ctrl-C (SIGINT) and SIGTERM for a launcher (``python -m services.stack up``, ``python -m bench``):
whatever the moment, what runs stops and the launcher stops what it started.

A plain KeyboardInterrupt can land anywhere, and inside an event loop it can land in a callback,
where asyncio logs it and carries on; asyncio.run's own handler cancels its main task once, and a
task that swallows that cancellation (Python 3.11's ``wait_for``, as in nats-py's connect) runs on.
Here the signal never raises inside a loop: while one runs, every task of it is cancelled, again
each second while any is left, so ``asyncio.run`` ends with ``CancelledError``; in synchronous code
it raises :class:`Interrupted` at once. :meth:`Interruption.check` is the checkpoint between steps,
for a signal that came just as a loop ended; :meth:`Interruption.caused` says whether an exception
is the interruption's doing.
"""

from __future__ import annotations

import asyncio
import signal
import threading

RECANCEL_SECONDS = 1.0
"""How long a cancelled task may take to end before it is cancelled again (its clean-up awaits)."""


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: a BaseException, so that no ``except Exception`` on the way swallows it."""


class Interruption:
    """The signal handlers of a launcher, and whether they fired."""

    def __init__(self) -> None:
        self.pressed = threading.Event()

    def install(self) -> None:
        """Handle SIGINT and SIGTERM (in the main thread, before anything is started)."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def ignore_further(self) -> None:
        """From now on the stop must finish: a second Ctrl-C does nothing."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def _on_signal(self, *_: object) -> None:
        self.ignore_further()
        self.pressed.set()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # synchronous code: stop it here
            raise Interrupted from None
        # Never raise inside the loop (the handler runs between any two bytecodes of it): cancel its
        # tasks from the loop itself, woken through its pipe.
        loop.call_soon_threadsafe(_cancel_every_task, loop)

    def check(self) -> None:
        """Raise Interrupted if a signal came (a checkpoint between steps)."""
        if self.pressed.is_set():
            raise Interrupted

    def caused(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the interruption's doing: Interrupted, or after a signal the
        cancellation or any failure (a request or child process cut short)."""
        return isinstance(exc, Interrupted) or (
            self.pressed.is_set() and isinstance(exc, Exception | asyncio.CancelledError))


def _cancel_every_task(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:  # one may swallow the cancellation: again, until every one has ended
        loop.call_later(RECANCEL_SECONDS, _cancel_every_task, loop)


def end_on_interrupt() -> None:
    """The initializer of a worker process in a launcher's process group (a terminal's Ctrl-C reaches
    it too): end at once and silently, the signal's default, instead of printing a KeyboardInterrupt
    traceback from each worker; the launcher sees its pool broken and stops."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
