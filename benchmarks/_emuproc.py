"""Emulators in a child process, driven by the benchmark over a JSON-lines pipe (stdin/stdout).

The benchmarks measure the CPU of the *client* process, so the emulated devices live here.
Two HTTP edges:

* ``native``: each :class:`~reolink.emulator.Emulator` serves on its own port with its own
  threaded HTTP server (the project's emulator as shipped);
* ``asyncio``: one event loop serves every device's port and hands each request to
  ``Emulator.app`` (the same request processing, minus a thread per listener and per
  connection), so one process can stand in for hundreds of devices without its own thread
  switching becoming the bottleneck. Replies go out in one write; asyncio sets TCP_NODELAY.

Requests (one JSON object per line) and their answers are listed in :func:`_handle`.
Motion/AI flips run on a thread here at absolute ``time.monotonic()`` times (the clock is
system-wide on Linux), and the moment each flip took effect is reported back.

``churn`` makes every poll reply differ from the previous one: once per poll cycle (at each
request that polls channel 0) the device toggles motion and every AI type on every channel
before answering, so no client can skip an unchanged reply.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from reolink.emulator import Emulator
from reolink.emulator.server import response_head

#: Commands a poll cycle is made of (ours, reolink-aio and the floor all send these).
_POLL_CMDS = frozenset({"GetMdState", "GetAiState", "GetEvents"})


def _polls_channel_0(body: bytes) -> bool:
    """Whether a request body holds a poll command for channel 0 (one per poll cycle)."""
    if b"channel" not in body:
        return False
    try:
        items = json.loads(body)
    except ValueError:
        return False
    return isinstance(items, list) and any(
        isinstance(item, dict)
        and item.get("cmd") in _POLL_CMDS
        and (item.get("param") or {}).get("channel") == 0
        for item in items
    )


class _ChurnEmulator(Emulator):
    """The emulator, able to toggle every channel's motion/AI state once per poll cycle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.churn = False
        self.churned = 0  # poll cycles that toggled the state
        self._churn_on = False

    def toggle_all(self) -> None:
        on = self._churn_on = not self._churn_on
        for channel, spec in enumerate(self.profile.channels):
            self.set_motion(channel, on)
            for ai_type in spec.ai_types:
                self.set_ai(channel, ai_type, on)
        self.churned += 1

    def _process(self, method: str, target: str, body: bytes) -> Any:
        # The one hook both HTTP edges (threaded server and Emulator.app) go through.
        if self.churn and _polls_channel_0(body):
            self.toggle_all()
        return super()._process(method, target, body)


class _HttpProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive server edge for one emulator (Content-Length bodies)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.buf = bytearray()
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ")[:2]
            headers: Dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4 : end + 4 + length])
            del self.buf[: end + 4 + length]
            try:
                status, reply_headers, payload = self.emu.app(method, target, headers, body)
            except OSError:
                self.transport.close()
                return
            head = response_head(status, dict(reply_headers))
            self.transport.write(head + (b"" if method == "HEAD" else payload))


class _Front:
    """One event loop thread serving many emulators."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="front", daemon=True)
        self.thread.start()
        self.servers: List[asyncio.AbstractServer] = []

    def serve(self, emu: Emulator) -> int:
        async def start() -> int:
            server = await self.loop.create_server(
                lambda: _HttpProtocol(emu), "127.0.0.1", 0, backlog=64
            )
            self.servers.append(server)
            return int(server.sockets[0].getsockname()[1])

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result()

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class _State:
    def __init__(self) -> None:
        self.emus: List[Emulator] = []  # _ChurnEmulator each
        self.front: Optional[_Front] = None
        self.flips: List[Tuple[int, int, str, bool, float, float]] = []
        self.flipper: Optional[threading.Thread] = None
        self.stop = threading.Event()


def _flip(state: _State, script: List[List[Any]]) -> None:
    """Apply ``[dev, channel, kind, on, at]`` items at their monotonic times; record when."""
    for dev, channel, kind, on, at in sorted(script, key=lambda item: item[4]):
        delay = at - time.monotonic()
        if delay > 0 and state.stop.wait(delay):
            return
        emu = state.emus[dev]
        if kind == "motion":
            emu.set_motion(channel, on)
        else:
            emu.set_ai(channel, kind, on)
        state.flips.append((dev, channel, kind, on, at, time.monotonic()))


def _handle(state: _State, msg: Dict[str, Any]) -> Dict[str, Any]:
    op = msg["op"]
    if op == "start":
        # devices: [{profile, channels, snapshot_size, max_sessions}]; front: native|asyncio
        if msg.get("front", "native") == "asyncio" and state.front is None:
            state.front = _Front()
        ports = []
        for spec in msg["devices"]:
            emu = _ChurnEmulator(
                profile=spec.get("profile", "camera"),
                channels=spec.get("channels"),
                snapshot_size=int(spec.get("snapshot_size", 0)),
                max_sessions=int(spec.get("max_sessions", 8)),
                login_throttle=(1000, 1.0),
            )
            # seconds the webhook call precedes the state showing the event (issue 16)
            emu.device.webhooks.call_lead = float(spec.get("call_lead", 0.0))
            if state.front is not None:
                emu.port = state.front.serve(emu)
            else:
                emu.start()
            state.emus.append(emu)
            ports.append(emu.port)
        return {"ports": ports}
    if op == "set_online":
        state.emus[msg["dev"]].set_online(msg["channel"], bool(msg["on"]))
        return {}
    if op == "profile":
        # The live state (set_online changes it), with each channel's AI types.
        emu = state.emus[msg["dev"]]
        with emu.device.lock:
            return {
                "channels": [
                    {"online": live.online and not live.sleeping, "ai": list(spec.ai_types)}
                    for spec, live in zip(emu.profile.channels, emu.device.channels)
                ]
            }
    if op == "churn":
        # on: toggle every channel's motion/AI once per poll cycle; returns cycles toggled so far
        emu = state.emus[msg["dev"]]
        assert isinstance(emu, _ChurnEmulator)
        if "on" in msg:
            emu.churn = bool(msg["on"])
        return {"churned": emu.churned}
    if op == "clear_requests":
        for each in state.emus:
            each.clear_requests()
        return {"at": time.monotonic()}
    if op == "requests":
        recs = state.emus[msg["dev"]].requests
        return {"requests": [[r.time, r.method, r.path, r.cmds, r.status] for r in recs]}
    if op == "request_count":
        return {"count": sum(len(e.requests) for e in state.emus)}
    if op == "script":
        state.flips = []
        state.flipper = threading.Thread(
            target=_flip, args=(state, msg["script"]), name="flipper", daemon=True
        )
        state.flipper.start()
        return {}
    if op == "flips":
        if state.flipper is not None:
            state.flipper.join(float(msg.get("timeout", 0)))
        return {"flips": [list(f) for f in state.flips]}
    if op == "cpu":
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "cpu": time.process_time(),
            "wall": time.monotonic(),
            "maxrss_kb": usage.ru_maxrss,
            "threads": threading.active_count(),
        }
    if op == "stop":
        state.stop.set()
        if state.front is not None:
            state.front.close()
        for each in state.emus:
            each.stop(timeout=1.0)
        return {}
    raise ValueError(f"unknown op {op!r}")


def main() -> int:
    state = _State()
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            reply = _handle(state, msg)
        except Exception as error:  # report to the parent rather than die silently
            reply = {"error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if msg.get("op") == "stop":
            break
    os._exit(0)  # leave daemon server threads behind without waiting for them


if __name__ == "__main__":
    sys.exit(main())
