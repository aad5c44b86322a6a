"""The transport interface: one primitive, send a request and get the whole response back.

Implementations live in the top-level ``transports`` package (urllib3, stdlib ``http.client``,
in-memory). The driver only ever sees :class:`Transport`, :class:`Request` and :class:`Response`,
and only the errors of :mod:`reolink.errors` (``ConnectError``, ``TLSError``, ``Timeout``,
``TransportProtocolError``, ``ResponseTooLarge``): every foreign exception is translated inside
the transport.

Contract of :meth:`Transport.send`:

* ``request.connect_timeout`` bounds establishing the connection (TCP + TLS);
* ``request.read_timeout`` bounds the *whole* wait for the response, headers and body together,
  measured from when the request was sent: a device that drips one byte a second is cut off when
  the budget runs out (``Timeout``), not after each byte;
* at most ``request.max_body`` body bytes are accepted; a device that sends more is cut off with
  ``ResponseTooLarge`` and the connection is discarded, never buffered whole;
* no retries (the driver's retry policy decides what may be retried);
* connections are kept alive and reused between requests to the same device.
"""

from __future__ import annotations

from typing import Mapping, Optional, Protocol

import attrs

__all__ = [
    "DEFAULT_MAX_IMAGE_BYTES",
    "DEFAULT_MAX_JSON_BYTES",
    "Request",
    "Response",
    "TLSOptions",
    "Transport",
]

#: Largest JSON reply accepted. A 64-channel NVR batch answer is well under 200 KiB.
DEFAULT_MAX_JSON_BYTES = 2 * 1024 * 1024
#: Largest snapshot accepted. A 4K main-stream JPEG is 1-3 MiB.
DEFAULT_MAX_IMAGE_BYTES = 16 * 1024 * 1024


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@attrs.frozen
class Request:
    """One HTTP request to the device. ``target`` is path plus query, e.g. ``/cgi-bin/api.cgi?...``.

    The target may carry a token: it is excluded from the repr; log it through
    :func:`reolink.redact.redact_target`.
    """

    method: str
    target: str = attrs.field(repr=False)
    body: Optional[bytes] = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys)
    connect_timeout: float = 5.0
    read_timeout: float = 8.0
    max_body: int = DEFAULT_MAX_JSON_BYTES
    #: Set by the driver for read-only requests (GetMdState, GetAiState, GetDevInfo, ...): safe to
    #: send again even if the device may have received it. Never set for a command that changes
    #: something (PtzCtrl, AudioAlarmPlay, Reboot, Set*): see the request-safety rule above.
    repeatable: bool = False


@attrs.frozen
class Response:
    """A complete HTTP response. Header names are lower-case."""

    status: int
    headers: Mapping[str, str] = attrs.field(converter=_lower_keys)
    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-case (``""`` when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@attrs.frozen
class TLSOptions:
    """How an HTTPS transport checks the device's certificate.

    * default: accept the camera's self-signed certificate (no verification; the
      unverified-certificate warning is silenced for this device's pool only);
    * ``fingerprint``: accept only a certificate whose SHA-256 fingerprint matches
      (hex, colons optional);
    * ``ca_file``: verify the chain against this CA bundle (host name checked too).
    """

    fingerprint: Optional[str] = None
    ca_file: Optional[str] = None

    @property
    def mode(self) -> str:
        if self.fingerprint:
            return "pin"
        if self.ca_file:
            return "verify"
        return "self-signed"


class Transport(Protocol):
    """Sends requests to one device (scheme, host and port are fixed at construction)."""

    def send(self, request: Request) -> Response:
        """Send ``request`` and return the complete response, or raise a TransportError."""
        ...

    def close(self) -> None:
        """Close every connection. Idempotent; ``send`` after ``close`` may reopen."""
        ...
