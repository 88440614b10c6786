"""Ctrl-C at any moment of a launcher: in synchronous code it raises at once; while an event loop
runs it cancels every task (again while one swallows the cancellation), never raising inside the
loop, so ``asyncio.run`` ends with CancelledError."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator

import pytest

from shared.interruption import Interrupted, Interruption


@pytest.fixture
def interruption() -> Iterator[Interruption]:
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    interruption = Interruption()
    interruption.install()
    yield interruption
    signal.signal(signal.SIGINT, handlers[0])
    signal.signal(signal.SIGTERM, handlers[1])


def test_ctrl_c_in_synchronous_code_raises_at_once_and_only_once(interruption: Interruption) -> None:
    with pytest.raises(Interrupted):
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs before the next bytecode
        raise AssertionError("not interrupted")
    assert interruption.pressed.is_set()
    os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C is ignored: the stop must finish
    with pytest.raises(Interrupted):
        interruption.check()


def test_sigterm_is_a_ctrl_c(interruption: Interruption) -> None:
    with pytest.raises(Interrupted):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("not interrupted")


def test_ctrl_c_while_a_loop_runs_cancels_every_task_even_one_that_swallows_it(interruption: Interruption) -> None:
    ended: list[str] = []

    async def worker(n: int, started: asyncio.Event) -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # a request that does not answer
        except asyncio.CancelledError:
            ended.append(f"cancelled {n}")
            raise

    async def swallower(started: asyncio.Event) -> None:
        started.set()
        with contextlib.suppress(asyncio.CancelledError):  # as 3.11's wait_for can
            await asyncio.Event().wait()
        ended.append("swallowed once")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            ended.append("cancelled again")
            raise

    async def load() -> str:
        started = [asyncio.Event() for _ in range(3)]
        tasks = asyncio.gather(*(worker(n, e) for n, e in enumerate(started[:2])), swallower(started[2]))
        for event in started:
            await event.wait()
        os.kill(os.getpid(), signal.SIGINT)
        await tasks
        return "finished"

    with pytest.raises(asyncio.CancelledError) as raised:
        asyncio.run(load())
    assert interruption.caused(raised.value)
    assert sorted(ended) == ["cancelled 0", "cancelled 1", "cancelled again", "swallowed once"]


def test_without_ctrl_c_nothing_is_the_interruptions_doing(interruption: Interruption) -> None:
    async def load() -> str:
        await asyncio.sleep(0)
        return "finished"

    assert asyncio.run(load()) == "finished"
    interruption.check()  # nothing pressed: no Interrupted
    assert not interruption.caused(RuntimeError("a real failure"))
    assert not interruption.caused(asyncio.CancelledError())


def test_after_ctrl_c_a_failure_is_the_interruptions_doing(interruption: Interruption) -> None:
    with pytest.raises(Interrupted):
        os.kill(os.getpid(), signal.SIGINT)
    assert interruption.caused(RuntimeError("a request cut short"))
    assert not interruption.caused(SystemExit(1))
