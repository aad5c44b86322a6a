"""Swappable HTTP transports for :mod:`reolink` (see :class:`reolink.transport.Transport`).

* :class:`Urllib3Transport` — connections made by urllib3 2.x (the default);
* :class:`StdlibTransport` — connections made by ``http.client``, for systems without urllib3;
* :class:`MemoryTransport` — calls a Python function (the emulator) instead of the network.

Both real transports run the same HTTP/1.1 exchange (:mod:`transports._exchange`: one send, the
reply read under a whole-response deadline and a size cap: in the plain shape a camera answers
with, by a reader of ours differential-tested against ``http.client``; any other, by
``http.client``) and the same
keep-alive and request-safety rule (:mod:`transports._base`), so they behave the same; they
differ in who makes the connection. urllib3 is imported only when a urllib3 transport is asked
for, so ``transports`` and the stdlib transport work where urllib3 is not installed, and
``open_transport`` falls back to the stdlib transport by itself there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reolink.errors import ConfigError
from reolink.protocol.commands import PORT
from reolink.transport import TLSOptions, Transport

from ._stdlib import StdlibTransport
from ._tls import speaks_tls
from .memory import App, MemoryTransport

if TYPE_CHECKING:
    from ._urllib3 import Urllib3Transport

__all__ = [
    "App",
    "MemoryTransport",
    "StdlibTransport",
    "Urllib3Transport",
    "open_transport",
    "speaks_tls",
    "urllib3_available",
]

_KINDS = ("auto", "urllib3", "stdlib")

#: The marker ``reolink`` checks before it uses this package (another project on the public
#: index also installs a top-level ``transports``): the interface version of this package.
__reolink_transports__ = 1


def urllib3_available() -> bool:
    """Whether the urllib3 transport can be used (urllib3 2.x importable)."""
    try:
        from . import _urllib3  # noqa: F401
    except ImportError:
        return False
    return True


def open_transport(
    *,
    scheme: str,
    host: str,
    port: int,
    tls: TLSOptions | None = None,
    kind: str = "auto",
) -> Transport:
    """Make the transport of ``kind`` for one device.

    ``kind``: ``"auto"`` (the default: urllib3 when it is installed, else the stdlib
    transport), ``"urllib3"`` or ``"stdlib"``. ``host`` may be a name, an IPv4 address or an
    IPv6 literal (``"::1"`` or ``"[::1]"``). ``tls`` applies to ``https`` only. Bad settings
    raise :class:`~reolink.errors.ConfigError` (malformed fingerprint, unreadable CA file,
    unknown scheme or kind, port out of range, kind ``"urllib3"`` without urllib3).
    Nothing connects until the first ``send``.
    """
    if kind not in _KINDS:
        raise ConfigError(
            f"transport kind must be one of {', '.join(_KINDS)}, not {kind!r}", attribute="kind"
        )
    if port not in PORT:
        raise ConfigError(f"port must be {PORT.low}-{PORT.high}, not {port!r}", attribute="port")
    if not host:
        raise ConfigError("host must not be empty", attribute="host")
    if kind == "auto":
        kind = "urllib3" if urllib3_available() else "stdlib"
    if kind == "stdlib":
        return StdlibTransport(scheme, host, port, tls)
    if not urllib3_available():
        raise ConfigError(
            "transport kind 'urllib3' needs urllib3 2.x, which is not installed: install it, "
            "or use kind 'stdlib' (or 'auto')",
            attribute="kind",
        )
    from ._urllib3 import Urllib3Transport

    return Urllib3Transport(scheme, host, port, tls)


def __getattr__(name: str) -> Any:
    # Urllib3Transport is imported on first use only (PEP 562), so that importing
    # ``transports`` does not need urllib3.
    if name == "Urllib3Transport":
        from ._urllib3 import Urllib3Transport

        return Urllib3Transport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
