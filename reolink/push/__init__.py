"""The push listener: one small HTTP server on one thread that a device's webhook call wakes.

A Reolink device with a webhook calls a URL when motion or AI starts (see
:mod:`reolink.protocol.webhook`). The call's body is undocumented and differs between
firmware, so the listener never reads meaning into it: a request to a device's path means
"something happened on that device, read its state now", nothing more.

* **One listener, every driver.** A :class:`PushListener` serves any number of devices, each
  through its own :class:`Registration`: an unguessable path (``/reolink/push/<token>``, 192
  random bits from :mod:`secrets`) and a ``wake`` callable. A host may create a listener and hand
  it to its drivers; drivers given none use a shared one from :func:`register_shared`.
* **Only a known path wakes.** A request to a registered path calls that registration's
  ``wake()`` once; anything else is answered 404 and wakes nothing. The body is read up to
  ``body_limit`` bytes and ignored; the reply is an empty 200 with ``Connection: close``.
* **``wake`` runs on the listener thread** and must be cheap and non-blocking (set an event,
  put on a queue): while it runs, no other request is served. An exception from it is logged
  and swallowed.
* **Hostile peers cannot stall it.** Sockets are non-blocking and served by one selector loop;
  each connection has ``deadline`` seconds from accept to a complete request (slowloris); at most
  ``max_connections`` are held and the oldest is closed to admit a new one; heads are capped at
  8 KiB. Paths are secrets: they never appear in logs, reprs or exception messages.
* **Shared listeners leave nothing behind.** :func:`register_shared` creates the listener for a
  ``(host, port)`` on first use and closes it (joining its thread) when its last registration is
  unregistered; between uses no listener, thread or socket exists.

The device calls plain HTTP: it must be able to reach ``host:port`` (firewalls!).
"""

from __future__ import annotations

from .listener import PATH_PREFIX, PushListener, PushListenerError, PushStats, Registration
from .shared import register_shared, shared_listener_count

__all__ = [
    "PATH_PREFIX",
    "PushListener",
    "PushListenerError",
    "PushStats",
    "Registration",
    "register_shared",
    "shared_listener_count",
]
