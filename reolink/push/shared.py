"""Shared push listeners: created on first use, closed with their last registration."""

from __future__ import annotations

import threading
from typing import Callable, Dict, Optional, Tuple

from .listener import PushListener, Registration

__all__ = ["register_shared", "shared_listener_count"]


class _SharedListeners:
    """The lazily created listeners of :func:`register_shared`, keyed by (host, port).

    An entry exists only while it has registrations: the last unregister closes the listener
    and removes it, so nothing outlives its users.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: Dict[Tuple[str, int], PushListener] = {}

    def register(
        self, wake: Callable[[], None], host: str, port: int, label: Optional[str]
    ) -> Registration:
        with self._lock:
            listener = self._listeners.get((host, port))
            if listener is None:
                listener = PushListener(host, port)
                listener.start()  # raises PushListenerError (port busy) before it is kept
                listener._shared_key = (host, port)
                listener._release = self.release
                self._listeners[(host, port)] = listener
            return listener.register(wake, label=label)

    def release(self, listener: PushListener, registration: Registration) -> None:
        with self._lock:
            remaining = listener._remove(registration)
            key = listener._shared_key
            if remaining or key is None or self._listeners.get(key) is not listener:
                return
            del self._listeners[key]
        listener.close()

    def count(self) -> int:
        with self._lock:
            return len(self._listeners)


_SHARED = _SharedListeners()


def register_shared(
    wake: Callable[[], None], *, host: str = "", port: int = 0, label: Optional[str] = None
) -> Registration:
    """Register on the shared listener for ``(host, port)``, creating it on first use.

    The listener closes (and its thread ends) when its last registration is unregistered.
    Raises PushListenerError when it has to be created and cannot bind.
    """
    return _SHARED.register(wake, host, port, label)


def shared_listener_count() -> int:
    """How many shared listeners exist now (0 once every registration is gone)."""
    return _SHARED.count()
