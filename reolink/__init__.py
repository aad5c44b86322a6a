"""reolink: a synchronous, threaded driver for Reolink cameras and NVRs (LAN JSON API)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, List

from ._version import __version__
from .errors import (
    ApiError,
    ArgumentError,
    AuthError,
    CommandError,
    CommandTimeout,
    ConfigError,
    ConnectError,
    CredentialsError,
    DeviceOffline,
    LockedOutError,
    NotConnected,
    PackageClashError,
    RemoteProtocolError,
    ReolinkError,
    Timeout,
    TLSError,
    TransportError,
    WrongProtocolError,
)

if TYPE_CHECKING:
    from .driver import AttributeEvent, ReolinkDriver, Timing

logging.getLogger(__name__).addHandler(logging.NullHandler())

# The driver (threads, queues) loads on first use of one of its names, so that
# ``import reolink.protocol`` or ``reolink.errors`` stays light and imports no I/O.
_DRIVER_NAMES = frozenset({"AttributeEvent", "ReolinkDriver", "Timing"})


def __getattr__(name: str) -> Any:
    if name in _DRIVER_NAMES:
        from . import driver

        value = getattr(driver, name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | _DRIVER_NAMES)


__all__ = [
    "ApiError",
    "ArgumentError",
    "AttributeEvent",
    "AuthError",
    "CommandError",
    "CommandTimeout",
    "ConfigError",
    "ConnectError",
    "CredentialsError",
    "DeviceOffline",
    "LockedOutError",
    "NotConnected",
    "PackageClashError",
    "RemoteProtocolError",
    "ReolinkDriver",
    "ReolinkError",
    "TLSError",
    "Timeout",
    "Timing",
    "TransportError",
    "WrongProtocolError",
    "__version__",
]
