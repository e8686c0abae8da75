"""What every benchmark shares: sizes, timing, subprocesses, results and the machine's description."""

from __future__ import annotations

import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYTHON = sys.executable
DVC = str(BIN / "dvc")
CKPT = str(BIN / "ckpt")
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Scale:
    """How much work each benchmark does; the targets are stated for ``full``."""

    name: str
    warm_size: int  # the checkpoint of #1 and #2
    ckpt_count: int  # the checkpoints of #3, #4, #6 and #8
    ckpt_size: int
    small_count: int  # the small objects of #4 and #5
    small_size: int
    scaling_counts: tuple[int, ...]  # #7
    scaling_size: int
    runs: int  # medians of this many runs for the slow paths
    proc_runs: int  # ... for process start-up (#2)
    calls: int  # in-process calls per timing of the warm path (#1)
    concurrency: int  # processes of #8
    link_rates: tuple[int, ...] = (100, 400)  # MB/s links of #3, besides loopback


SCALES = {
    "full": Scale("full", GiB, 4, 256 * MiB, 1000, 8 * KiB, (1, 10, 100, 1000), 256 * KiB,
                  runs=5, proc_runs=21, calls=20_000, concurrency=8),
    "quick": Scale("quick", 16 * MiB, 4, 4 * MiB, 100, 4 * KiB, (1, 10, 100), 64 * KiB,
                   runs=2, proc_runs=7, calls=5_000, concurrency=8),
    "smoke": Scale("smoke", 1 * MiB, 4, 256 * KiB, 10, 1 * KiB, (1, 2), 16 * KiB,
                   runs=1, proc_runs=2, calls=200, concurrency=3, link_rates=(400,)),
}  # fmt: skip


# --- results ----------------------------------------------------------------------------------


@dataclass
class Measure:
    """One contender's samples (seconds), in round order so that rounds pair across contenders."""

    label: str
    samples: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Target:
    text: str
    measured: str
    ok: bool


@dataclass
class Result:
    number: int
    path: str
    against: str
    measures: list[Measure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    series: dict[str, dict[int, float]] = field(default_factory=dict)  # for the plot (#7)

    def measure(self, label: str) -> Measure:
        return next(m for m in self.measures if m.label == label)

    def target(self, text: str, measured: str, ok: bool) -> None:
        self.targets.append(Target(text, measured, ok))


def paired_ratio(a: Measure, b: Measure) -> float:
    """Median over rounds of a/b: each round ran both side by side, so drift cancels."""
    return statistics.median(x / y for x, y in zip(a.samples, b.samples, strict=False) if y > 0)


def fmt_time(seconds: float) -> str:
    if seconds == math.inf:
        return "timed out"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.2f}x"


def fmt_size(size: int) -> str:
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= factor:
            value = size / factor
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"


# --- timing ----------------------------------------------------------------------------------


def rounds(cases: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Run every case once per round, rotating the order each round so that no contender always
    runs first (cold) or last; each case returns the seconds its timed part took."""
    names = list(cases)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            samples[name].append(cases[name]())
    return samples


def run(
    cmd: Sequence[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode} in {cwd}\n"
            f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        )
    return proc


def timed(
    cmd: Sequence[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 1800,
) -> float:
    """Wall seconds of one checked subprocess run, start-up included; ``subprocess.TimeoutExpired``
    (the process killed) past ``timeout``."""
    start = time.perf_counter()
    run(cmd, cwd=cwd, env=env, timeout=timeout)
    return time.perf_counter() - start


# --- the machine -------------------------------------------------------------------------------


def machine(work: Path) -> dict[str, Any]:
    """What the numbers were measured on."""
    from importlib.metadata import PackageNotFoundError, version

    def cpu_model() -> str:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or "unknown"

    def mem_gib() -> str:
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
        except OSError:
            pass
        return "unknown"

    def fs_type(path: Path) -> str:
        best, kind = "", "unknown"
        try:
            for line in Path("/proc/mounts").read_text().splitlines():
                _, mount, typ, *_ = line.split()
                if str(path).startswith(mount) and len(mount) > len(best):
                    best, kind = mount, typ
        except OSError:
            pass
        return kind

    def ver(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    md5sum = run(["md5sum", "--version"], check=False).stdout.splitlines()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory": mem_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "filesystem": f"{fs_type(work.resolve())} (work dir {work})",
        "packages": ", ".join(
            f"{d} {ver(d)}"
            for d in ("dvc", "huggingface_hub", "pooch", "zc.lockfile", "matplotlib")
        ),
        "md5sum": md5sum[0] if md5sum else "unknown",
    }
