"""Benchmarks: our driver side by side with reolink-aio and the floor, against the emulator.

    python benchmarks/run.py [--quick] [--only requests,cpu,latency,scale,snapshot,startup]
                             [--channels 1,8] [--rounds N] [--json FILE]

Emulators run in child processes (benchmarks/_emuproc.py); every client being measured runs
in this process (the scale benchmark's in fresh children of their own: ours, then
reolink-aio, alternated ``--rounds`` times against one fleet). Figures are ratios against
clients measured in the same run, because the machines are shared and noisy. Prints a table of
medians [min-max] per benchmark and a list of missed targets; ``--json`` writes raw figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_latency
import bench_poll
import bench_scale
import bench_snapshot

ALL = ("requests", "cpu", "latency", "scale", "snapshot", "startup")


def _sizes(arg: Optional[str], default: List[int]) -> List[int]:
    return [int(x) for x in arg.split(",")] if arg else default


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (< 2 minutes)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--channels", help="channel counts for requests/cpu, e.g. 1,8")
    parser.add_argument("--devices", help="device counts for scale, e.g. 10,100")
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds per mode of the CPU benchmark (default: 3 with --quick, else 5); "
        "ours/reolink-aio alternations of the scale benchmark (default: 1 with --quick, else 2)",
    )
    parser.add_argument("--json", metavar="FILE", help="write the raw figures here")
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else list(ALL)
    unknown = set(only) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be 1 or more, got {args.rounds}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("reolink_aio").setLevel(logging.ERROR)
    quick = args.quick
    with_aio = bench_poll.available()
    raw: Dict[str, Any] = {
        "quick": quick,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "reolink_aio": with_aio,
    }
    texts: List[str] = []
    misses: List[str] = []
    started = time.monotonic()

    def emit(text: str, missed: List[str]) -> None:
        texts.append(text)
        misses.extend(missed)
        print(text + "\n", flush=True)

    print(
        f"reolink benchmarks ({'quick' if quick else 'full'}), Python {raw['python']}, "
        f"{raw['cpus']} CPUs, reolink-aio {'yes' if with_aio else 'NOT INSTALLED'}\n",
        flush=True,
    )
    if "requests" in only:
        sizes = _sizes(args.channels, [1, 4, 8, 16, 32, 64])
        cycles = 5 if quick else 20
        res = bench_poll.requests_per_cycle(sizes, cycles, with_aio)
        raw["requests"] = res
        emit(*bench_poll.report_requests(res, cycles))
    if "cpu" in only:
        sizes = _sizes(args.channels, [1, 8, 16, 32, 64])
        rounds, seconds = (3, 0.2) if quick else (5, 0.5)
        rounds = args.rounds or rounds
        res = bench_poll.cpu_per_cycle(sizes, rounds, seconds, with_aio)
        raw["cpu"] = res
        emit(*bench_poll.report_cpu(res))
    if "latency" in only:
        events, interval, devices = (40, 500, 8) if quick else (200, 2000, 25)
        lat = bench_latency.latency(events, interval, devices)
        raw["latency"] = lat
        text, missed = bench_latency.report(lat)
        if quick:
            text += "\n   (quick: 40 events at 500 ms; the full run uses 200 events at 2000 ms)"
        emit(text, missed)
    if "scale" in only:
        sizes = _sizes(args.devices, [10, 100] if quick else [10, 100, 500])
        warmup, seconds = (3.0, 10.0) if quick else (6.0, 60.0)
        rounds = args.rounds or (1 if quick else 2)
        res = bench_scale.scale(sizes, 2000, warmup, seconds, rounds, with_aio)
        raw["scale"] = res
        emit(*bench_scale.report(res, 2000, seconds))
    if "snapshot" in only:
        rounds, per_round = (3, 10) if quick else (5, 30)
        snap = bench_snapshot.snapshot(rounds, per_round, with_aio)
        raw["snapshot"] = snap
        emit(*bench_snapshot.report_snapshot(snap))
    if "startup" in only:
        start = bench_snapshot.startup(3 if quick else 7, with_aio)
        raw["startup"] = start
        emit(bench_snapshot.report_startup(start), [])
    elapsed = time.monotonic() - started
    raw["elapsed_s"] = elapsed
    raw["misses"] = misses
    print(f"Targets missed: {len(misses)}")
    for miss in misses:
        print(f"  - {miss}")
    print(f"(finished in {elapsed:.0f} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(raw, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
