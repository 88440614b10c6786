"""``bench.lone_commands`` under callgrind: instructions per lone registration, not disturbed by load.

```sh
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/lone.%p.out \
    .venv/bin/python -m bench.lone_callgrind [--db sqlite|postgres] [--count 200]
grep ^totals /tmp/lone.*.out    # divided by --count: instructions per lone command
```

Instrumentation is switched on (``callgrind_control -i on``) at the start of ``measure``'s window
and off at its end, so start-up, schema and warm-up are not counted. Under valgrind the process is
~20× slower, so whatever the outbox does *by age* would happen at other commands than in a native
run; here it is made independent of the clock: the writer clears acknowledged rows every
``CLEAR_EVERY`` rows only, the relay never deletes them itself, the parked streams are read once,
the relay's lease (PostgreSQL) is not re-checked (``Lease.check_interval``: a ``SELECT 1``, ``BEGIN``
and ``COMMIT`` every second of wall time, 0.16–0.27 a command under valgrind depending on the
load, against 1 in 200 at a native 200/s), and commands are 0.1 s apart (each still its own batch
and its own relay cycle). Two runs of the same code then differ by well under 1 %.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import types
from typing import Any

import bench.lone_commands as lone
import shared.eventstore.outbox as outbox_module
import shared.messaging.relay as relay_module
from shared.leadership import Lease

_NEVER = 1e6
"""Seconds: an age that is never reached during a run."""


def _toggling_clock() -> types.SimpleNamespace:
    """A ``time`` for ``bench.lone_commands`` whose first ``process_time()`` turns callgrind's
    instrumentation on and whose second turns it off."""
    calls = [0]

    def process_time() -> float:
        calls[0] += 1
        switch = "on" if calls[0] == 1 else "off"
        subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], check=True, capture_output=True)
        return time.process_time()

    return types.SimpleNamespace(process_time=process_time, perf_counter=time.perf_counter)


def main(argv: list[str]) -> int:
    """Run ``bench.lone_commands`` with its clock-driven outbox work pinned (see the module's doc)."""
    parser = argparse.ArgumentParser(prog="python -m bench.lone_callgrind")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args(argv)
    for module, name in ((outbox_module, "CLEAR_AFTER"), (outbox_module, "FORGET_DELAY"),
                         (relay_module, "FORGET_DELAY"), (outbox_module, "PARKED_REFRESH")):
        vars(module)[name] = _NEVER
    lease_init = Lease.__init__

    def unchecked(self: Lease, *args: Any, **kwargs: Any) -> None:
        lease_init(self, *args, **kwargs)
        self.check_interval = _NEVER

    setattr(Lease, "__init__", unchecked)  # noqa: B010 - mypy refuses assigning to a method
    vars(lone)["time"] = _toggling_clock()
    return lone.main(["--db", args.db, "--count", str(args.count), "--interval", "0.1"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
