"""The device thread: owns the transport and the clock, feeds the core, obeys its actions.

Nothing is decided here. The loop's own duties are: wake up on time or when a command is
queued, a push call arrives or disconnect() is called; perform the one outstanding request;
register the device on the push listener when the core asks (:class:`Listen`: the host's
listener, or the shared default one) and unregister when the thread ends; call the host's
callback (always on this thread); hand results to the waiting command futures; and end
within ``request_timeout`` + 1 s of disconnect().

The hot path (a poll every status_interval, the same two turns of the core each time) is kept
lean, and each shortcut is safe by construction:

* The wake-up signal is a bare lock used as a binary semaphore (held = nothing pending;
  :meth:`DeviceLoop._signal` releases it, the wait acquires it with a timeout) rather than a
  ``threading.Event``, whose wait builds a Condition and a waiter lock on every call. The signal
  is only ever a hint to look again: what woke the loop (a queued job, a push call, stop()) is
  read from its own queue or flag on the next turn, so a signal consumed early or late can
  cost an extra turn of the core, never a lost event.
* The job queue is read only when it is not empty (this thread is its only reader, so a
  queue seen non-empty stays so until it is read).
* The published snapshot is rewritten only when something in it changed: a turn without an
  Emit whose counters equal the last published ones would write the same snapshot again.
* A push call from another thread is kept as a plain flag the loop reads without a call
  (``_push_asked``; set before the signal, so the turn the signal wakes sees it), and a
  wait's end is fed as one shared :class:`Tick` (it carries nothing). The counters compared
  each turn hold the session's lease (a frozen value) rather than its token, read only when a
  snapshot is published.

Per poll cycle the thread wakes once (the wait for the poll's time) and turns the core twice
(the Tick that starts the poll, the Replied that ends it); benchmarks/profile_cycle.py
``--wakes`` counts both.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import logging
import queue
import threading
import urllib.parse
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import attrs

from ..errors import NotConnected, ReolinkError, TransportError, TransportProtocolError
from ..protocol.lease import TokenLease
from ..push import PushListener, PushListenerError, Registration, register_shared
from ..transport import Transport
from .core import DevicePhase, DriverCore
from .events import AttributeEvent, AttributeValue
from .logs import DeviceLog
from .messages import (
    Action,
    CommandQueued,
    Disconnect,
    Emit,
    Event,
    Fail,
    Finished,
    Listen,
    ListenFailed,
    Listening,
    LiveUrls,
    Offline,
    Online,
    Probe,
    Probed,
    PushWake,
    Ready,
    Replied,
    Resolve,
    Send,
    SendFailed,
    Start,
    Tick,
    WaitUntil,
)
from .pushcontrol import REASON_FAILED, REASON_PORT_BUSY

__all__ = ["DeviceLoop", "Job", "Published"]

#: A wait ended: one shared event (Tick carries nothing; frozen, so sharing it is safe).
_TICK = Tick()
#: The actions whose facts go into the published snapshot (besides the counters).
_NEWS = (Emit, Offline, Online)

#: At most this many URLs are probed per registration, each within PROBE_TIMEOUT seconds and
#: all within PROBE_BUDGET (the device thread waits meanwhile).
MAX_PROBES = 8
PROBE_TIMEOUT = 0.5
PROBE_BUDGET = 1.0

log = logging.getLogger(__name__)

Callback = Callable[[AttributeEvent], None]
Job = Tuple[CommandQueued, "concurrent.futures.Future[Any]"]
ValueKey = Tuple[str, Optional[str], str]


@attrs.frozen
class Published:
    """What other threads may know of the device thread: one snapshot, published under a lock
    after every turn of the core (before its actions are performed, so a host callback already
    sees its own event). The host thread never reads the core's objects."""

    #: (target, address, name) -> the value last emitted to the host
    values: Mapping[ValueKey, AttributeValue] = attrs.field(factory=dict, repr=False)
    cycles: int = 0
    requests_sent: int = 0
    logins_sent: int = 0
    #: the session token (for a host's log-redaction filter only): never shown
    token: Optional[str] = attrs.field(default=None, repr=False)
    phase: DevicePhase = DevicePhase.CONNECTING
    #: calls from the device's webhook (counted on the listener thread, under the same lock)
    push_calls: int = 0
    #: the error that made the device go offline last (None while online)
    last_exception: Optional[ReolinkError] = None


class DeviceLoop:
    """One device's thread body. Thread-safe members: :meth:`submit`, :meth:`stop`,
    :meth:`values`, :meth:`published`."""

    def __init__(
        self,
        core: DriverCore,
        transport: Transport,
        clock: Callable[[], float],
        callback: Optional[Callback],
        listener: Optional[PushListener] = None,
    ) -> None:
        self._core = core
        self._listener = listener
        self._registration: Optional[Registration] = None
        self._push_event: Optional[Event] = None
        #: calls from the device's webhook (counted on the listener thread, under _lock)
        self._push_calls = 0
        self._transport = transport
        self._clock = clock
        self._callback = callback
        self._log = DeviceLog(log, core.config.label)
        self.ready = threading.Event()
        self.stopping = threading.Event()
        #: the device pushed: a plain flag the loop reads without a call (set by another
        #: thread before it signals; a bool write is atomic)
        self._push_asked = False
        #: held while no wake-up is pending: _signal() releases it, the wait acquires it
        self._wake = threading.Lock()
        self._wake.acquire()
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._futures: Dict[int, Tuple[str, concurrent.futures.Future[Any]]] = {}
        self._stop_at: Optional[float] = None
        #: guards what is published for other threads: _values, _counters, _last_exception
        #: and _push_calls
        self._lock = threading.Lock()
        self._values: Dict[ValueKey, AttributeValue] = {}
        #: (cycles, requests, logins, the session's lease, phase) last published
        self._counters: Tuple[int, int, int, Optional[TokenLease], DevicePhase] = (
            0, 0, 0, None, DevicePhase.CONNECTING
        )
        #: True while the host's callback runs (connect() warns when a callback stalls it).
        self.in_callback = False
        #: the error of the last Offline that had one; None again once Online
        self._last_exception: Optional[ReolinkError] = None
        self._outstanding: Optional[Send] = None
        self._until = 0.0

    # --- from other threads -------------------------------------------------------------

    def submit(self, job: Job) -> None:
        self._jobs.put(job)
        self._signal()

    def _signal(self) -> None:
        """Wake the device thread (any thread; a wake-up already pending stays one)."""
        try:
            self._wake.release()
        except RuntimeError:  # released already: a wake-up is pending
            pass

    def push_wake(self) -> None:
        """The device pushed an event (webhook): feed the core a PushWake (it polls at once).

        Runs on the listener thread: cheap and non-blocking. Calls that arrive together are
        one PushWake (the core coalesces further).
        """
        with self._lock:
            self._push_calls += 1
        self._push_asked = True
        self._signal()

    def stop(self) -> None:
        if not self.stopping.is_set():
            self._stop_at = self._clock()
        self.stopping.set()
        self._signal()

    def close_unused(self) -> None:
        """The thread never started: close the transport (nothing was opened; be tidy)."""
        self._transport.close()

    def values(self) -> Dict[ValueKey, AttributeValue]:
        with self._lock:
            return dict(self._values)

    def published(self) -> Published:
        """The device thread's last published snapshot (any thread)."""
        with self._lock:
            cycles, requests, logins, lease, phase = self._counters
            values = dict(self._values)
            calls, error = self._push_calls, self._last_exception
        token = lease.token if lease is not None else None
        return Published(values, cycles, requests, logins, token, phase, calls, error)

    def _publish(self, actions: Any) -> None:
        """After a turn of the core, on the device thread: its emitted values and counters."""
        core = self._core
        client = core.client
        counters = (core.cycles, client.requests_sent, client.logins_sent, core.session.lease,
                    core.phase)
        for action in actions:
            if isinstance(action, _NEWS):
                break
        else:  # no Emit, Offline or Online (a plain loop: no list is built for it)
            if counters == self._counters:
                return  # the snapshot would be the same
        with self._lock:
            for action in actions:
                if isinstance(action, Emit):
                    for event in action.events:
                        self._values[(event.target, event.address, event.name)] = event.value
                elif isinstance(action, Offline):
                    if action.error is not None:
                        self._last_exception = action.error
                elif isinstance(action, Online):
                    self._last_exception = None
            self._counters = counters

    # --- the thread ---------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            self._log.exception("the device loop failed (phase %s)", self._core.phase.value)
        finally:
            self.ready.set()
            self._fail_left_over()
            self._unlisten()
            self._transport.close()

    def _run(self) -> None:
        event: Event = Start()
        told_to_stop = False
        while True:
            try:
                actions = self._core.handle(self._clock(), event)
            except Exception:  # a driver bug: the thread carries on, as the host expects
                self._log.exception(
                    "unexpected error in the driver core (phase %s)", self._core.phase.value
                )
                actions = [WaitUntil(self._clock() + self._core.config.status_interval)]
            self._publish(actions)
            if self._obey(actions):
                return
            if self.stopping.is_set() and not told_to_stop:
                told_to_stop = True
                # Whatever request was about to go out is dropped: the core winds down.
                self._outstanding = None
                since = self._stop_at if self._stop_at is not None else self._clock()
                event = Disconnect(since)
            else:
                event = self._next_event()

    def _next_event(self) -> Event:
        """A queued command first, else the outstanding request's outcome, else a wait."""
        if self._push_event is not None:
            event, self._push_event = self._push_event, None
            return event
        if not self._jobs.empty():  # this thread is the only reader: it stays non-empty
            queued, future = self._jobs.get_nowait()
            if future.set_running_or_notify_cancel():
                self._futures[queued.job] = (queued.name, future)
                return queued
            return _TICK
        send = self._outstanding
        if send is not None:
            self._outstanding = None
            return self._send(send)
        if self._push_asked:
            self._push_asked = False
            return PushWake()
        delay = self._until - self._clock()
        if delay > 0 and self._jobs.empty():
            self._wake.acquire(True, delay)
        self._wake.acquire(False)  # a wake-up that came meanwhile is consumed: looked at now
        return _TICK

    def _send(self, send: Send) -> Event:
        try:
            return Replied(self._transport.send(send.request))
        except TransportError as error:
            return SendFailed(error)
        except Exception as error:  # a transport bug: the request's fate is unknown
            self._log.exception("the transport failed unexpectedly")
            return SendFailed(TransportProtocolError(f"transport failed: {type(error).__name__}"))

    def _obey(self, actions: Any) -> bool:
        """Perform the core's actions; True once it has finished."""
        for action in actions:
            if isinstance(action, Send):
                self._outstanding = action
            elif isinstance(action, WaitUntil):
                self._until = action.when
            elif isinstance(action, Emit):
                self._emit(action.events)
            elif isinstance(action, (Resolve, Fail)):
                self._settle(action)
            elif isinstance(action, Ready):
                self.ready.set()
            elif isinstance(action, Listen):
                self._push_event = self._listen()
            elif isinstance(action, Probe):
                self._push_event = self._probe(action.urls)
            elif isinstance(action, Finished):
                return True
        return False

    # --- push ---------------------------------------------------------------------------

    def _listen(self) -> Event:
        """Register on the listener (once); the URL uses push_host, else our local address."""
        config = self._core.config
        host = config.push_host or _local_address(self._transport)
        if not host:
            return ListenFailed(
                f"{REASON_FAILED}: no push_host: the transport cannot tell this host's "
                "address on the device's network; set push_host"
            )
        if self._registration is None:
            try:
                if self._listener is not None:
                    self._registration = self._listener.register(self.push_wake, label=config.label)
                else:
                    self._registration = self._register_shared(config.push_host)
            except PushListenerError as error:
                kind = REASON_PORT_BUSY if error.port is not None else REASON_FAILED
                return ListenFailed(f"{kind}: {error}")
        registration = self._registration
        port = registration.listener.port
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        # The live set as a value, read now: the core asks again before every registration.
        live = LiveUrls(registration.listener.live_paths())
        return Listening(registration.url(host), where, live)

    def _register_shared(self, push_host: str) -> Registration:
        """The shared listener bound to ``push_host`` (the address the device calls), or to
        every address when none is set - or when push_host is not an address of this host
        (the device reaches it through NAT)."""
        config = self._core.config
        try:
            return register_shared(
                self.push_wake, host=push_host, port=config.push_port, label=config.label
            )
        except PushListenerError as error:
            if not (push_host and error.not_local):
                raise
            self._log.info(
                "push_host %s is not an address of this host (NAT?): the push listener "
                "binds every address",
                push_host,
            )
            return register_shared(self.push_wake, port=config.push_port, label=config.label)

    def _probe(self, urls: Tuple[str, ...]) -> Probed:
        """Which of ``urls`` no live listener answers: within PROBE_BUDGET seconds in all, and
        not at all once disconnect() was called (an unasked URL counts as live)."""
        dead = set()
        end = self._clock() + PROBE_BUDGET
        for url in urls[:MAX_PROBES]:
            left = end - self._clock()
            if left <= 0.05 or self.stopping.is_set():
                break
            if _answers(url, min(PROBE_TIMEOUT, left)) is False:
                dead.add(url)
        return Probed(frozenset(dead))

    def _unlisten(self) -> None:
        registration, self._registration = self._registration, None
        if registration is not None:
            try:
                registration.unregister()
            except Exception:  # closing a shared listener failed: say so, end anyway
                self._log.exception("could not close the push listener")

    def _settle(self, action: Action) -> None:
        assert isinstance(action, (Resolve, Fail))
        _, future = self._futures.pop(action.job, ("", None))
        if future is None or future.done():
            return
        if isinstance(action, Resolve):
            future.set_result(action.result)
        else:
            future.set_exception(action.error)

    def _emit(self, events: Tuple[AttributeEvent, ...]) -> None:
        # The values are published already (_publish): the host's callback sees its event.
        debug = self._log.enabled(logging.DEBUG)  # once per Emit, not per event
        callback = self._callback
        if callback is None and not debug:
            return
        # in_callback is set once per Emit, around all of its callbacks.
        self.in_callback = callback is not None
        try:
            for event in events:
                if debug:
                    self._log.debug(
                        "%s %s %s = %r", event.target, event.address or "", event.name,
                        event.value,
                    )
                if callback is None:
                    continue
                try:
                    callback(event)
                except Exception:  # a host bug must never kill the loop (nor skip the rest)
                    self._log.exception(
                        "callback raised on %s %s", event.name, event.address or ""
                    )
        finally:
            self.in_callback = False

    def _fail_left_over(self) -> None:
        """Commands still queued or waiting when the thread ends fail with NotConnected."""
        while True:
            try:
                queued, future = self._jobs.get_nowait()
            except queue.Empty:
                break
            self._futures[queued.job] = (queued.name, future)
        for name, future in self._futures.values():
            if not future.done() and (future.running() or future.set_running_or_notify_cancel()):
                future.set_exception(NotConnected(f"{name}: the driver was disconnected"))
        self._futures.clear()


def _answers(url: str, timeout: float = PROBE_TIMEOUT) -> Optional[bool]:
    """Whether a live listener of this library serves ``url`` (HEAD: 200 without a wake).

    True: 200; False: nothing does (connection refused, or 404: the path is unknown there);
    None: cannot tell (a timeout, anything else) - such a slot is never taken."""
    split = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(split.hostname or "", split.port or 80, timeout=timeout)
    try:
        conn.request("HEAD", split.path or "/")
        status = conn.getresponse().status
    except ConnectionRefusedError:
        return False
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()
    return {200: True, 404: False}.get(status)


def _local_address(transport: Transport) -> Optional[str]:
    """The local address of the transport's connection to the device, if it can tell."""
    method = getattr(transport, "local_address", None)
    if not callable(method):
        return None
    try:
        address = method()
    except Exception:  # an optional nicety: a transport that fails here just cannot tell
        return None
    return address if isinstance(address, str) and address else None
