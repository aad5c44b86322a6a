"""Source trees compared at scale in the same window (issue 19).

    python benchmarks/side_by_side.py TREE [TREE ...] [--devices 500] [--rounds 3]
                                      [--seconds 20]

On the 2-CPU machine the CPU per poll cycle at scale drifts by up to 70 us between runs a few
minutes apart, more than most changes save: trees measured one after the other cannot be
told apart. Here each round starts one ``profile_scale.py --segments`` per tree at the same
moment (the tree's own script, ``PYTHONPATH`` set to the tree), each with its own fleet of
``devices / len(trees)`` devices, so that every tree runs in the same window and shares its
drift; the start order rotates from round to round. A TREE is a checkout (``git worktree
add``); the same tree given twice measures the method's own spread.

Prints, per round and tree, the CPU per poll cycle of one device and the steps that
``--segments`` splits it into; then, round by round, each tree's difference to the first.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

#: What is read from profile_scale's output: the figure's name, and a pattern for it.
FIGURES = {
    "cpu": re.compile(r"per cycle of one device: CPU (\d+) us"),
    "send": re.compile(r"transport send \+ reply wait\s+([\d.]+) us"),
    "tick": re.compile(r"core turn: Tick\s+([\d.]+) us"),
    "replied": re.compile(r"core turn: Replied\s+([\d.]+) us"),
    "timer": re.compile(r"timer wait \(next event, less the send\)\s+(-?[\d.]+) us"),
}


def figures(output: str) -> Dict[str, float]:
    """The figures profile_scale printed (a figure it did not print is left out)."""
    found = {}
    for name, pattern in FIGURES.items():
        match = pattern.search(output)
        if match is not None:
            found[name] = float(match.group(1))
    return found


def _run_round(
    trees: Sequence[Path], devices: int, seconds: float, timeout: float
) -> List[Optional[Dict[str, float]]]:
    """One profile_scale per tree, all started at once; their figures, in the given order."""
    procs = []
    for tree in trees:
        env = dict(os.environ, PYTHONPATH=str(tree))
        procs.append(subprocess.Popen(
            [sys.executable, "profile_scale.py", "--devices", str(devices),
             "--seconds", str(seconds), "--segments"],
            cwd=tree / "benchmarks", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        ))
    results: List[Optional[Dict[str, float]]] = []
    for tree, proc in zip(trees, procs):
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        found = figures(output)
        if proc.returncode != 0 or "cpu" not in found:
            print(f"  {tree}: profile_scale failed (exit {proc.returncode}); its last lines:")
            print("    " + "\n    ".join(output.strip().splitlines()[-5:]))
            results.append(None)
        else:
            results.append(found)
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="+", type=Path, metavar="TREE")
    parser.add_argument("--devices", type=int, default=500, help="in all, shared by the trees")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    trees = [tree.resolve() for tree in args.trees]
    for tree in trees:
        if not (tree / "benchmarks" / "profile_scale.py").is_file():
            parser.error(f"{tree} is not a checkout of this project (no profile_scale.py)")
    per_tree = max(1, args.devices // len(trees))
    labels = [f"{i}:{tree.name}" for i, tree in enumerate(trees)]
    print(f"{len(trees)} trees at once, {per_tree} devices x 8 channels each, "
          f"{args.seconds:.0f} s window, {args.rounds} rounds (us per poll cycle of one device)")
    rows: List[Dict[str, Optional[Dict[str, float]]]] = []
    indices = list(range(len(trees)))
    for round_ in range(args.rounds):
        shift = round_ % len(trees)
        order = indices[shift:] + indices[:shift]
        got = _run_round([trees[i] for i in order], per_tree, args.seconds,
                         timeout=args.seconds + 240)
        row = {labels[i]: result for i, result in zip(order, got)}
        rows.append(row)
        for label in labels:
            result = row[label]
            shown = "failed" if result is None else "  ".join(
                f"{name} {value:.0f}" for name, value in result.items())
            print(f"round {round_ + 1}  {label:>12}  {shown}")
    base = labels[0]
    print(f"\ndifference to {base}, round by round (negative: cheaper), and the median:")
    for label in labels[1:]:
        pairs = [(row[label], row[base]) for row in rows]
        for name in FIGURES:
            deltas = [
                ours[name] - theirs[name]
                for ours, theirs in pairs
                if ours is not None and theirs is not None and name in ours and name in theirs
            ]
            if deltas:
                shown = ", ".join(f"{d:+.0f}" for d in deltas)
                print(f"  {label:>12}  {name:8} {shown}  (median {statistics.median(deltas):+.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
