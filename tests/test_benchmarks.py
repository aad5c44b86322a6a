"""Smoke test of the benchmark harness (benchmarks/run.py): it runs, and it produces figures.

Runs the smallest ``--quick`` case (requests per poll cycle, one channel) in a subprocess, as a
user would. No timing is asserted: the machines are shared and noisy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_requests_case_produces_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--only",
            "requests",
            "--channels",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1. Requests per poll cycle" in proc.stdout
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
