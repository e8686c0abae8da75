"""#6: ``ckpt verify`` (re-hash every checkpoint) against coreutils ``md5sum`` of the same files."""

from __future__ import annotations

import os

from benchmarks.fixtures import Bench
from benchmarks.harness import (
    CKPT,
    Measure,
    Result,
    fmt_ratio,
    fmt_size,
    paired_ratio,
    rounds,
    timed,
)


def bench_verify(bench: Bench) -> Result:
    s = bench.scale
    project = bench.published()
    root, env = project.root, project.env
    files = sorted(str(p) for p in (root / "ckpts").rglob("*.ckpt"))
    result = Result(
        6, f"`ckpt verify` of {s.ckpt_count} x {fmt_size(s.ckpt_size)}",
        "single-core `md5sum` of the same files",
    )  # fmt: skip
    ours = [CKPT, "-q", "verify"]
    md5sum = ["md5sum", *files]
    cases = {
        f"ckpt verify (default --jobs = {os.cpu_count()} cores)": lambda: timed(ours, root, env),
        "md5sum (coreutils, one core)": lambda: timed(md5sum, root, env),
        "ckpt verify --jobs 1 (one core)": lambda: timed([*ours, "--jobs", "1"], root, env),
    }
    for case in cases.values():  # the files into the page cache, for every contender alike
        case()
    result.measures = [Measure(k, v) for k, v in rounds(cases, s.runs + 2).items()]
    mine, theirs, one_core = result.measures
    ratio = paired_ratio(theirs, mine)
    theirs.note = f"ours is {fmt_ratio(ratio)} faster"
    one_core.note = f"{fmt_ratio(paired_ratio(one_core, mine))} the time of both cores"
    result.target(f">= 1.7x faster than md5sum ({os.cpu_count()} cores)", fmt_ratio(ratio),
                  ratio >= 1.7)  # fmt: skip
    result.notes.append(
        "Files in the page cache (each contender ran once untimed first), so this measures "
        "hashing, not the disk. Both include process start-up (ckpt: ~0.1 s of Python imports)."
    )
    return result
