"""The transport interface: one primitive, send a request and get the whole response back.

Implementations live in the top-level ``transports`` package (urllib3, stdlib ``http.client``,
in-memory). The driver only ever sees :class:`Transport`, :class:`Request` and :class:`Response`,
and only the errors of :mod:`reolink.errors` (``ConnectError``, ``TLSError``, ``Timeout``,
``TransportProtocolError``, ``ResponseTooLarge``, ``WrongProtocolError``): every foreign
exception is translated inside the transport.

**The request-safety rule** (every layer obeys it: transport, client retry, re-login, CLI).
It is stated here and decided here only, by :func:`decide` (request, failure -> repeat or fail)
and, before sending, :func:`needs_new_connection`;
the transports, the driver's client and, through the ``may_have_run`` field it leads to, the
command line call it rather than test ``repeatable`` or ``request_sent`` themselves.
A request is sent again only when

* it provably never reached the device: the connection could not be made, or the first write
  failed before any byte of the request left; or
* ``request.repeatable`` is True (the driver sets it for read-only batches: GetMdState,
  GetAiState, GetEvents, GetDevInfo, GetChannelstatus, GetAbility, ...).

A command that changes something (PtzCtrl, AudioAlarmPlay, Reboot, SetWhiteLed, Set*) whose
reply is lost is never sent again: it fails with a ``TransportError`` whose ``request_sent`` is
True and whose message says the device may have executed it. ``request_sent`` is False only
when the request provably never left (``ConnectError``, ``TLSError``, a failed first write).

Inside a real transport the rule has two uses:

* a request that is not repeatable is always sent on a new connection, never on a kept-alive
  one: a device may close a kept-alive connection just as it is reused (some close after every
  reply without saying ``Connection: close``), and the request would then fail with "may have
  executed" although it never arrived. On a new connection a lost reply really may mean it ran.
  Commands are rare; polls (repeatable) keep their keep-alive;
* a kept-alive connection the device closed just as we reused it (so, a repeatable request):
  when the first write fails, or the request left and the connection ended before any byte of
  a reply, the request is sent on a fresh connection. Never more than once, and never after
  any byte of a reply arrived.

Contract of :meth:`Transport.send`:

* ``request.connect_timeout`` bounds establishing the connection (TCP + TLS) and the write;
* ``request.read_timeout`` bounds the *whole* wait for the response, headers and body together,
  measured from when the request was sent: a device that drips one byte a second is cut off when
  the budget runs out (``Timeout``), not after each byte;
* at most ``request.max_body`` body bytes are accepted (after decoding, for a gzip or deflate
  body the device sends although ``Accept-Encoding: identity`` was asked); a device that sends
  more is cut off with ``ResponseTooLarge`` and the connection is discarded, never buffered
  whole;
* no retries beyond the rule above (the driver's retry policy decides the rest);
* connections are kept alive and reused between repeatable requests to the same device (a
  request that is not repeatable gets a new one: the rule above).

Optional: a transport may have ``local_address() -> Optional[str]``, this host's address on its
connection to the device (None before the first connection). The driver uses it as the default
``push_host`` (the address the device's webhook calls); every transport of ``transports`` has it.

Optional: an HTTPS transport may have ``negotiated_tls() -> Optional[NegotiatedTLS]``, the TLS
version and cipher of the last connection it made (None before the first one, and over plain
HTTP). Both real transports of ``transports`` have it; they log a WARNING once per connection
whose TLS is below 1.2 or whose cipher is not AEAD (see README: HTTPS).
"""

from __future__ import annotations

import enum
from typing import Dict, Mapping, Optional, Protocol

import attrs

from .errors import Timeout, TLSError, TransportError

__all__ = [
    "DEFAULT_MAX_IMAGE_BYTES",
    "DEFAULT_MAX_JSON_BYTES",
    "Decision",
    "Failure",
    "NegotiatedTLS",
    "Request",
    "Response",
    "TLSOptions",
    "Transport",
    "decide",
    "needs_new_connection",
    "owned_response",
    "show_tls_version",
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
    #: False for a request that changes nothing on the device even when it ran (Login,
    #: Logout, reads): a lost reply to it is not "may have executed". Set by the driver; the
    #: conservative default is True.
    changes_state: bool = True


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


_set = object.__setattr__


def owned_response(status: int, headers: Dict[str, str], body: bytes) -> Response:
    """A :class:`Response` that takes ``headers`` as it is: a new dict, every name lower-case
    already, owned by the response from now on (the real transports build one per reply).

    ``Response(...)`` copies the headers and lowers each name again: its generated
    ``__init__`` and converter are calls a poll's reply does not need, and at scale they
    showed (issue 19, benchmarks/HISTORY.md). The transports' tests check that every name
    they hand over is lower-case.
    """
    response = object.__new__(Response)
    _set(response, "status", status)
    _set(response, "headers", headers)
    _set(response, "body", body)
    return response


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


#: How ``ssl`` names TLS versions, and how messages show them.
_VERSION_NAMES = {
    "SSLv3": "SSL 3.0",
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}


def show_tls_version(version: str) -> str:
    """``"TLSv1"`` -> ``"TLS 1.0"`` (unknown names unchanged)."""
    return _VERSION_NAMES.get(version, version)


@attrs.frozen
class NegotiatedTLS:
    """What one TLS connection to the device agreed on (``transport.negotiated_tls()``)."""

    #: As :meth:`ssl.SSLSocket.version` says it: ``"TLSv1"``, ``"TLSv1.1"``, ... ``"TLSv1.3"``.
    version: str
    #: OpenSSL's name of the cipher suite, e.g. ``"ECDHE-RSA-AES128-GCM-SHA256"``.
    cipher: str
    #: Secret bits of the cipher.
    bits: int
    #: The cipher is an AEAD (AES-GCM, ChaCha20-Poly1305, AES-CCM; every TLS 1.3 suite).
    aead: bool

    @property
    def legacy(self) -> bool:
        """Below TLS 1.2, or a cipher that is not AEAD (CBC): what the WARNING is about."""
        return self.version not in ("TLSv1.2", "TLSv1.3") or not self.aead

    def __str__(self) -> str:
        kind = "AEAD" if self.aead else "not AEAD"
        return f"{show_tls_version(self.version)} with {self.cipher} ({self.bits}-bit, {kind})"


class Transport(Protocol):
    """Sends requests to one device (scheme, host and port are fixed at construction)."""

    def send(self, request: Request) -> Response:
        """Send ``request`` and return the complete response, or raise a TransportError."""
        ...

    def close(self) -> None:
        """Close every connection. Idempotent; ``send`` after ``close`` may reopen."""
        ...


# --- the request-safety decision (the one home of the rule in the module docstring) ----------


class Decision(enum.Enum):
    """What to do with a request whose attempt failed (the answer of :func:`decide`)."""

    #: The attempt died on a kept-alive connection the device had closed, before any byte of a
    #: reply: send it again at once on a new connection (the transport does, once).
    RESEND_NOW = "resend now"
    #: It provably never reached the device, or it is read-only, timed out and its caller has
    #: time left: send it once more after a short pause (the driver's client does, once).
    RESEND = "resend"
    #: Fail: it never ran, or running it changes nothing (reads, Login, Logout).
    FAIL = "fail"
    #: Fail, and say so: a command that changes something reached the device and its reply was
    #: lost or unreadable. It may have run; nothing sends it again (``may_have_run``).
    FAIL_MAY_HAVE_RUN = "fail, may have run"

    @property
    def repeat(self) -> bool:
        return self in (Decision.RESEND_NOW, Decision.RESEND)

    @property
    def may_have_run(self) -> bool:
        return self is Decision.FAIL_MAY_HAVE_RUN


class _Kind(Protocol):
    """What the decision reads of a request (a :class:`Request` has both)."""

    @property
    def repeatable(self) -> bool: ...

    @property
    def changes_state(self) -> bool: ...


@attrs.frozen
class Failure:
    """The facts of one failed attempt that the decision needs (fields, never message text)."""

    #: Any byte of the request may have reached the device (``TransportError.request_sent``).
    sent: bool = True
    #: On a reused kept-alive connection, and no byte of a reply came (the device closed it
    #: just as we reused it).
    stale: bool = False
    #: The wait for the reply ran out (``Timeout``).
    timed_out: bool = False
    #: The TLS handshake was refused (``TLSError``): a new attempt meets the same refusal.
    tls_refused: bool = False
    #: The caller's deadline leaves time for another attempt.
    time_left: bool = False

    @classmethod
    def of(cls, error: TransportError, *, time_left: bool = False) -> Failure:
        """The facts a :class:`~reolink.errors.TransportError` carries."""
        return cls(
            sent=error.request_sent,
            timed_out=isinstance(error, Timeout),
            tls_refused=isinstance(error, TLSError),
            time_left=time_left,
        )


def needs_new_connection(request: _Kind) -> bool:
    """The rule's use before sending: a request that is not repeatable goes on a new
    connection, never a kept-alive one the device may be closing (a failure there would be
    "may have run" though it never arrived)."""
    return not request.repeatable


def decide(request: _Kind, failure: Failure) -> Decision:
    """The request-safety rule (module docstring), as one pure decision. In order:

    1. a refused TLS handshake: FAIL (the next attempt meets the same refusal);
    2. a stale kept-alive connection, and nothing left or the request is repeatable:
       RESEND_NOW;
    3. provably never left: RESEND;
    4. repeatable, timed out, time left: RESEND;
    5. repeatable, or it changes nothing even when it ran: FAIL;
    6. otherwise (it changes something and may have reached the device): FAIL_MAY_HAVE_RUN.

    A layer that has used its one repeat treats RESEND as "fail" (it never ran, or it only
    reads): only FAIL_MAY_HAVE_RUN says the device may have executed it.
    """
    if failure.tls_refused:
        return Decision.FAIL
    if failure.stale and (not failure.sent or request.repeatable):
        return Decision.RESEND_NOW
    if not failure.sent:
        return Decision.RESEND
    if request.repeatable and failure.timed_out and failure.time_left:
        return Decision.RESEND
    if request.repeatable or not request.changes_state:
        return Decision.FAIL
    return Decision.FAIL_MAY_HAVE_RUN
