"""Emulator extras: decodable JPEG snapshots, scripted events on a fake clock, HTTPS, the CLI.

Pillow is a test-only dependency here (it decodes the emulator's hand-made JPEGs).
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import urllib.request
from typing import Any, Dict, List

import pytest
from conftest import FakeClock
from PIL import Image

from reolink.emulator import Emulator
from reolink.emulator.jpeg import encode_jpeg, sample_picture


def app_json(emu: Emulator, target: str, body: Any) -> List[Dict[str, Any]]:
    _s, _h, raw = emu.app("POST", target, {}, json.dumps(body).encode())
    result: List[Dict[str, Any]] = json.loads(raw)
    return result


def token_of(emu: Emulator) -> str:
    body = [{"cmd": "Login", "param": {"User": {"userName": "admin", "password": "admin123"}}}]
    return str(
        app_json(emu, "/cgi-bin/api.cgi?cmd=Login&token=null", body)[0]["value"]["Token"]["name"]
    )


def md_state(emu: Emulator, token: str, channel: int) -> Dict[str, Any]:
    body = [{"cmd": "GetEvents", "action": 0, "param": {"channel": channel}}]
    value: Dict[str, Any] = app_json(emu, f"/cgi-bin/api.cgi?token={token}", body)[0]["value"]
    return value


# ---------------------------------------------------------------------- JPEG
def test_encoder_output_decodes_to_the_picture() -> None:
    pixels = sample_picture(3, 64, 40)
    img = Image.open(io.BytesIO(encode_jpeg(pixels)))
    img.load()
    assert img.size == (64, 40) and img.format == "JPEG"
    for x, y in ((0, 0), (33, 10), (63, 39)):
        assert all(abs(a - b) <= 12 for a, b in zip(img.getpixel((x, y)), pixels[y][x]))


def test_snap_per_channel_jpeg_and_padding_to_size() -> None:
    emu = Emulator(profile="nvr", snapshot_size=200_000)
    token = token_of(emu)
    images = []
    for ch in (0, 1):
        status, headers, raw = emu.app(
            "GET", f"/cgi-bin/api.cgi?cmd=Snap&channel={ch}&rs=a1&token={token}", {}, None
        )
        assert status == 200 and headers["Content-Type"] == "image/jpeg" and len(raw) == 200_000
        img = Image.open(io.BytesIO(raw))
        img.load()
        images.append(img.getpixel((200, 20)))
    assert images[0] != images[1]
    _s, headers, raw = emu.app(
        "GET", f"/cgi-bin/api.cgi?cmd=Snap&channel=5&token={token}", {}, None
    )
    assert headers["Content-Type"] == "text/html"
    assert json.loads(raw) == [
        {"cmd": "Snap", "code": 1, "error": {"detail": "rcv failed", "rspCode": -17}}
    ]


# ---------------------------------------------------------------------- events
def test_scripted_events_follow_the_clock(tmp_path: Any) -> None:
    clock = FakeClock(500.0)
    script = tmp_path / "events.json"
    script.write_text(
        json.dumps(
            [
                {"channel": 0, "kind": "people", "start": 5, "duration": 3},
                {"channel": 0, "kind": "motion", "start": 10, "duration": 1},
            ]
        )
    )
    with Emulator(clock=clock, events=str(script)) as emu:
        token = token_of(emu)
        emu.tick()
        assert md_state(emu, token, 0)["md"]["alarm_state"] == 0
        clock.now += 5.0
        emu.tick()
        value = md_state(emu, token, 0)
        assert value["ai"]["people"]["alarm_state"] == 1 and value["md"]["alarm_state"] == 1
        clock.now += 3.0
        emu.tick()
        assert md_state(emu, token, 0)["ai"]["people"]["alarm_state"] == 0
        clock.now += 2.0
        emu.tick()
        value = md_state(emu, token, 0)
        assert value["md"]["alarm_state"] == 1 and value["ai"]["people"]["alarm_state"] == 0
        clock.now += 1.0
        emu.tick()
        assert md_state(emu, token, 0)["md"]["alarm_state"] == 0


def test_random_events_fire_within_bounds() -> None:
    clock = FakeClock(500.0)
    with Emulator(profile="nvr", clock=clock, random_events=True) as emu:
        token = token_of(emu)
        clock.now += 8.01
        emu.tick()
        active = [
            ch
            for ch in (0, 1, 2, 3, 4, 6)
            if app_json(
                emu, f"/api.cgi?token={token}", [{"cmd": "GetMdState", "param": {"channel": ch}}]
            )[0]["value"]["state"]
        ]
        assert len(active) == 1
        clock.now += 5.01
        emu.tick()
        assert emu.position(1)["op"] is None  # events never move PTZ


def test_event_validation() -> None:
    with pytest.raises(ValueError):
        Emulator(events=[{"channel": 0, "kind": "motion", "start": -1, "duration": 1}])
    with pytest.raises(ValueError):
        Emulator(profile="unknown")


# ---------------------------------------------------------------------- HTTPS
def test_https_with_bundled_and_custom_certificates(tmp_path: Any) -> None:
    from tlshelp import make_ca, make_leaf
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    body = json.dumps(
        [{"cmd": "Login", "param": {"User": {"userName": "admin", "password": "admin123"}}}]
    )

    def fetch(emu: Emulator, ctx: ssl.SSLContext) -> Any:
        req = urllib.request.Request(
            emu.url + "/cgi-bin/api.cgi?cmd=Login&token=null", data=body.encode()
        )
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
            return json.loads(resp.read())[0]["code"]

    with Emulator(https=True) as emu:
        assert emu.url.startswith("https://") and fetch(emu, insecure) == 0
        bundled = ssl.DER_cert_to_PEM_cert(_peer_cert(emu))
    ca = make_ca()
    cert = make_leaf("127.0.0.1", rsa=False)
    cert_file, key_file = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    with Emulator(https=True, certfile=str(cert_file), keyfile=str(key_file)) as emu:
        trusting = ssl.create_default_context()
        ca.configure_trust(trusting)
        assert fetch(emu, trusting) == 0
        assert ssl.DER_cert_to_PEM_cert(_peer_cert(emu)) != bundled


def _peer_cert(emu: Emulator) -> bytes:
    import socket

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((emu.host, emu.port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


# ---------------------------------------------------------------------- CLI
def test_cli_prints_listening_line_and_exits_0_on_sigterm() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reolink.emulator",
            "--profile",
            "nvr",
            "--channels",
            "4",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, line
        body = json.dumps([{"cmd": "GetDevInfo"}]).encode()
        url = match.group(1) + "/cgi-bin/api.cgi?user=admin&password=admin123"
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=5) as resp:
            assert json.loads(resp.read())[0]["value"]["DevInfo"]["channelNum"] == 4
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
