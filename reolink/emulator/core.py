"""The :class:`Emulator`: a Reolink camera/NVR on a local port (or in-process via :meth:`app`)."""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

from . import api, ptz
from .device import (
    BAD_GATEWAY_HTML,
    INDEX_HTML,
    JSON_TYPE,
    Device,
    Reply,
    body_cmds,
    error_entry,
    json_reply,
    render,
)
from .events import EventSpec, RandomEvents, Scheduler, load_events, schedule_script
from .faults import (
    BatchError,
    Drop,
    DropMidReply,
    Fault,
    FaultQueue,
    HtmlIndex,
    Http502,
    Huge,
    Latency,
    NeverEnding,
    Refuse,
    RspCode,
    ShortReply,
    SlowDrip,
    Stall,
    Truncated,
)
from .handlers import rsp_code_reply
from .profiles import build_profile
from .server import Connections, Listener, RequestHandler, ThreadsAlive, base_headers, response_head
from .tls import server_context

__all__ = ["Emulator", "RequestRecord"]

log = logging.getLogger(__name__)

_STREAM_CHUNK = b'\t\t\t"data" : "' + b"x" * 4000 + b'",\n'


@dataclass
class RequestRecord:
    """One request as the emulator saw it (test infrastructure: the token is kept)."""

    time: float
    method: str
    path: str
    query: Dict[str, str]
    cmds: List[str]
    token: Optional[str]
    status: Optional[int]  # None: no reply was sent (drop, stall, refused)
    duration: float
    http: bool
    #: the client's ``host:port`` (HTTP only; None in-process)
    remote: Optional[str] = None
    #: a Login's outcome ("ok", or "refused rspCode N"), filled only while ``on_request`` is set
    login: str = ""


def _login_outcome(body: bytes) -> str:
    """"ok" or "refused rspCode N" for a Login reply (for ``reolink emulate -v``)."""
    try:
        entry = json.loads(body)[0]
        if entry.get("code") == 0:
            return "ok"
        return f"refused rspCode {entry['error']['rspCode']}"
    except (ValueError, LookupError, TypeError, AttributeError):
        return "unreadable reply"


def _remote(address: Any) -> Optional[str]:
    """``host:port`` (``[v6]:port``) of a socket address, None if it is not one."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return None


@dataclass
class _Outcome:
    reply: Optional[Reply]
    fault: Optional[Fault]


class Emulator:
    """A fake Reolink device speaking the CGI/JSON API like firmware does.

    ``profile`` is one of camera, ptz, nvr, legacy, hub (see :mod:`.profiles`). ``clock`` drives
    leases, lockouts, PTZ motion and scheduled events. ``login_throttle=(N, seconds)``: more
    than N logins within the window are answered -105. ``events`` is a list of
    ``{channel, kind, start, duration}`` (or a JSON file path); ``random_events`` starts demo
    detections. ``snapshot_size`` pads Snap JPEGs (with COM segments) to that many bytes.
    ``ssl_context`` (with ``https``) replaces the emulator's TLS set-up, e.g. with one that
    serves only TLS 1.0 the way old firmware does.
    """

    def __init__(
        self,
        profile: str = "camera",
        channels: Optional[int] = None,
        username: str = "admin",
        password: str = "admin123",  # noqa: S107 - the emulated device's test password
        lease: int = 3600,
        https: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        certfile: Optional[str] = None,
        keyfile: Optional[str] = None,
        clock: Callable[[], float] = time.monotonic,
        lockout_attempts: int = 5,
        lockout_window: float = 600.0,
        lockout_duration: float = 300.0,
        max_sessions: int = 8,
        login_throttle: Tuple[int, float] = (10, 1.0),
        events: Union[str, Iterable[Any], None] = None,
        random_events: bool = False,
        snapshot_size: int = 0,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        self.profile = build_profile(profile, channels)
        self.device = Device(
            self.profile,
            username,
            password,
            lease,
            clock,
            lockout_attempts,
            lockout_window,
            lockout_duration,
            max_sessions,
            login_throttle,
            snapshot_size,
        )
        self.clock = clock
        self.host = host
        self.port = port
        self.https = https
        self.scheme = "https" if https else "http"
        # ssl_context: HTTPS served the way a given firmware does (old TLS versions and suites).
        self._ctx: Optional[ssl.SSLContext] = None
        if https:
            self._ctx = ssl_context or server_context(certfile, keyfile)
        self.reboot_down_seconds = 10.0
        self._events: List[EventSpec] = load_events(events) if events is not None else []
        self._random_events = random_events
        self._faults = FaultQueue()
        self._scheduler = Scheduler(clock)
        #: (channel, kind) whose call went out and whose state shows after call_lead
        self._leading: Set[Tuple[int, str]] = set()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._up = threading.Event()
        self._up.set()
        self._listener: Optional[Listener] = None
        self._started = False
        self._records: List[RequestRecord] = []
        #: Called with each request's record as it is recorded, on the serving thread (it
        #: must return quickly); ``reolink emulate -v`` prints them.
        self.on_request: Optional[Callable[[RequestRecord], None]] = None
        self._records_cond = threading.Condition()
        self._connections = Connections()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> Emulator:
        """Bind and serve (idempotent)."""
        with self._lock:
            if self._started:
                return self
            self._stop.clear()
            self._connections.reopen()
            self._listener = self._listen()
            self.port = self._listener.port
            self._up.set()
            self._started = True
        self._scheduler.start()
        self.device.webhooks.start()
        if self._events:
            schedule_script(self._scheduler, self._events, self.clock(), self._apply_event)
        if self._random_events:
            RandomEvents(self._scheduler, self._random_choices, self._apply_event).start()
        log.debug("emulator %s listening on %s", self.profile.name, self.url)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, end stalls and streams, join every thread the emulator started.

        Raises :class:`ThreadsAlive` naming the threads still running after ``timeout``
        seconds (in total), instead of leaving them behind unnoticed.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            self._stop.set()
            listener, self._listener = self._listener, None
            self._started = False
        alive = []
        if listener is not None and not listener.close(timeout):
            alive.append(listener.thread.name)
        alive += self._connections.close(max(0.0, deadline - time.monotonic()))
        if not self._scheduler.stop(max(0.0, deadline - time.monotonic())):
            alive.append("reolink-emulator-scheduler")
        self._scheduler.clear()
        try:
            self.device.webhooks.stop(max(0.0, deadline - time.monotonic()))
        except RuntimeError:  # the webhook sender did not end in time
            alive.append("reolink-emulator-webhook")
        if alive:
            raise ThreadsAlive(f"emulator threads still running after {timeout} s: {alive}")

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> Listener:
        return Listener(self._serve_http, self._connections, self.host, self.port, self._ctx)

    # ------------------------------------------------------------------ down / up
    def reboot(self, down_seconds: float = 10.0, _spare: Any = None) -> None:
        """Reboot: connections drop, the port refuses for ``down_seconds``, all tokens die."""
        self.device.reset_sessions()
        with self.device.lock:
            self._leading.clear()
            for state in self.device.channels:
                state.motion, state.visitor = False, False
                state.ai = {t: False for t in state.ai}
                ptz.position(state, self.clock())
                state.ptz.op, state.ptz.patrol = None, None
        self._go_down(down_seconds, _spare)

    def _go_down(self, seconds: float, spare: Any = None) -> None:
        with self._lock:
            self._up.clear()
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self._connections.drop(spare)
        self._scheduler.call_later(seconds, self._go_up)

    def _go_up(self) -> None:
        with self._lock:
            if self._up.is_set():
                return
            if self._started and self._listener is None:
                try:
                    self._listener = self._listen()
                except OSError as err:  # port still busy: try again shortly
                    log.debug("emulator could not rebind port %s: %s", self.port, err)
                    self._scheduler.call_later(0.1, self._go_up)
                    return
            self._up.set()

    def wait_until_up(self, timeout: float) -> bool:
        """Wait until the device is reachable again after a reboot or refuse fault."""
        return self._up.wait(timeout)

    def tick(self) -> int:
        """Run scheduled work that is due on ``clock`` (for fake clocks); return how many ran."""
        return self._scheduler.run_due()

    # ------------------------------------------------------------------ faults and records
    def add_fault(self, fault: Fault) -> None:
        """Arm a fault; ``refuse`` takes effect at once."""
        if isinstance(fault, Refuse):
            self._go_down(fault.seconds)
            return
        self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def pending_faults(self) -> List[Fault]:
        """The faults still armed, oldest first (a used-up one is gone)."""
        return self._faults.pending()

    @property
    def requests(self) -> List[RequestRecord]:
        with self._records_cond:
            return list(self._records)

    def clear_requests(self) -> None:
        with self._records_cond:
            self._records.clear()

    def wait_for_requests(self, n: int, timeout: float) -> bool:
        """Wait until at least ``n`` requests are recorded."""
        with self._records_cond:
            return self._records_cond.wait_for(lambda: len(self._records) >= n, timeout)

    def _record(self, rec: RequestRecord) -> None:
        with self._records_cond:
            self._records.append(rec)
            self._records_cond.notify_all()
        hook = self.on_request
        if hook is not None:
            hook(rec)

    # ------------------------------------------------------------------ state controls
    def _spec_state(self, channel: int) -> Any:
        if not 0 <= channel < len(self.device.channels):
            raise ValueError(f"no channel {channel} on this {self.profile.name}")
        return self.device.channels[channel]

    def set_motion(self, channel: int, on: bool) -> None:
        """Raise/clear motion. With ``device.webhooks.call_lead`` > 0 the webhook call goes out
        at once and the state shows the event that much later (firmware differ)."""
        with self.device.lock:
            state = self._spec_state(channel)
            started = on and not state.motion and (channel, "motion") not in self._leading
            if started:  # firmware calls its webhooks when an event starts, never when it ends
                self.device.webhooks.event_started(channel, "motion")
                if self._lead(channel, "motion"):
                    return
            self._leading.discard((channel, "motion"))
            state.motion = bool(on)

    def set_ai(self, channel: int, ai_type: str, on: bool) -> None:
        """Raise/clear an AI detection (also reported as motion while on, as cameras do)."""
        with self.device.lock:
            state = self._spec_state(channel)
            if ai_type not in state.ai:
                raise ValueError(f"channel {channel} has no {ai_type!r} detection")
            started = on and not state.ai[ai_type] and (channel, ai_type) not in self._leading
            if started:
                self.device.webhooks.event_started(channel, ai_type)
                if self._lead(channel, ai_type):
                    return
            self._leading.discard((channel, ai_type))
            state.ai[ai_type] = bool(on)

    def _lead(self, channel: int, kind: str) -> bool:
        """The call went out; show the state ``call_lead`` later (True), unless it is 0."""
        lead = self.device.webhooks.call_lead
        if lead <= 0:
            return False
        self._leading.add((channel, kind))

        def show() -> None:
            with self.device.lock:
                if (channel, kind) not in self._leading:
                    return  # cleared before it showed
                self._leading.discard((channel, kind))
                state = self.device.channels[channel]
                if kind == "motion":
                    state.motion = True
                else:
                    state.ai[kind] = True

        self._scheduler.call_later(lead, show)
        return True

    def set_webhook(self, channel: int, index: int, url: str, enabled: bool = True) -> None:
        """Another system (the Reolink app, Home Assistant) writes ``url`` into a slot."""
        with self.device.lock:
            self._spec_state(channel)
            self.device.webhooks.put(channel, index, url, enabled)

    def factory_reset(self, down_seconds: float = 10.0) -> None:
        """A reboot that also clears every webhook slot table (a plain reboot keeps them)."""
        with self.device.lock:
            self.device.webhooks.reset()
        self.reboot(down_seconds)

    def set_visitor(self, channel: int, on: bool) -> None:
        with self.device.lock:
            self._spec_state(channel).visitor = bool(on)

    def clear(self, channel: Optional[int] = None) -> None:
        """All detections off (one channel or all)."""
        with self.device.lock:
            chans = range(len(self.device.channels)) if channel is None else [channel]
            self._leading -= {lead for lead in self._leading if lead[0] in chans}
            for ch in chans:
                state = self._spec_state(ch)
                state.motion, state.visitor = False, False
                state.ai = {t: False for t in state.ai}

    # ------------------------------------------------------------------ detection setup
    def set_motion_area(self, channel: int, drawn: bool) -> None:
        """Draw the whole motion area, or empty it (GetMdAlarm/GetAlarm ``scope.table``)."""
        with self.device.lock:
            self._spec_state(channel).motion_area = bool(drawn)

    def set_pir(self, channel: int, on: bool) -> None:
        """The PIR switch of a battery camera (GetPirInfo ``pirInfo.enable``)."""
        with self.device.lock:
            self._spec_state(channel).pir = bool(on)

    def set_ai_detection(self, channel: int, ai_type: str, on: bool) -> None:
        """An AI type's switch (GetAiCfg ``AiDetectType``)."""
        with self.device.lock:
            state = self._spec_state(channel)
            if ai_type not in state.ai:
                raise ValueError(f"channel {channel} has no {ai_type!r} detection")
            state.ai_switch[ai_type] = bool(on)

    def set_ai_area(self, channel: int, ai_type: str, drawn: bool) -> None:
        """Draw or empty an AI type's area (GetAiAlarm ``scope.area``)."""
        with self.device.lock:
            state = self._spec_state(channel)
            if ai_type not in state.ai:
                raise ValueError(f"channel {channel} has no {ai_type!r} detection")
            state.ai_area[ai_type] = bool(drawn)

    def set_push(self, on: bool, channel: Optional[int] = None) -> None:
        """Push on/off device-wide (GetPushV20 ``enable``), or one channel's schedule switch."""
        with self.device.lock:
            if channel is not None:
                self._spec_state(channel)
            self.device.webhooks.set_push(on, channel)

    def make_doorbell(self, channel: int) -> None:
        """The channel becomes a doorbell: GetEvents says ``visitor.support`` 1."""
        with self.device.lock:
            self._spec_state(channel).doorbell = True

    def drop_command(self, name: str) -> None:
        """Answer ``name`` like firmware that lacks it (``"Unknown"``, -9): e.g. GetEvents."""
        with self.device.lock:
            self.device.dropped_cmds.add(name)

    def set_online(self, channel: int, online: bool) -> None:
        with self.device.lock:
            self._spec_state(channel).online = bool(online)

    def set_sleeping(self, channel: int, sleeping: bool) -> None:
        with self.device.lock:
            self._spec_state(channel).sleeping = bool(sleeping)

    def position(self, channel: int) -> Dict[str, Any]:
        with self.device.lock:
            return ptz.position(self._spec_state(channel), self.clock())

    def spotlight(self, channel: int) -> bool:
        with self.device.lock:
            return bool(self._spec_state(channel).spotlight.get("state"))

    def siren_plays(self, channel: int) -> int:
        with self.device.lock:
            return int(self._spec_state(channel).siren_plays)

    def siren_on(self, channel: int) -> bool:
        with self.device.lock:
            return bool(self._spec_state(channel).siren_on)

    @property
    def login_count(self) -> int:
        return self.device.login_count

    @property
    def sessions(self) -> List[str]:
        return self.device.active_tokens()

    def _apply_event(self, channel: int, kind: str, on: bool) -> None:
        try:
            if kind == "motion":
                self.set_motion(channel, on)
            elif kind == "visitor":
                self.set_visitor(channel, on)
            else:
                self.set_ai(channel, kind, on)
        except ValueError as err:
            log.warning("emulator event skipped: %s", err)

    def _random_choices(self) -> List[Tuple[int, str]]:
        with self.device.lock:
            return [
                (i, kind)
                for i, st in enumerate(self.device.channels)
                if st.online and not st.sleeping
                for kind in ["motion", *sorted(st.ai)]
            ]

    # ------------------------------------------------------------------ request processing
    def _process(self, method: str, target: str, body: bytes) -> Tuple[_Outcome, RequestRecord]:
        self._scheduler.run_due()
        split = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        cmds = body_cmds(body, query)
        rec = RequestRecord(
            self.clock(), method, split.path, query, cmds, query.get("token"), None, 0.0, True
        )
        fault = self._faults.take(cmds)
        if isinstance(fault, Latency):
            self._stop.wait(fault.seconds)
        if isinstance(fault, (Drop, Stall, NeverEnding)):
            return _Outcome(None, fault), rec
        if isinstance(fault, Http502):
            reply = Reply(502, "text/html", BAD_GATEWAY_HTML)
        elif isinstance(fault, HtmlIndex):
            reply = Reply(200, "text/html", INDEX_HTML)
        elif isinstance(fault, Huge):
            reply = Reply(200, JSON_TYPE, _huge_body(fault.size))
        elif isinstance(fault, RspCode):
            reply = Reply(200, JSON_TYPE, rsp_code_reply(cmds, fault.code))
        elif isinstance(fault, BatchError):
            reply = json_reply([error_entry(cmds[0] if cmds else "Unknown", fault.code)])
        else:
            reply = api.handle(self.device, method, split.path, query, body)
            if self.on_request is not None and "Login" in cmds:
                rec.login = _login_outcome(reply.body)
            if isinstance(fault, Truncated):
                reply.body = reply.body[: len(reply.body) // 2]
            elif isinstance(fault, ShortReply):
                reply.body = _shorten(reply.body)
        return _Outcome(reply, fault), rec

    def app(
        self,
        method: str,
        target: str,
        headers: Optional[Mapping[str, str]] = None,
        body: Optional[bytes] = None,
    ) -> Tuple[int, Dict[str, str], bytes]:
        """Answer one request in-process (for an in-memory transport), like over HTTP.

        Faults that need a socket raise: ``drop``/``drop_mid_reply`` -> ConnectionResetError,
        ``stall``/``never_ending`` -> TimeoutError; while down (reboot/refuse) ->
        ConnectionRefusedError. ``slow_drip`` returns the whole reply.
        """
        self._scheduler.run_due()
        if not self._up.is_set():
            raise ConnectionRefusedError("emulated device is not accepting connections")
        started = time.monotonic()
        outcome, rec = self._process(method.upper(), target, body or b"")
        rec.http = False
        fault, reply = outcome.fault, outcome.reply
        cut = isinstance(fault, DropMidReply)
        rec.status = reply.status if reply is not None and not cut else None
        rec.duration = time.monotonic() - started
        self._record(rec)
        if reply is None or cut:
            if isinstance(fault, (Stall, NeverEnding)):
                raise TimeoutError("emulated device did not answer")
            raise ConnectionResetError("emulated device closed the connection")
        headers_out = base_headers(reply.content_type, len(reply.body), False)
        if reply.after == "reboot":
            self.reboot(self.reboot_down_seconds)
        return reply.status, headers_out, reply.body

    def _serve_http(
        self,
        handler: RequestHandler,
        method: str,
        target: str,
        headers: Dict[str, str],
        body: bytes,
    ) -> None:
        started = time.monotonic()
        outcome, rec = self._process(method, target, body)
        rec.remote = _remote(handler.client_address)
        fault, reply = outcome.fault, outcome.reply
        close = bool(handler.close_connection)
        rebooting = False
        # Recorded before anything is written, so a client holding its reply finds the record.
        rec.status = (
            reply.status if reply is not None else (200 if isinstance(fault, NeverEnding) else None)
        )
        rec.duration = time.monotonic() - started
        self._record(rec)
        try:
            if reply is None:
                if isinstance(fault, Stall):
                    self._stop.wait(fault.seconds)
                elif isinstance(fault, NeverEnding):
                    self._stream_forever(handler)
                handler.abort()
                return
            if reply.after == "reboot":
                # Down before the reply leaves: a client holding the reply finds the port closed.
                self.reboot(self.reboot_down_seconds, _spare=handler.connection)
                close = rebooting = True
            payload = b"" if method == "HEAD" else reply.body
            head = response_head(
                reply.status, base_headers(reply.content_type, len(reply.body), close)
            )
            if isinstance(fault, DropMidReply):
                handler.send_raw(head + payload[: len(payload) // 2])
                handler.abort()
            elif isinstance(fault, SlowDrip):
                data = head + payload
                for i in range(len(data)):
                    handler.send_raw(data[i : i + 1])
                    if self._stop.wait(fault.seconds):
                        handler.abort()
                        return
            else:
                handler.send_raw(head + payload)  # one write: no delayed-ACK stall
            if rebooting:
                handler.abort()
        except OSError:
            handler.close_connection = True

    def _stream_forever(self, handler: RequestHandler) -> None:
        """200 text/html, no Content-Length, JSON-looking bytes until the client leaves."""
        head = response_head(200, base_headers(JSON_TYPE, None, True))
        try:
            handler.send_raw(head + b'[\n\t{\n\t\t"cmd" : "GetDevInfo",\n\t\t"code" : 0,\n')
            while not self._stop.wait(0.005):
                handler.send_raw(_STREAM_CHUNK)
        except OSError:
            pass


def _shorten(body: bytes) -> bytes:
    """The reply with its last entry missing (the ``short_reply`` fault)."""
    try:
        entries = json.loads(body.decode("utf-8"))
    except ValueError:
        return body
    if isinstance(entries, list) and entries:
        return render(entries[:-1])
    return body


def _huge_body(size: int) -> bytes:
    """A syntactically valid JSON reply of exactly ``size`` bytes."""
    head = b'[\n\t{\n\t\t"cmd" : "GetDevInfo",\n\t\t"code" : 0,\n\t\t"value" : {\n\t\t\t"pad" : "'
    tail = b'"\n\t\t}\n\t}\n]'
    fill = max(0, size - len(head) - len(tail))
    return head + b"x" * fill + tail
