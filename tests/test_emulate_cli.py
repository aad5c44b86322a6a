"""``reolink emulate`` for an operator (issue 18), through the installed ``reolink`` command
(the clients, and a refusal before anything starts, run the command line in-process).

* ``-v`` logs each request on stderr: the client's address, the commands, Login attempts with
  their outcome, the status; never the password or a token;
* ``--channels`` sizes the nvr and hub profiles and is refused (exit 2, one line) by the
  single-camera profiles instead of being ignored.
"""

from __future__ import annotations

import re
import signal
import subprocess

from conftest import CLI_TIMEOUT, ROOT, reolink_cmd, run_cli_inprocess

PASSWORD = "Emu-pw-903"


def test_emulate_verbose_logs_each_request_with_address_and_login_outcome() -> None:
    proc = subprocess.Popen(
        reolink_cmd("emulate", "-v", "--password", PASSWORD),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        port = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", proc.stdout.readline())
        assert port, "no listening line"
        proc.stdout.readline()
        for password in (PASSWORD, "Wrong-pw-1"):  # the clients: the command line in-process
            run_cli_inprocess("get_motion", "0", port=int(port.group(1)), password=password)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    lines = err.splitlines()
    remote = r"127\.0\.0\.1:\d+"
    assert any(re.search(rf"{remote} POST Login \(login attempt: ok\) -> 200$", x) for x in lines)
    assert any(
        re.search(rf"{remote} POST Login \(login attempt: refused rspCode -7\) -> 200$", x)
        for x in lines
    ), lines
    assert any(re.search(rf"{remote} POST GetMdState -> 200$", x) for x in lines), lines
    assert any(re.search(rf"{remote} POST Logout -> 200$", x) for x in lines), lines
    assert PASSWORD not in err and "Wrong-pw-1" not in err and "token" not in err.lower()


def test_emulate_channels_is_refused_by_a_single_camera_profile() -> None:
    result = run_cli_inprocess("emulate", "--profile", "camera", "--channels", "4")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "reolink emulate: --channels 4: the camera profile is a single-channel camera "
        "(1 channel); --channels sizes the nvr and hub profiles"
    ]


def test_emulate_channels_sizes_the_hub() -> None:
    proc = subprocess.Popen(
        reolink_cmd("emulate", "--profile", "hub", "--channels", "2"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        second = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=CLI_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "profile hub" in second and "2 channel(s)" in second
