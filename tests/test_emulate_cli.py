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
import sys
from typing import List

from conftest import CLI_TIMEOUT, ROOT, reaped, reolink_cmd, run_cli_inprocess

PASSWORD = "Emu-pw-903"


def _start(argv: List[str]) -> subprocess.Popen[str]:
    """``argv`` started from the project's root, stdout and stderr as text pipes."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_emulate_verbose_logs_each_request_with_address_and_login_outcome() -> None:
    proc = _start(reolink_cmd("emulate", "-v", "--password", PASSWORD))
    with reaped(proc):
        assert proc.stdout is not None
        port = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", proc.stdout.readline())
        assert port, "no listening line"
        proc.stdout.readline()
        for password in (PASSWORD, "Wrong-pw-1"):  # the clients: the command line in-process
            run_cli_inprocess("get_motion", "0", port=int(port.group(1)), password=password)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
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
    proc = _start(reolink_cmd("emulate", "--profile", "hub", "--channels", "2"))
    with reaped(proc):
        assert proc.stdout is not None
        proc.stdout.readline()
        second = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=CLI_TIMEOUT)
    assert "profile hub" in second and "2 channel(s)" in second


#: ``reolink emulate`` in-process, with SIGTERM raised in its main thread at the first moment,
#: after both lines are out, that the serve loop waits: just as it has taken a lock (the
#: ``threading`` module's ``__enter__`` returns) or as it calls ``sleep``. The handler runs
#: right there. A stop that does not come gives up after 30 s with every thread's stack.
SIGTERM_IN_THE_WAIT = """
import builtins, faulthandler, signal, sys, threading
from reolink.cli import main

faulthandler.dump_traceback_later(30, exit=True)
lines = []
builtin_print = builtins.print

def counting_print(*args, **kwargs):
    builtin_print(*args, **kwargs)
    lines.append(args)

def profile(frame, event, arg):
    if len(lines) < 2 or threading.current_thread() is not threading.main_thread():
        return
    took_a_lock = (
        event == "return" and frame.f_code.co_name == "__enter__"
        and frame.f_code.co_filename == threading.__file__
    )
    if took_a_lock or (event == "c_call" and getattr(arg, "__name__", "") == "sleep"):
        sys.setprofile(None)
        signal.raise_signal(signal.SIGTERM)

builtins.print = counting_print
sys.setprofile(profile)
sys.exit(main(["emulate", "--profile", "hub", "--channels", "2"]))
"""


def test_emulate_stops_on_sigterm_that_arrives_inside_its_wait() -> None:
    """The handler used to set an Event the main thread was waiting on: run while that wait
    held the Event's lock, set() waited for the lock forever (a SIGTERM hang under load)."""
    proc = _start([sys.executable, "-c", SIGTERM_IN_THE_WAIT])
    with reaped(proc):
        out, err = proc.communicate(timeout=CLI_TIMEOUT)
    assert proc.returncode == 0, err
    assert err == ""
    assert out.startswith("listening on ") and "profile hub" in out
