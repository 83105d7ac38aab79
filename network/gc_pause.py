"""Pause Python's cyclic garbage collector around bulk work that creates no reference cycles.

Shared by the pure packages (``network.graph``, ``network.matching``); imports nothing else.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block and restore its previous state afterwards.

    Building hundreds of thousands of dicts, tuples and arrays counts towards the collector's
    thresholds; its repeated full passes over the growing heap would cost a third or more of
    the time, and none of these objects form cycles.

    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
