"""reolink: a synchronous, threaded driver for Reolink cameras and NVRs (LAN JSON API)."""

from __future__ import annotations

import logging

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
    ReolinkError,
    RemoteProtocolError,
    TLSError,
    Timeout,
    TransportError,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ApiError",
    "ArgumentError",
    "AuthError",
    "CommandError",
    "CommandTimeout",
    "ConfigError",
    "ConnectError",
    "CredentialsError",
    "DeviceOffline",
    "LockedOutError",
    "NotConnected",
    "ReolinkError",
    "RemoteProtocolError",
    "TLSError",
    "Timeout",
    "TransportError",
    "__version__",
]
