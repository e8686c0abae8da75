"""#7: how the cost of a cold pull grows with the number of objects (and snapshot_download's, as a
reference curve on the same plot)."""

from __future__ import annotations

import itertools
import shutil

from benchmarks.fixtures import Bench
from benchmarks.harness import Measure, Result, fmt_size, fmt_time, rounds
from benchmarks.transfer import cold_pull_cases

# 10x the objects may cost at most this much more than 10x the time ("near-linear").
SLACK = 1.25


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
    result = Result(
        7, f"scaling: pull of {', '.join(f'{n:,}' for n in counts)} objects "
        f"({fmt_size(s.scaling_size)} each)",
        "itself (snapshot_download of the same repo, for reference)",
    )  # fmt: skip
    ours_label, ref_label = "ckpt pull", "snapshot_download"
    series: dict[str, dict[int, float]] = {ours_label: {}, ref_label: {}}
    for n in counts:
        files = {f"objs/obj_{i:04d}.bin": s.scaling_size for i in range(n)}
        names = {f"obj_{i}": f"ckpts/{rel}" for i, rel in enumerate(files)}
        project = bench.project(f"scale{n}", files, names)
        ours, _, snapshot = cold_pull_cases(bench, project)
        samples = rounds({ours_label: ours, ref_label: snapshot}, s.runs)
        shutil.rmtree(project.root, ignore_errors=True)
        for label, values in samples.items():
            m = Measure(f"{label}, {n:,} object(s)", values)
            m.note = f"{fmt_time(m.median / n)} per object"
            series[label][n] = m.median
            result.measures.append(m)
    result.series = series
    ours = series[ours_label]
    steps = list(itertools.pairwise(counts))
    worst = max((ours[b] / ours[a]) / (b / a) for a, b in steps) if steps else 0.0
    result.target(
        f"near-linear: each step's time ratio <= {SLACK}x its object ratio",
        f"worst step {worst:.2f}x of linear",
        worst <= SLACK,
    )
    for label, points in series.items():
        fixed, per = linear_fit(points)
        result.notes.append(
            f"{label}: fit time = {fmt_time(max(fixed, 0))} + {fmt_time(per)} x objects "
            "(the per-object overhead)"
        )
    result.notes.append(
        "Every pull runs in a fresh clone with an empty cache, in a fresh process; all objects "
        "are in one DVC-tracked directory and in the registry (one name each)."
    )
    return result
