"""Smoke test of the benchmark harness (benchmarks/run.py): it runs, and it produces figures.

Runs the smallest ``--quick`` cases (requests and CPU per poll cycle, one channel, one CPU
round per mode) in one subprocess, as a user would. No timing is asserted: the machines are
shared and noisy.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_quick_requests_and_cpu_cases_produce_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--only",
            "requests,cpu",
            "--channels",
            "1",
            "--rounds",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1. Requests per poll cycle" in proc.stdout
    assert "2. Client CPU per poll cycle" in proc.stdout
    raw = json.loads(out.read_text(encoding="utf-8"))
    (row,) = raw["requests"]
    assert row["channels"] == 1
    default = row["default"]
    # One AI channel: GetMdState + GetAiState, one request per cycle, no Login in between.
    assert default["commands"] == 2
    assert default["expected"] == 1
    assert default["ours"]["cycles"] >= 5
    assert default["ours"]["per_cycle"] == 1.0
    assert default["ours"]["logins"] == 0
    assert row["all_online"]["ours"]["requests"] > 0
    if raw["reolink_aio"]:
        # What reolink-aio really sent, from the emulator's log: GetMdState + GetAiState.
        assert default["aio"]["commands_per_cycle"] == 2
        assert default["aio"]["logins"] == 0
    (cpu,) = raw["cpu"]
    assert cpu["channels"] == 1 and cpu["online"] == 1
    assert set(cpu["modes"]) == {"same", "changes"}
    for mode in ("same", "changes"):
        for kind in ("ours", "stdlib", "memory", "memfloor", "floor"):
            per_cycle = cpu["modes"][mode]["samples"][kind]
            assert len(per_cycle) == 1 and per_cycle[0] > 0, (mode, kind)  # one round
    seen = cpu["changes_per_cycle"]
    # Replies that never change hand the host nothing; with churn every cycle changes the
    # channel's motion and AI attributes (the benchmark itself refuses fewer than one).
    assert all(value == 0 for value in seen["same"]["ours"])
    assert all(
        value >= 1 for kind in ("ours", "stdlib", "memory") for value in seen["changes"][kind]
    )


def test_the_scale_benchmark_stamps_poll_requests_and_finds_each_cycle_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The scale benchmark's clock on our side (one stamp per poll request, like reolink-aio's
    # one per cycle): requests that are no poll are not stamped, and a cycle's second request
    # (more than 35 commands) does not count as a cycle start.
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from _common import PollStamps, cycle_starts
    from _scale_client import lateness_of

    from reolink.transport import Request, Response

    class Inner:
        def send(self, request: Request) -> Response:
            return Response(status=200, headers={}, body=b"[]")

        def close(self) -> None:
            pass

    stamped = PollStamps(Inner())
    bodies = (b'[{"cmd": "GetMdState"}]', b'[{"cmd": "Login"}]', None, b'[{"cmd": "GetEvents"}]')
    for body in bodies:
        assert stamped.send(Request(method="POST", target="/", body=body)).body == b"[]"
    assert len(stamped.stamps) == 2
    stamps = [0.0, 0.01, 2.0, 2.001, 4.3, 6.0, 6.02]
    starts = cycle_starts(stamps, 2.0)
    assert starts == [0.0, 2.0, 4.3, 6.0]
    assert lateness_of(starts, 2.0) == pytest.approx([0.0, 0.3, 0.0])


def test_the_floor_posts_the_poll_bodies_not_a_setup_read_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The floors post "our steady-state bodies", taken from a recording of a driver polling
    # every 1 ms. The detection-setup read runs then too: one request per channel (with its
    # own GetEvents), each falling into some poll cycle once. A cycle's bodies are the poll's
    # only if they recur in the cycles before it; checked here for every cycle of a recording
    # that spans the whole read (a full run once took 25 commands for 16 channels, not 19).
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from _common import Fleet, Tap, cycles_of, make_driver, steady_bodies, wait_cycles
    from bench_poll import expected_commands

    channels = 16
    with Fleet([{"profile": "nvr", "channels": channels}]) as fleet:
        commands, status = expected_commands(fleet.call("profile", dev=0))
        taps: List[Tap] = []
        driver = make_driver(fleet.ports[0], channels, interval_ms=1, taps=taps)
        try:
            driver.connect()
            deadline = time.monotonic() + 30
            while "setup" not in driver.values()["device"]:  # the read has ended
                assert time.monotonic() < deadline, "no setup read within 30 s"
                wait_cycles(driver, cycles_of(driver) + 1, 10)
            wait_cycles(driver, cycles_of(driver) + 4, 10)
        finally:
            driver.disconnect()
    sent = [entry for entry in taps[0].sent if entry[0] >= 0]
    poll = commands + int(status)
    per_cycle: Dict[int, List[bytes]] = {}
    for cycle, _, _, body in sent:
        if body:
            per_cycle.setdefault(cycle, []).append(body)
    # From cycle 10 on (the probe takes cycle 19 or later; the first cycles hold the login
    # and the identification). The recording is worth checking only if one of them also
    # carried a setup part (the read went on for 40 cycles or more in every recording).
    checked = range(10, max(per_cycle) + 1)
    assert any(sum(body.count(b'"cmd"') for body in per_cycle.get(c, [])) > poll for c in checked)
    for cycle in checked:
        bodies = steady_bodies(sent, cycle)
        assert sum(body.count(b'"cmd"') for body in bodies) == poll, cycle


def test_side_by_side_reads_the_figures_profile_scale_prints(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # benchmarks/side_by_side.py compares trees by what profile_scale.py --segments prints:
    # a change of that output must not leave it reading nothing (or the wrong line).
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import profile_scale
    from side_by_side import figures, main

    printed = (
        "500 devices (500 online) x 8 channels, urllib3, 20 s window: 5002 cycles\n"
        "per cycle of one device: CPU 324 us (user 254, system 70); context switches 2.03\n"
        "\ndevice threads' CPU per cycle by step (thread CPU clock, 5002 cycles):\n"
        "  transport send + reply wait                  136.2 us\n"
        "  core turn: Tick                               51.0 us\n"
        "  core turn: Replied                            50.2 us\n"
        "  timer wait (next event, less the send)        36.4 us\n"
        "  snapshot publication                           8.9 us\n"
    )
    assert figures(printed) == {
        "cpu": 324.0, "send": 136.2, "tick": 51.0, "replied": 50.2, "timer": 36.4
    }
    assert figures("profile_scale: error") == {}
    # The names it looks for are the ones profile_scale's --segments report uses.
    source = Path(profile_scale.__file__).read_text(encoding="utf-8")
    for name in ("transport send + reply wait", "timer wait (next event, less the send)",
                 "per cycle of one device: CPU"):
        assert name in source
    # A directory that is no checkout is refused before anything runs.
    with pytest.raises(SystemExit):
        main([str(tmp_path)])


def test_the_scale_benchmark_swaps_which_client_goes_first_each_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each round's ours/aio ratio comes from two runs one after the other. Were ours always
    # first, a machine that drifts slower (or faster) over a run would tilt every round's
    # ratio the same way; swapping the order each round puts the drift on either side.
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import bench_scale

    class NoFleet:
        def __init__(self, specs: List[Dict[str, object]], front: str) -> None:
            self.ports = list(range(len(specs)))

        def close(self) -> None:
            pass

    order: List[str] = []

    def client_run(client: str, *args: object) -> Dict[str, object]:
        order.append(client)
        return {"client": client}

    monkeypatch.setattr(bench_scale, "Fleet", NoFleet)
    monkeypatch.setattr(bench_scale, "_client_run", client_run)
    (result,) = bench_scale.scale([3], 2000, 0.0, 1.0, rounds=4, with_aio=True)
    assert order == ["ours", "aio", "aio", "ours", "ours", "aio", "aio", "ours"]
    # Each round's pair is still ours against aio of the same round.
    assert [r["round"] for r in result["ours"]] == [0, 1, 2, 3]
    assert [r["client"] for r in result["aio"]] == ["aio"] * 4
    assert [r["round"] for r in result["aio"]] == [0, 1, 2, 3]
    # Without reolink-aio, only ours runs.
    order.clear()
    bench_scale.scale([3], 2000, 0.0, 1.0, rounds=2, with_aio=False)
    assert order == ["ours", "ours"]


def _usage_and_arguments(path: Path) -> Tuple[str, Dict[str, object]]:
    """A benchmark script's usage block (its docstring's lines from ``python benchmarks/...``
    to the first blank line) and its argparse flags, each with its ``choices`` (None: any)."""
    tree = ast.parse(path.read_text())
    doc = ast.get_docstring(tree) or ""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("python benchmarks/"))
    usage = []
    for line in lines[start:]:
        if not line.strip():
            break
        usage.append(line)
    arguments: Dict[str, object] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            choices = next((k.value for k in node.keywords if k.arg == "choices"), None)
            arguments[str(node.args[0].value)] = (
                None if choices is None else set(ast.literal_eval(choices))
            )
    return "\n".join(usage), arguments


_SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if "argparse" in p.read_text())


@pytest.mark.parametrize("script", _SCRIPTS)
def test_a_benchmarks_usage_names_only_flags_and_values_it_takes(script: str) -> None:
    usage, arguments = _usage_and_arguments(ROOT / "benchmarks" / script)
    assert usage, f"{script}: no usage line"
    for flag, values in re.findall(r"\[(--[a-z][a-z-]*)(?: ([^\]\s]+))?", usage):
        assert flag in arguments, f"{script}: the usage names {flag}, which it does not take"
        if "|" in values:
            allowed = arguments[flag]
            assert allowed is not None, f"{script}: {flag} takes any value, the usage lists some"
            assert set(values.split("|")) <= allowed, (script, flag, values, allowed)


def test_a_figure_next_to_its_verdict_has_the_decimals_that_tell_it_from_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from _report import against

    assert against(1.2027, 1.2, 2) == "1.203"  # not "1.20", which reads as within 1.2
    assert against(0.3504, 0.35, 2) == "0.3504"
    assert against(525.04, 525, 0) == "525.04"
    assert against(1.1996, 1.2, 2) == "1.1996"
    assert against(1.25, 1.2, 2) == "1.25"  # apart already: as many decimals as asked
    assert against(1.2, 1.2, 2) == "1.20"  # equal: nothing to tell apart
    assert against(float("nan"), 1.2, 2) == "-"


def test_the_snapshot_report_never_shows_a_miss_as_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from bench_snapshot import report_snapshot

    def stats(median: float) -> Dict[str, float]:
        return {"median": median, "min": median, "max": median, "n": 5}

    result = {
        "image_bytes": 200_000,
        "summary": {"ours": stats(1.2027e-3), "floor": stats(1e-3), "aio": {"n": 0}},
        "peak_bytes": {"ours": 540_000.0, "floor": 600_000.0},
    }
    text, misses = report_snapshot(result)
    assert "ours/floor CPU 1.203 (<= 1.2: MISS)" in text
    assert misses == ["snapshot CPU ours/floor 1.203 > 1.2"]


def test_a_spread_judged_against_a_limit_shows_its_median_as_against_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from _report import spread

    stats = {"median": 0.3504, "min": 0.33, "max": 0.38, "n": 4}
    assert spread(stats, 2) == "0.35 [0.33-0.38]"
    assert spread(stats, 2, limit=0.35) == "0.3504 [0.33-0.38]"
