"""Start the library's threads with Ctrl-C and SIGTERM blocked in them.

A process-directed signal goes to any thread that does not block it. When one of our threads
takes it, Python still runs the handler in the main thread, but a main thread blocked in a wait
(``connect()`` waiting for the first login, ``command()`` waiting for its result) is not woken:
Ctrl-C would wait for that wait's timeout. Blocked in our threads, the signal goes to the host's
threads, so Ctrl-C and SIGTERM interrupt the host's wait at once. A new thread inherits its
creator's signal mask, so the mask is set around ``start()`` (no window in which the new thread
could take a signal) and the creator's own mask is put back right after: a signal that arrives in
between waits, pending, and is delivered then. Where the platform has no ``pthread_sigmask``
(Windows), threads start as usual.

Even in the host's thread one moment is left: CPython runs a signal handler only between
bytecodes, so a signal that lands after the thread's last check and before it blocks in a lock
wait wakes nothing, and is handled only when that wait ends (over 120 s for a ``connect()`` with
a 30 s request_timeout; a one-shot ``reolink`` command once waited it out on SIGTERM). The
host's long waits are therefore made of slices (:func:`wait_sliced`): such a signal is handled
within one slice, and the wait's bound is unchanged.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Callable

__all__ = ["WAIT_SLICE", "start_quietly", "wait_sliced"]

#: The longest single wait of :func:`wait_sliced` (seconds).
WAIT_SLICE = 0.5

_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def start_quietly(thread: threading.Thread) -> None:
    """``thread.start()``, with SIGINT and SIGTERM blocked in the new thread (POSIX)."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:
        thread.start()
        return
    previous = mask(signal.SIG_BLOCK, _SIGNALS)
    try:
        thread.start()
    finally:
        mask(signal.SIG_SETMASK, previous)


def wait_sliced(wait: Callable[[float], bool], timeout: float) -> bool:
    """``wait(timeout)`` (an Event's wait) made of waits of at most :data:`WAIT_SLICE` s:
    True as soon as one of them is, False once ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= WAIT_SLICE:
            return wait(max(0.0, left))
        if wait(WAIT_SLICE):
            return True
