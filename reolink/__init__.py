"""reolink: a synchronous, threaded driver for Reolink cameras and NVRs (LAN JSON API)."""

from __future__ import annotations

import logging

from ._version import __version__
from .driver import AttributeEvent, ReolinkDriver, Timing
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
    RemoteProtocolError,
    ReolinkError,
    Timeout,
    TLSError,
    TransportError,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

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
    "RemoteProtocolError",
    "ReolinkDriver",
    "ReolinkError",
    "TLSError",
    "Timeout",
    "Timing",
    "TransportError",
    "__version__",
]
