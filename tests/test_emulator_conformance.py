"""reolink-aio (Home Assistant's client, which we did not write) against the emulator.

Where reolink-aio and the emulator disagree, the emulator is wrong unless the API digest says
otherwise. Hosts are built per /work/shared/reolink-aio-notes.md: a closed Baichuan port and
``ConnectionEnum.tcp`` so its port-9000 probe fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from typing import Any, Iterator

import pytest

from reolink.emulator import Emulator

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(sys.version_info < (3, 11), reason="reolink-aio needs Python >= 3.11"),
]

EXPECTED = {
    "camera": ("RLC-811A", 1, [0], ["Front Yard"]),
    "ptz": ("RLC-823A", 1, [0], ["Driveway PTZ"]),
    "nvr": (
        "RLN16-410",
        8,
        [0, 1, 2, 3, 4, 6],
        ["Front Door", "Driveway", "Garden", "Garage", "Camera 05", "Camera 07"],
    ),
}


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections, held for the block: bound, never listening
    (a port bound and let go could be taken meanwhile by another test or xdist worker)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


async def exercise(emu: Emulator, profile: str, bc_port: int) -> None:
    # Imported here, not at collection: reolink-aio brings aiohttp (a third of a second), and
    # under pytest-xdist every worker collects this module while one runs it. The test extra
    # installs it on Python >= 3.11.
    import reolink_aio.api as reolink_api
    import reolink_aio.enums as reolink_enums

    host = reolink_api.Host(
        emu.host,
        "admin",
        "admin123",
        port=emu.port,
        use_https=emu.https,
        bc_port=bc_port,
        bc_connection=reolink_enums.ConnectionEnum.tcp,
    )
    try:
        await host.get_host_data()
        model, count, channels, names = EXPECTED[profile]
        assert host.model == model
        assert host.num_channels == count
        assert host.channels == channels
        assert [host.camera_name(ch) for ch in channels] == names
        assert host.is_nvr is (profile == "nvr")
        assert emu.login_count == 1

        # Trigger motion everywhere and one AI type on every AI channel.
        triggered = {}
        for ch in channels:
            emu.set_motion(ch, True)
            types = host.ai_supported_types(ch)
            if types:
                triggered[ch] = types[-1]
                emu.set_ai(ch, types[-1], True)
        assert triggered, "some channel must support AI"
        await host.get_states()
        for ch in channels:
            assert host.motion_detected(ch), ch
            if ch in triggered:
                assert host.ai_detected(ch, triggered[ch]), (ch, triggered[ch])
        emu.clear()
        await host.get_motion_state_all_ch()
        assert not any(host.motion_detected(ch) for ch in channels)
        emu.set_ai(channels[0], triggered[channels[0]], True)  # AI implies motion
        await host.get_motion_state_all_ch()
        assert host.motion_detected(channels[0]) and host.ai_detected(
            channels[0], triggered[channels[0]]
        )

        image = await host.get_snapshot(channels[-1])
        assert image is not None and image[:2] == b"\xff\xd8" and image[-2:] == b"\xff\xd9"

        for ch in channels:
            if host.supported(ch, "pan_tilt"):
                assert host.ptz_presets(ch) == {"Gate": 1, "Driveway": 2, "Home": 3}
                before = emu.position(ch)["pan"]
                await host.set_ptz_command(ch, command="Right", speed=20)
                assert emu.position(ch)["op"] == "Right"
                await host.set_ptz_command(ch, command="Stop")
                assert emu.position(ch)["op"] is None and emu.position(ch)["pan"] >= before
                await host.set_ptz_command(ch, preset="Home")
                assert emu.position(ch)["pan"] == pytest.approx(900.0)
        if profile == "camera":
            # set_whiteled sleeps 3 s and set_siren now goes over Baichuan, so send the
            # JSON bodies through reolink-aio's own checked setter path instead.
            await host.send_setting(
                [{"cmd": "SetWhiteLed", "param": {"WhiteLed": {"channel": 0, "state": 1}}}]
            )
            assert emu.spotlight(0) and host.whiteled_state(0)
            siren = {"channel": 0, "alarm_mode": "manul", "manual_switch": 1}
            await host.send_setting([{"cmd": "AudioAlarmPlay", "action": 0, "param": siren}])
            assert emu.siren_on(0)
            await host.send_setting(
                [{"cmd": "AudioAlarmPlay", "action": 0, "param": dict(siren, manual_switch=0)}]
            )
            assert not emu.siren_on(0)
    finally:
        await host.logout()
    assert emu.sessions == []


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("profile", ["camera", "ptz", "nvr"])
def test_reolink_aio_against_emulator(profile: str, https: bool, caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger="reolink_aio")
    with Emulator(profile=profile, https=https) as emu:
        with closed_port() as bc_port:
            asyncio.run(exercise(emu, profile, bc_port))
        cmds = {c for r in emu.requests for c in r.cmds}
    assert {"Login", "GetDevInfo", "GetAbility", "Snap", "Logout"} <= cmds
    complaints = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("reolink_aio.api") and r.levelno >= logging.WARNING
    ]
    assert complaints == []
