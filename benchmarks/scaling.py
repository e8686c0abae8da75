"""#7: how the cost of a cold pull grows with the number of objects, for ``ckpt pull`` (one registry
name per object), ``dvc pull`` (the tracked directory) and snapshot_download (reference curves)."""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess
from collections.abc import Callable

from benchmarks.fixtures import Bench
from benchmarks.harness import Measure, Result, fmt_size, fmt_time, rounds
from benchmarks.transfer import cold_pull_cases

# 10x the objects may cost at most this much more than 10x the time ("near-linear").
SLACK = 1.25
TIMEOUT = {"full": 60.0, "quick": 30.0, "smoke": 30.0}


def linear_fit(points: dict[int, float]) -> tuple[float, float]:
    """Least-squares (fixed seconds, seconds per object) of time = a + b * n."""
    n = len(points)
    xs, ys = list(points), list(points.values())
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return my - b * mx, b


def bench_scaling(bench: Bench) -> Result:
    s = bench.scale
    counts = s.scaling_counts
    timeout = TIMEOUT[s.name]
    runs = max(1, s.runs - 2)
    result = Result(
        7, f"scaling: pull of {', '.join(f'{n:,}' for n in counts)} objects "
        f"({fmt_size(s.scaling_size)} each)",
        "itself (dvc pull and snapshot_download of the same repo, for reference)",
    )  # fmt: skip
    labels = ("ckpt pull (one name per object)", "dvc pull (the directory)", "snapshot_download")
    series: dict[str, dict[int, float]] = {label: {} for label in labels}
    timed_out: set[str] = set()

    def guarded(label: str, case: Callable[[], float]) -> Callable[[], float]:
        # A contender that timed out at n objects is not run again, at n or above.
        def go() -> float:
            if label in timed_out:
                return math.inf
            try:
                return case()
            except subprocess.TimeoutExpired:
                timed_out.add(label)
                return math.inf

        return go

    for n in counts:
        files = {f"objs/obj_{i:04d}.bin": s.scaling_size for i in range(n)}
        names = {f"obj_{i}": f"ckpts/{rel}" for i, rel in enumerate(files)}
        project = bench.project(f"scale{n}", files, names)
        cases = cold_pull_cases(bench, project, timeout)
        samples = rounds({k: guarded(k, c) for k, c in zip(labels, cases, strict=True)}, runs)
        shutil.rmtree(project.root, ignore_errors=True)
        for label, values in samples.items():
            m = Measure(f"{label}, {n:,} object(s)", values)
            timed_out_here = m.median == math.inf
            m.note = (
                f"killed after {timeout:.0f} s"
                if timed_out_here
                else (f"{fmt_time(m.median / n)} per object")
            )
            series[label][n] = m.median
            result.measures.append(m)
    result.series = series
    ours = series[labels[0]]
    steps = list(itertools.pairwise(counts))
    ratios = [(ours[b] / ours[a]) / (b / a) for a, b in steps]
    worst = max(ratios, default=0.0)
    measured = "a pull timed out" if worst == math.inf else f"worst step {worst:.2f}x of linear"
    result.target(
        f"near-linear: each step's time ratio <= {SLACK}x its object ratio",
        measured,
        worst <= SLACK,
    )
    for label, all_points in series.items():
        points = {n: t for n, t in all_points.items() if t < math.inf}
        if len(points) >= 2:
            fixed, per = linear_fit(points)
            result.notes.append(
                f"{label}: fit time = {fmt_time(max(fixed, 0))} + {fmt_time(per)} x objects "
                f"(per-object overhead), over {', '.join(f'{n:,}' for n in points)} objects"
            )
    result.notes.append(
        f"Every pull runs in a fresh clone with an empty cache, in a fresh process; {runs} rounds "
        "per size, medians. All objects are in the one DVC-tracked directory."
    )
    return result
