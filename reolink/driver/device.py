"""The driver a controller embeds: one object and one thread per device.

The device thread alone owns the session and the transport. It runs the poll loop, the host's
commands (queued from any thread, each waited on through a future) and timed actions such as the
automatic PTZ Stop. Every wait in it is cut short by the stop event, so ``disconnect()`` returns
within ``request_timeout`` + 1 s.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import logging
import queue
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import attrs

from ..errors import (
    ArgumentError,
    AuthError,
    CommandTimeout,
    ConfigError,
    NotConnected,
    ReolinkError,
    TransportError,
)
from ..protocol.results import Ability, DeviceInfo
from ..protocol.session import Session, SessionPolicy, SessionState
from ..transport import Transport
from . import actions
from .client import DeviceClient
from .config import MIN_STATUS_INTERVAL_MS, DeviceConfig, ZonesArg, parse_channel, parse_device
from .events import AttributeEvent, AttributeValue
from .poller import AttributeStore, Poller
from .table import command_table, metadata, validate_args

__all__ = ["ReolinkDriver", "Timing"]

log = logging.getLogger(__name__)

Callback = Callable[[AttributeEvent], None]
TransportFactory = Callable[[DeviceConfig], Transport]
#: a timed action; it receives the deadline to respect (None: a normal request_timeout).
TimerAction = Callable[[Optional[float]], None]


@attrs.frozen
class Timing:
    """Every time constant of the driver. Tests pass scaled-down copies; hosts use the default."""

    #: status_interval values below this are raised to it (ms).
    min_status_interval_ms: int = MIN_STATUS_INTERVAL_MS
    session: SessionPolicy = attrs.field(factory=SessionPolicy)
    #: how long connect() waits for the first login and identification, beyond request_timeoutx4.
    connect_grace: float = 1.0
    #: after a reboot command, failures are expected for this long (seconds).
    reboot_grace: float = 180.0

    def scaled(self, factor: float, *, min_status_interval_ms: int = 10) -> Timing:
        return Timing(
            min_status_interval_ms=min_status_interval_ms,
            session=self.session.scaled(factor),
            connect_grace=self.connect_grace,
            reboot_grace=self.reboot_grace * factor,
        )


@attrs.define
class _Job:
    name: str
    args: Dict[str, Any]
    deadline: float
    future: concurrent.futures.Future[Any]


def _default_transport(config: DeviceConfig) -> Transport:
    import transports  # imported here: the driver must not pull in urllib3 at import time

    return transports.open_transport(
        scheme=config.protocol, host=config.ip, port=config.port, tls=config.tls
    )


class ReolinkDriver:
    """One Reolink camera, NVR or hub.

    ``attributes`` is the device's attribute mapping (``ip``, ``username``, ``password``; optional
    ``port``, ``protocol``, ``status_interval``, ``request_timeout``, ``tls_fingerprint``,
    ``tls_verify``) with string values as a host stores them; ``zones`` maps each zone address
    (the channel index as a string) to its attributes (``ai_types``). ``callback`` receives one
    :class:`AttributeEvent` per change, on the device thread.

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
    ) -> None:
        self.timing = timing or Timing()
        self.config = parse_device(
            attributes, zones, min_status_interval_ms=self.timing.min_status_interval_ms
        )
        if callback is not None and not callable(callback):
            raise ConfigError("callback must be callable", attribute="callback")
        self._callback = callback
        # Built here, in the caller's thread: a bad CA file or TLS setting is a ConfigError
        # from the constructor, never a device thread that dies at start. No I/O happens yet.
        try:
            self._transport = (transport_factory or _default_transport)(self.config)
        except ConfigError as error:
            attribute = {"ca_file": "tls_verify", "fingerprint": "tls_fingerprint"}.get(
                error.attribute or "", error.attribute
            )
            raise ConfigError(str(error), attribute=attribute) from error
        self._clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._ready = threading.Event()
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._timers: List[Tuple[float, int, str, TimerAction]] = []
        self._timer_ids = itertools.count()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._store = AttributeStore(self._emit)
        self.session = Session(policy=self.timing.session)
        self._poller = Poller(self.config.zones, self._store)
        self._client: Optional[DeviceClient] = None
        self.device_info: Optional[DeviceInfo] = None
        self.ability: Optional[Ability] = None
        self._identified = False
        self._next_poll = 0.0
        self._expect_drop_until = 0.0
        self._stop_at: Optional[float] = None
        self._last_exception: Optional[ReolinkError] = None
        self.cycles = 0

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ReolinkDriver {self.config.label} {self.config.protocol} {state}>"

    # --- host-facing API ----------------------------------------------------------------

    @classmethod
    def command_table(cls) -> List[Dict[str, Any]]:
        return command_table()

    @classmethod
    def metadata(cls) -> Dict[str, Any]:
        return metadata()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def online(self) -> bool:
        return self._store.get("device", None, "online") is True

    @property
    def last_error(self) -> str:
        value = self._store.get("device", None, "error")
        return value if isinstance(value, str) else ""

    @property
    def last_exception(self) -> Optional[ReolinkError]:
        """The error that made the device go offline last (None while online)."""
        return self._last_exception

    @property
    def requests_sent(self) -> int:
        return self._client.requests_sent if self._client else 0

    @property
    def logins_sent(self) -> int:
        return self._client.logins_sent if self._client else 0

    def connect(self, timeout: Optional[float] = None) -> bool:
        """Start the device thread; wait for the first login and identification.

        Returns True when the device is online. When it is not (unreachable, wrong password...),
        the thread keeps trying by itself and ``online``/``error`` attributes say why.
        Idempotent: a second call while running only waits.
        """
        with self._lock:
            if self._stop.is_set():
                raise NotConnected("this driver was disconnected; create a new one to reconnect")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"reolink-{self.config.label}", daemon=True
                )
                self._thread.start()
        wait = (
            timeout
            if timeout is not None
            else self.config.request_timeout * 4 + self.timing.connect_grace
        )
        self._ready.wait(wait)
        return self.online

    def disconnect(self, timeout: Optional[float] = None) -> None:
        """Stop polling, send any pending PTZ Stop and Logout, close connections, join the thread.

        Safe to call twice, before connect(), and from inside the callback (then it does not
        join: the thread ends as soon as the callback returns).
        """
        if not self._stop.is_set():
            self._stop_at = self._clock()
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            self._transport.close()  # never connected: nothing was opened, but be tidy
            return
        if thread is threading.current_thread():
            return
        thread.join(timeout if timeout is not None else self.config.request_timeout + 1.0)
        if thread.is_alive():
            raise ReolinkError(
                f"{self.config.label}: device thread did not stop within "
                f"{self.config.request_timeout + 1.0:.1f} s"
            )

    def command(
        self, name: str, args: Optional[Mapping[str, Any]] = None, zone: Optional[str] = None
    ) -> Any:
        """Run a command from the command table; returns plain JSON data or raises ReolinkError.

        Arguments are validated here, in the caller's thread, before anything is queued; the
        command then runs on the device thread and this call waits at most request_timeout.
        """
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
        if not self.running or self._stop.is_set():
            raise NotConnected(f"{self.config.label}: not connected (call connect() first)")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        budget = self.config.request_timeout * (2 if name in ("snapshot", "login") else 1)
        job = _Job(name, checked, self._clock() + budget, future)
        self._jobs.put(job)
        self._wake.set()
        try:
            return future.result(timeout=budget + 0.25)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise CommandTimeout(
                f"{name}: no answer from {self.config.label} within {budget:.1f} s"
            ) from None

    def _checked_channel(self, address: str) -> int:
        try:
            channel = parse_channel(address)
        except ConfigError as error:
            raise ArgumentError(
                str(error).replace("zone address", "address"), argument="address"
            ) from None
        count = self.device_info.channel_count if self.device_info else None
        if count is not None and channel >= count:
            raise ArgumentError(
                f"address {address!r}: the device has {count} channel(s), addresses 0..{count - 1}",
                argument="address",
            )
        return channel

    # --- the device thread --------------------------------------------------------------

    def _emit(
        self,
        target: str,
        address: Optional[str],
        name: str,
        value: AttributeValue,
        previous: AttributeValue,
    ) -> None:
        event = AttributeEvent(target, address, name, value, previous, self.config.label)
        log.debug("%s: %s %s %s = %r", self.config.label, target, address or "", name, value)
        if self._callback is None:
            return
        try:
            self._callback(event)
        except Exception:  # a host bug must never kill the loop
            log.exception("%s: callback raised on %s %s", self.config.label, name, address or "")

    def _run(self) -> None:
        client: Optional[DeviceClient] = None
        try:
            client = self._client = DeviceClient(
                self.config,
                self._transport,
                self.session,
                clock=self._clock,
                stop=self._stop,
            )
            while not self._stop.is_set():
                try:
                    self._step(client)
                except Exception:  # the loop never dies; log and carry on
                    log.exception("%s: unexpected error in the device loop", self.config.label)
                    self._wait(self._clock() + self.config.status_interval)
        except Exception:
            log.exception("%s: could not start the device loop", self.config.label)
        finally:
            self._ready.set()
            self._shutdown(client)

    def _step(self, client: DeviceClient) -> None:
        now = self._clock()
        self._run_jobs(client)
        self._run_timers(now)
        if self._stop.is_set():
            return
        if not self._identified:
            if self.session.login_due(now) or self.session.state in (
                SessionState.READY,
                SessionState.EXPIRING,
            ):
                self._identify(client)
            else:
                self._offline(self.session.reason or "not logged in")
        elif self.session.state is SessionState.EXPIRING and self.session.login_due(now):
            self._guard(client, lambda: client.login())
        elif now >= self._next_poll and (
            self.session.request_allowed(now) or self.session.login_due(now)
        ):
            self._poll(client)
        elif self.session.state is SessionState.LOCKED_OUT:
            # Logins are paused (refused, or fresh tokens refused again): say so.
            self._offline(self.session.reason or "logins are paused")
        self._wait(self._next_wakeup())

    def _next_wakeup(self) -> float:
        now = self._clock()
        candidates = [self._next_poll if self._identified else now + self.config.status_interval]
        session_at = self.session.next_wakeup(now)
        if session_at is not None:
            candidates.append(session_at)
        if self._timers:
            candidates.append(self._timers[0][0])
        return min(candidates)

    def _wait(self, until: float) -> None:
        delay = until - self._clock()
        if delay > 0 and self._jobs.empty():
            self._wake.wait(delay)
        self._wake.clear()

    def _guard(self, client: DeviceClient, action: Callable[[], Any]) -> bool:
        """Run device I/O for the loop itself; failures become the device's online state."""
        try:
            action()
        except ReolinkError as error:
            self._failed(error)
            return False
        return True

    def _failed(self, error: ReolinkError) -> None:
        self._last_exception = error
        now = self._clock()
        if now < self._expect_drop_until and isinstance(error, TransportError):
            log.info("%s: still rebooting (%s)", self.config.label, error)
            reason = f"rebooting: {error}"
        else:
            reason = str(error)
        if self.session.offline or isinstance(error, AuthError) or not self._identified:
            self._offline(reason)
        else:
            log.info("%s: %s (retrying)", self.config.label, reason)

    def _offline(self, reason: str) -> None:
        if self._store.get("device", None, "online") is not False:
            log.warning("%s: offline: %s", self.config.label, reason)
        self._store.set("device", None, "online", False)
        self._store.set("device", None, "error", reason)
        self._poller.device_offline(reason)
        self._ready.set()

    def _online(self) -> None:
        self._last_exception = None
        if self._store.get("device", None, "online") is not True:
            log.info("%s: online", self.config.label)
        self._store.set("device", None, "error", "")
        self._store.set("device", None, "online", True)

    def _identify(self, client: DeviceClient) -> None:
        """Login, GetDevInfo, GetChannelstatus (NVR/hub), GetAbility; then polling starts."""

        def identify() -> None:
            info, ability, channel_list = actions.identify(client)
            self.device_info, self.ability = info, ability
            bad = self._poller.configure(
                info.channel_count,
                multichannel=info.is_multichannel,
                channel_list=channel_list,
                now=self._clock(),
            )
            for address in bad:
                log.error(
                    "%s: zone %s is beyond the device's %d channel(s); it is not polled",
                    self.config.label,
                    address,
                    info.channel_count,
                )
            log.info(
                "%s: connected: model %s, firmware %s, %d channel(s)",
                self.config.label,
                info.model,
                info.firmware,
                info.channel_count,
            )
            self._store.set("device", None, "model", info.model)
            self._store.set("device", None, "firmware", info.firmware)
            self._store.set("device", None, "channel_count", info.channel_count)
            self._identified = True
            self._next_poll = self._clock()

        if self._guard(client, identify):
            self._online()
            self._poll(client)
        self._ready.set()

    def _poll(self, client: DeviceClient) -> None:
        start = self._clock()
        interval = self.config.status_interval
        # Start to start: the next cycle is due one interval after this one began; cycles
        # missed while a slow one ran are skipped, never stacked.
        self._next_poll += interval
        if self._next_poll <= start:
            self._next_poll = start + interval
        batch = self._poller.plan(start)

        def cycle() -> None:
            pending = batch
            while pending:
                replies = client.call(pending, deadline=None)
                pending = self._poller.apply(pending, replies, self._clock())

        if self._guard(client, cycle):
            self.cycles += 1
            self._online()
        else:
            retry_at = self.session.retry_at
            if retry_at > self._clock():
                self._next_poll = min(self._next_poll, retry_at)

    def _run_jobs(self, client: DeviceClient) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            if self._clock() >= job.deadline:
                job.future.set_exception(
                    CommandTimeout(f"{job.name}: the device was busy until request_timeout ran out")
                )
                continue
            try:
                result = actions.run(self, client, job.name, job.args, job.deadline)
            except ReolinkError as error:
                if isinstance(error, TransportError):
                    self._failed(error)
                job.future.set_exception(error)
            except Exception as error:  # a driver bug: report it to the caller, keep the loop
                log.exception("%s: command %s failed unexpectedly", self.config.label, job.name)
                job.future.set_exception(
                    ReolinkError(f"{job.name}: internal error: {type(error).__name__}")
                )
            else:
                job.future.set_result(result)

    # --- timers (PTZ auto-stop) -----------------------------------------------------------

    def schedule(self, delay: float, key: str, action: TimerAction) -> None:
        """Run ``action`` on the device thread after ``delay`` s; replaces a timer with ``key``."""
        self.cancel_timer(key)
        heapq.heappush(self._timers, (self._clock() + delay, next(self._timer_ids), key, action))

    def cancel_timer(self, key: str) -> None:
        self._timers = [t for t in self._timers if t[2] != key]
        heapq.heapify(self._timers)

    def _run_timers(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, _, key, action = heapq.heappop(self._timers)
            try:
                action(None)
            except ReolinkError as error:
                log.warning("%s: %s failed: %s", self.config.label, key, error)

    def expect_reboot(self) -> None:
        self._expect_drop_until = self._clock() + self.timing.reboot_grace
        self._identified = False
        self.session.on_logout()
        self._offline("rebooting (requested)")
        self._next_poll = self._clock() + 1.0

    def _shutdown(self, client: Optional[DeviceClient]) -> None:
        """Leave nothing behind: pending PTZ stops, Logout, connections; fail queued commands."""
        # Whatever the in-flight request took, the thread must end within request_timeout + 1 s
        # of disconnect(): the final Stop and Logout share what is left of that.
        begun = self._stop_at if self._stop_at is not None else self._clock()
        deadline = begun + self.config.request_timeout + 0.7
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(NotConnected(f"{job.name}: the driver was disconnected"))
        if client is None:
            return
        reachable = not self.session.failing
        for _, _, key, action in sorted(self._timers):
            if reachable and key.startswith("ptz-stop") and self._clock() < deadline:
                try:
                    action(deadline)
                except ReolinkError as error:
                    log.info("%s: final PTZ stop failed: %s", self.config.label, error)
        self._timers.clear()
        if reachable and self.session.token is not None:
            client.logout(deadline=deadline)
        else:
            self.session.on_logout()
        client.close()
        log.debug("%s: disconnected", self.config.label)
