"""The driver a controller embeds: one object and one thread per device.

:class:`ReolinkDriver` is the host's facade: it validates, queues and waits - nothing more. The
decisions live in the pure core (:mod:`reolink.driver.core`); the device thread
(:mod:`reolink.driver.loop`) owns the transport and the clock and obeys the core. Every wait in
the thread is cut short by disconnect(), which returns within ``request_timeout`` + 1 s.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import secrets
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

import attrs

from .._quiet_threads import start_quietly, wait_sliced
from .._transports import load_transports
from ..errors import ArgumentError, CommandTimeout, ConfigError, NotConnected, ReolinkError
from ..push import PushListener
from ..transport import Transport
from .config import DeviceConfig, ZonesArg, parse_channel, parse_device
from .core import DriverCore
from .events import AttributeEvent, AttributeValue
from .logs import DeviceLog
from .loop import DeviceLoop
from .messages import CommandQueued
from .table import command_table, metadata, validate_args
from .timing import Timing

__all__ = ["DriverStats", "ReolinkDriver", "Timing"]

log = logging.getLogger(__name__)

Callback = Callable[[AttributeEvent], None]
#: What command() and connect() say after disconnect(): one fix, the same words.
DISCONNECTED = (
    "this driver was disconnected and cannot connect again: create a new ReolinkDriver "
    "(or call with_zones() on this one) to reconnect"
)
TransportFactory = Callable[[DeviceConfig], Transport]


@attrs.frozen
class DriverStats:
    """Counters for monitoring and benchmarks."""

    #: poll cycles completed
    cycles: int
    #: HTTP requests that may have reached the device (polls, commands, logins); a request whose
    #: connection was refused is not counted
    requests_sent: int
    #: Login requests that may have reached the device
    logins_sent: int
    #: calls from the device's webhook (each asks for a poll; calls close together share one)
    push_wakes: int = 0


def _default_transport(config: DeviceConfig) -> Transport:
    # Imported here: the driver must not pull in urllib3 at import time. Checked to be ours
    # (another package of that name raises PackageClashError, never an AttributeError).
    transports = load_transports()
    transport: Transport = transports.open_transport(
        scheme=config.protocol, host=config.ip, port=config.port, tls=config.tls
    )
    return transport


class ReolinkDriver:
    """One Reolink camera, NVR or hub.

    ``attributes`` is the device's attribute mapping (``ip``, ``username``, ``password``; optional
    ``port``, ``protocol``, ``status_interval``, ``request_timeout``, ``tls_fingerprint``,
    ``tls_verify``, ``push``, ``push_host``, ``push_port``) with string values as a host stores
    them; ``zones`` maps each zone address
    (the channel index as a string) to its attributes (``ai_types``). ``callback`` receives one
    :class:`AttributeEvent` per change, on the device thread; it must return quickly and must
    not call :meth:`command` (that raises at once: the command could only run after the
    callback returned).

    Push (``push`` ``auto``, the default): where the device has a webhook, it calls this
    process on every motion/AI start and the driver polls at once. ``push_listener`` is the
    :class:`~reolink.push.PushListener` to register on (one serves every driver of a host);
    without one, drivers share a listener created on first use on ``push_port`` (0: any free
    port), closed with its last driver. The device attribute ``event_source`` (``push`` or
    ``poll``) and ``event_source_reason`` say which finds events, and why not push.

    Raises :class:`~reolink.errors.ConfigError` on any bad attribute; nothing is sent then.
    """

    #: The command table (plain data) and metadata hints, for hosts that render an admin UI.
    COMMANDS = command_table()
    METADATA = metadata()

    def __init__(
        self,
        attributes: Mapping[str, Any],
        zones: Optional[ZonesArg] = None,
        callback: Optional[Callback] = None,
        *,
        transport_factory: Optional[TransportFactory] = None,
        timing: Optional[Timing] = None,
        clock: Callable[[], float] = time.monotonic,
        push_listener: Optional[PushListener] = None,
    ) -> None:
        self._timing = timing or Timing()
        self._config = parse_device(
            attributes, zones, min_status_interval_ms=self._timing.min_status_interval_ms
        )
        if callback is not None and not callable(callback):
            raise ConfigError("callback must be callable", attribute="callback")
        if push_listener is not None and not isinstance(push_listener, PushListener):
            raise ConfigError(
                "push_listener must be a reolink.push.PushListener (or None for the shared one)",
                attribute="push_listener",
            )
        self._push_listener = push_listener
        self._callback = callback
        self._transport_factory = transport_factory
        self._clock = clock
        # Built here, in the caller's thread: a bad CA file or TLS setting is a ConfigError
        # from the constructor, never a device thread that dies at start. No I/O happens yet.
        try:
            transport = (transport_factory or _default_transport)(self._config)
        except ConfigError as error:
            attribute = {"ca_file": "tls_verify", "fingerprint": "tls_fingerprint"}.get(
                error.attribute or "", error.attribute
            )
            raise ConfigError(str(error), attribute=attribute) from error
        self._core = DriverCore(self._config, self._timing)
        self._loop = DeviceLoop(self._core, transport, clock, callback, push_listener)
        self._log = DeviceLog(log, self._config.label)
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._job_ids = itertools.count(1)
        self._stall_warned = False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ReolinkDriver {self._config.label} {self._config.protocol} {state}>"

    # --- what a host reads --------------------------------------------------------------

    @classmethod
    def command_table(cls) -> List[Dict[str, Any]]:
        """The command table (a deep copy): names, arguments, descriptions."""
        return command_table()

    @classmethod
    def metadata(cls) -> Dict[str, Any]:
        """Metadata hints (a deep copy): attributes, zone attributes, polled attributes."""
        return metadata()

    @property
    def label(self) -> str:
        """``host:port`` (IPv6 in brackets): how logs, events and messages name this device."""
        return self._config.label

    @property
    def status_interval(self) -> float:
        """The poll period in use, in seconds (after raising it to the minimum)."""
        return self._config.status_interval

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def online(self) -> bool:
        return self._loop.values().get(("device", None, "online")) is True

    @property
    def last_error(self) -> str:
        value = self._loop.values().get(("device", None, "error"))
        return value if isinstance(value, str) else ""

    @property
    def last_exception(self) -> Optional[ReolinkError]:
        """The error that made the device go offline last (None while online)."""
        return self._loop.published().last_exception

    # The host's thread reads only what the device thread published (DeviceLoop.published):
    # never the core's objects, which the device thread changes meanwhile.

    @property
    def requests_sent(self) -> int:
        return self._loop.published().requests_sent

    @property
    def logins_sent(self) -> int:
        return self._loop.published().logins_sent

    @property
    def session_token(self) -> Optional[str]:
        """The current session token, for a host's log-redaction filter only (never log it)."""
        return self._loop.published().token

    def stats(self) -> DriverStats:
        """Poll cycles completed, requests and logins sent, push wakes so far."""
        seen = self._loop.published()
        return DriverStats(seen.cycles, seen.requests_sent, seen.logins_sent, seen.push_calls)

    def values(self) -> Dict[str, Any]:
        """The current value of every attribute the host has been sent.

        ``{"device": {name: value}, "zones": {address: {name: value}}}`` - what a host needs
        to resync after its own failure (a callback that raised, a restarted UI). Safe to call
        from any thread.
        """
        device: Dict[str, AttributeValue] = {}
        zones: Dict[str, Dict[str, AttributeValue]] = {z.address: {} for z in self._config.zones}
        for (target, address, name), value in self._loop.values().items():
            if target == "device":
                device[name] = value
            elif address is not None:
                zones.setdefault(address, {})[name] = value
        return {"device": device, "zones": zones}

    def with_zones(
        self, zones: Optional[ZonesArg], callback: Optional[Callback] = None
    ) -> ReolinkDriver:
        """A new, unconnected driver for the same device and settings, with other zones."""
        config = self._config
        attributes: Dict[str, Any] = {
            "ip": config.ip,
            "port": str(config.port),
            "protocol": config.protocol,
            "username": config.username,
            "password": config.password,
            "status_interval": str(round(config.status_interval * 1000)),
            "request_timeout": str(round(config.request_timeout * 1000)),
            "tls_fingerprint": config.tls.fingerprint or "",
            "tls_verify": config.tls.ca_file or "",
            "push": config.push,
            "push_host": config.push_host,
            "push_port": str(config.push_port),
        }
        return ReolinkDriver(
            attributes,
            zones,
            callback,
            transport_factory=self._transport_factory,
            timing=self._timing,
            clock=self._clock,
            push_listener=self._push_listener,
        )

    # --- lifecycle ----------------------------------------------------------------------

    def connect(self, timeout: Optional[float] = None) -> bool:
        """Start the device thread; wait for the first login and identification.

        Returns True when the device is online. When it is not (unreachable, wrong password...),
        the thread keeps trying by itself and ``online``/``error`` attributes say why.
        Idempotent: a second call while running only waits.
        """
        with self._lock:
            if self._loop.stopping.is_set():
                raise NotConnected(f"{self._config.label}: connect: {DISCONNECTED}")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop.run, name=f"reolink-{self._config.label}", daemon=True
                )
                start_quietly(self._thread)
        wait = (
            timeout
            if timeout is not None
            else self._config.request_timeout * 4 + self._timing.connect_grace
        )
        if not wait_sliced(self._loop.ready.wait, wait) and (
            self._loop.in_callback and not self._stall_warned
        ):
            self._stall_warned = True
            self._log.warning(
                "connect() waited its whole %.1f s while the host's callback was still "
                "running; callbacks run on the device thread and must return quickly",
                wait,
            )
        return self.online

    def disconnect(self, timeout: Optional[float] = None) -> None:
        """Stop polling, send any pending PTZ Stop and Logout, close connections, join the thread.

        Safe to call twice, before connect(), and from inside the callback (then it does not
        join: the thread ends as soon as the callback returns). Returns within
        request_timeout + 1 s, also with a request in flight to a device that does not answer
        (or within ``timeout`` when given); past that it raises ReolinkError naming the bound
        it waited, and the thread (a daemon) ends on its own when the request times out.
        """
        self._loop.stop()
        thread = self._thread
        if thread is None:
            self._loop.close_unused()  # never connected: nothing was opened, but be tidy
            return
        if thread is threading.current_thread():
            return
        bound = timeout if timeout is not None else self._config.request_timeout + 1.0
        thread.join(bound)
        if thread.is_alive():
            raise ReolinkError(
                f"{self._config.label}: device thread did not stop within {bound:.1f} s"
            )

    # --- commands -----------------------------------------------------------------------

    def command(
        self, name: str, args: Optional[Mapping[str, Any]] = None, zone: Optional[str] = None
    ) -> Any:
        """Run a command from the command table; returns plain JSON data or raises ReolinkError.

        Arguments are validated here, in the caller's thread, before anything is queued; the
        command then runs on the device thread and this call waits at most request_timeout.
        Calling it from the callback raises at once (the device thread would wait on itself).
        """
        checked = self._checked(name, args, zone)
        if self._thread is not None and self._thread is threading.current_thread():
            raise ReolinkError(
                f"{name}: command() was called from the driver's callback, which runs on the "
                f"device thread of {self._config.label}: the command could only run after the "
                "callback returned. Call it from a thread of your own."
            )
        if self._loop.stopping.is_set():
            # The same words connect() uses: a disconnected driver is not connected again.
            raise NotConnected(f"{self._config.label}: {name}: {DISCONNECTED}")
        if not self.running:
            raise NotConnected(
                f"{self._config.label}: {name}: not connected (call connect() first)"
            )
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        budget = self._config.request_timeout * (2 if name in ("snapshot", "login") else 1)
        job = CommandQueued(
            next(self._job_ids), name, checked, self._clock() + budget, secrets.token_hex(8)
        )
        settled = threading.Event()
        future.add_done_callback(lambda _: settled.set())
        self._loop.submit((job, future))
        if not wait_sliced(settled.wait, budget + 0.25):
            future.cancel()
            raise CommandTimeout(
                f"{name}: no answer from {self._config.label} within {budget:.1f} s"
            )
        return future.result(timeout=0)

    def _checked(
        self, name: str, args: Optional[Mapping[str, Any]], zone: Optional[str]
    ) -> Dict[str, Any]:
        if args is not None and not isinstance(args, Mapping):
            raise ArgumentError(
                f"{name}: args must be a mapping of argument name to value, "
                f"got {type(args).__name__}",
                argument="args",
            )
        given = dict(args or {})
        if zone is not None and "address" not in given:
            given["address"] = zone
        checked = validate_args(name, given)
        if "address" in checked:
            checked["channel"] = self._checked_channel(checked["address"])
        return checked

    def _checked_channel(self, address: str) -> int:
        try:
            channel = parse_channel(address)
        except ConfigError as error:
            raise ArgumentError(
                str(error).replace("zone address", "address"), argument="address"
            ) from None
        count = self._loop.values().get(("device", None, "channel_count"))
        if isinstance(count, int) and channel >= count:
            raise ArgumentError(
                f"address {address!r}: the device has {count} channel(s), addresses 0..{count - 1}",
                argument="address",
            )
        return channel
