"""The poll path's shortcuts (issue 19, a lean hot path) change nothing a host sees.

Each shortcut of the hot path has a test here that fails if it does the wrong thing: the
poll path against a model of the device over many cycles of random detections (every change,
in order, with its previous value, none twice, none missed), the positional makers against
attrs' own constructors, the bool/type readers against the full parsers, the client's memos
against a token that changes, the session's handed-out authorization against a new lease,
and the device loop's wake-up signal against a long poll interval.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Dict, List, Optional, Set, Tuple

import attrs
import pytest
from simdevice import SimHarness

from reolink.driver import ReolinkDriver, Timing
from reolink.driver.client import DeviceClient
from reolink.driver.config import parse_device
from reolink.driver.events import AttributeEvent
from reolink.driver.logs import DeviceLog
from reolink.driver.store import AttributeStore
from reolink.emulator import Emulator
from reolink.errors import ApiError, RemoteProtocolError
from reolink.protocol import batch, parsers
from reolink.protocol.lease import TokenLease
from reolink.protocol.results import CommandReply, positional_maker, sort_ai_types
from reolink.protocol.session import Session
from reolink.transport import Response

# --- the poll path against a model of the device ----------------------------------------------


def _expected(motion: bool, ai: Set[str], battery: bool = False) -> Dict[str, Any]:
    """A zone's attributes as the emulator's replies give them: an AI detection is reported
    as motion too (as cameras do), and a battery camera's PIR as AI type ``other`` while
    moving; ai_detected lists the types in display order."""
    moving = motion or bool(ai)
    shown = ai | ({"other"} if battery and moving else set())
    return {
        "motion": 1 if moving else 0,
        "state": "motion" if moving else "clear",
        "ai_detected": ",".join(sort_ai_types(frozenset(shown))),
    }


@pytest.mark.parametrize("profile,channels", [("nvr", 8), ("camera", None), ("hub", 2)])
def test_every_change_reaches_the_host_once_in_order(profile: str, channels: Any) -> None:
    """Random detections on every channel for 80 cycles, including repeats of an earlier
    state (A, B, A: what a memo could wrongly skip) and cycles where nothing changes: each
    cycle the host gets exactly the attributes that changed, in channel order and the
    poller's attribute order, each with its previous value."""
    emulator = {"profile": profile} if channels is None else {"profile": profile,
                                                              "channels": channels}
    probe = Emulator(**emulator)  # type: ignore[arg-type]
    specs = probe.profile.channels
    zones = {str(ch): {} for ch in range(len(specs))}
    h = SimHarness(zones, emulator=emulator)  # type: ignore[arg-type]
    h.run(30.0)
    assert h.core.cycles > 0
    rng = random.Random(19)
    polled = [ch for ch, spec in enumerate(specs) if spec.online and not spec.sleeping]
    shown = {ch: _expected(False, set()) for ch in polled}
    names = ("motion", "state", "ai_detected")
    states: List[Tuple[bool, Set[str]]] = [(False, set())] * len(specs)
    for cycle in range(80):
        for ch in polled:
            if cycle % 7 == 3:
                continue  # now and then nothing changes on a channel
            if cycle % 5 == 4:
                motion, ai = states[ch] = (False, set())  # back to an earlier state
            else:
                ai_types = specs[ch].ai_types
                motion = rng.random() < 0.5
                ai = {t for t in ai_types if rng.random() < 0.4}
                states[ch] = (motion, ai)
            h.emu.set_motion(ch, motion)
            for ai_type in specs[ch].ai_types:
                h.emu.set_ai(ch, ai_type, ai_type in ai)
        before, cycles = len(h.events), h.core.cycles
        h.run_until(lambda c=cycles: h.core.cycles > c, limit=60.0)  # type: ignore[misc]
        got = [(e.address, e.name, e.value, e.previous) for _, e in h.events[before:]]
        want = []
        for ch in polled:
            new = _expected(*states[ch], battery=specs[ch].battery)
            want += [(str(ch), n, new[n], shown[ch][n]) for n in names if new[n] != shown[ch][n]]
            shown[ch] = new
        assert got == want, f"cycle {cycle}"


# --- positional makers ------------------------------------------------------------------------


def test_positional_maker_makes_what_the_class_makes() -> None:
    make = positional_maker(AttributeEvent)
    assert make is not AttributeEvent  # the fast path is in use for the events...
    made = make("zone", "1", "motion", 1, 0, "cam:80")
    real = AttributeEvent("zone", "1", "motion", 1, 0, "cam:80")
    assert type(made) is AttributeEvent
    assert made == real and hash(made) == hash(real) and repr(made) == repr(real)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.value = 0  # type: ignore[misc]
    reply = positional_maker(CommandReply)("GetMdState", {"state": 1}, None, {"code": 0})
    assert reply == CommandReply(cmd="GetMdState", value={"state": 1}, raw={"code": 0})
    assert reply.value == {"state": 1} and reply.error is None and reply.raw == {"code": 0}


def test_positional_maker_falls_back_where_init_does_more() -> None:
    """A validator, converter or post-init hook would be skipped: the class itself is used."""

    @attrs.frozen
    class Checked:
        value: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.frozen
    class Converted:
        value: int = attrs.field(converter=int)

    @attrs.frozen
    class Hooked:
        value: int

        def __attrs_post_init__(self) -> None:
            pass

    @attrs.frozen(slots=False)
    class Unslotted:
        value: int

    for cls in (Checked, Converted, Hooked, Unslotted):
        assert positional_maker(cls) is cls
    with pytest.raises(TypeError):
        positional_maker(Checked)("1")


def test_batch_replies_are_command_replies() -> None:
    commands = [{"cmd": "GetMdState", "param": {"channel": 0}}, {"cmd": 5}]
    raw = b'[{"cmd":"GetMdState","code":0,"value":{"state":1}},{"cmd":"x","code":0,"value":{}}]'
    first, second = batch.decode_batch(raw, commands)
    assert type(first) is CommandReply and first.cmd == "GetMdState"
    assert first.value == {"state": 1} and first.error is None
    assert first.raw == {"cmd": "GetMdState", "code": 0, "value": {"state": 1}}
    assert second.cmd == "Unknown"  # a command without a usable name, as before


# --- readers without result objects ------------------------------------------------------------


def _reply(value: Any) -> CommandReply:
    return CommandReply(cmd="x", value=value)


@pytest.mark.parametrize(
    "state,motion",
    [(0, False), (1, True), (2, True), ("1", True), ("0", False), (" 1 ", True), (True, True),
     (False, False), (None, False), ("", False), (1.0, True), (-1, True)],
)
def test_md_state_motion_is_parse_md_state(state: Any, motion: bool) -> None:
    reply = _reply({"state": state})
    assert parsers.md_state_motion(reply) is motion
    assert parsers.parse_md_state(reply, 0).motion is motion


@pytest.mark.parametrize("value", [{}, {"state": "on"}, {"state": [1]}, {"state": 1.5}])
def test_md_state_motion_rejects_what_parse_md_state_rejects(value: Any) -> None:
    for read in (parsers.md_state_motion, lambda r: parsers.parse_md_state(r, 0)):
        with pytest.raises(RemoteProtocolError):
            read(_reply(value))


def test_readers_raise_the_reply_error() -> None:
    error = ApiError("GetMdState: not support", cmd="GetMdState", rsp_code=-9)
    reply = CommandReply(cmd="GetMdState", error=error)
    for read in (parsers.md_state_motion, parsers.ai_state_types):
        with pytest.raises(ApiError):
            read(reply)


@pytest.mark.parametrize(
    "value",
    [
        {"channel": 0, "people": {"alarm_state": 1, "support": 1},
         "dogCat": {"alarm_state": 1, "support": 0}, "vehicle": {"alarm_state": 0}},
        {"channel": 0, "people_state": 1, "vehicle_state": "0", "dog_cat_state": 1},
        {"channel": 0},
    ],
)
def test_ai_state_types_is_parse_ai_state(value: Dict[str, Any]) -> None:
    parsed = parsers.parse_ai_state(_reply(value), 0)
    assert parsers.ai_state_types(_reply(value)) == (parsed.detected, parsed.supported)


# --- the client's memos and the session's authorization ---------------------------------------


def _client() -> Tuple[DeviceClient, Session]:
    config = parse_device({"ip": "127.0.0.1", "username": "admin", "password": "pw"}, {"0": {}})
    session = Session()
    return DeviceClient(config, session, DeviceLog(__import__("logging").getLogger("t"), "d")), \
        session


def _send(flow: Any) -> Any:
    return next(flow).request


def test_request_memo_keys_on_every_field() -> None:
    client, _ = _client()
    def request(target: str, body: Optional[bytes] = b"[]", **kw: Any) -> Any:
        args: Dict[str, Any] = dict(
            deadline=None, max_body=100, repeatable=True, what="x", memo=True
        )
        args.update(kw)
        return _send(client.exchange("POST", target, body, **args))

    first = request("/a?token=1")
    assert request("/a?token=1") is first  # the same fields: the same frozen value
    other = request("/a?token=2")
    assert other.target == "/a?token=2" and other is not first
    assert request("/a?token=1", b"[1]").body == b"[1]"
    assert request("/a?token=1", max_body=7).max_body == 7
    assert request("/a?token=1", repeatable=False).repeatable is False
    assert request("/a?token=1", repeatable=False, changes=False).changes_state is False
    client.now = 10.0
    short = request("/a?token=1", deadline=12.5)
    assert short.read_timeout == pytest.approx(2.5) and short.connect_timeout == pytest.approx(2.5)
    for n in range(40):  # the memo stays small
        request(f"/b{n}")
    assert len(client._requests) <= 16


def test_poll_target_follows_the_token() -> None:
    """A renewed token is in the very next request (the target memo keys on the token)."""
    client, session = _client()
    targets = []
    for token in ("tok1", "tok2", "tok1"):
        session.lease = TokenLease(token=token, issued_at=0.0, lease_seconds=3600.0)
        session.state = session.state.READY
        session.tick(0.0)
        flow = client.call([{"cmd": "GetMdState", "param": {"channel": 0}}])
        targets.append(_send(flow).target)
    assert targets == [f"/cgi-bin/api.cgi?cmd=GetMdState&token={t}" for t in ("tok1", "tok2",
                                                                              "tok1")]


def test_authorize_hands_out_the_current_lease_token() -> None:
    session = Session()
    session.state = session.state.READY
    for token in ("one", "two"):
        session.lease = TokenLease(token=token, issued_at=0.0, lease_seconds=3600.0)
        assert session.authorize(0.0).token == token  # before tick() saw the new lease
        session.tick(0.0)
        grant = session.authorize(0.0)
        assert grant.token == token and session.authorize(0.0) is grant


def test_memory_transport_copies_reply_headers() -> None:
    from transports import MemoryTransport

    headers = {"Content-Type": "application/json"}
    transport = MemoryTransport(lambda *a: (200, headers, b"[]"))
    request = _client()[0]._send("POST", "/", b"[]", 5.0, 100, True, False, False).request
    response = transport.send(request)
    headers["Content-Type"] = "text/html"
    assert isinstance(response, Response) and response.headers == {
        "content-type": "application/json"
    }


# --- the store's events -----------------------------------------------------------------------


def test_store_events_are_attribute_events() -> None:
    store = AttributeStore("cam:80")
    store.set("zone", "0", "motion", 1)
    store.set("device", None, "online", True)
    events = store.commit()
    assert events == [
        AttributeEvent("zone", "0", "motion", 1, None, "cam:80"),
        AttributeEvent("device", None, "online", True, None, "cam:80"),
    ]
    assert all(type(e) is AttributeEvent for e in events)


# --- the device loop's wake-up ----------------------------------------------------------------


def test_loop_wakes_at_once_for_a_command_and_for_disconnect() -> None:
    """With a 60 s poll interval the device thread sleeps; a command and disconnect() must
    wake it at once (the wake-up signal), and a second signal while one is pending is one."""
    emu = Emulator(profile="camera")
    from transports import MemoryTransport

    driver = ReolinkDriver(
        {"ip": "127.0.0.1", "username": "admin", "password": "admin123",
         "status_interval": "60000", "push": "off"},
        {"0": {}},
        transport_factory=lambda config: MemoryTransport(emu.app),
        timing=Timing(setup_every=0.0),
    )
    assert driver.connect(timeout=10)
    loop = driver._loop
    loop._signal()
    loop._signal()  # already pending: no error, still one wake-up
    started = time.monotonic()
    info = driver.command("get_dev_info")
    took = time.monotonic() - started
    assert isinstance(info, dict) and info
    cycles = driver.stats().cycles
    stopper = threading.Thread(target=driver.disconnect)
    started = time.monotonic()
    stopper.start()
    stopper.join(10)
    assert not stopper.is_alive() and not driver.running
    # Far below the 60 s the thread would sleep without the signal.
    assert time.monotonic() - started < 30 and took < 30
    assert driver.stats().cycles == cycles  # no poll came between: only the wake-ups ran
