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
"""

from __future__ import annotations

import signal
import threading

__all__ = ["start_quietly"]

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
