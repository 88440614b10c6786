"""The cyclic garbage collector, tuned for a long-running service that handles events in batches.

A consumer catching up holds a batch of thousands of messages (each with its parsed envelope and
payload) while it applies them: with CPython's default thresholds (a young collection every 700
allocations) those objects survive several collections and are promoted, and the older
generations, which also hold every module, model and table loaded at startup, are scanned again
and again. Measured on the inspections service's catch-up (bench/README.md, "Consumers of every
stream at scale"), that was about a quarter of its CPU.

:func:`settle` freezes what startup loaded (never scanned again: it lives as long as the process)
and raises the young generation's threshold, so that a batch's short-lived objects are mostly
freed by reference counting before any collection runs. Cycles are still collected, less often.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
"""Allocations (net of deallocations) between young collections; CPython's default is 700."""
OLDER_THRESHOLDS = (20, 100)
"""Young collections per middle-generation collection, middle per full (CPython: 10, 10)."""


_frozen = False


def settle() -> None:
    """After startup: freeze the objects loaded so far and collect less often.

    Only the first call freezes (a process that starts several runtimes, a test session, would
    otherwise make every later snapshot of its objects uncollectable); later calls do nothing more.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
