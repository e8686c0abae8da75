"""``python -m benchmarks.run [--quick] [--only N,...]``: run the suite, print PASS/FAIL per target,
write BENCHMARKS.md and the scaling plot.

A full run of every benchmark (the default) writes ``BENCHMARKS.md`` at the repository root and
``benchmarks/scaling.png``; quick, smoke and ``--only`` runs write under ``benchmarks/.work/``
unless ``--out`` says where, so they never overwrite the published figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

# Read by huggingface_hub when it is imported (by pooch's and hf's contenders, in this process).
os.environ.update(
    HF_HUB_DISABLE_XET="1",
    HF_HUB_DISABLE_TELEMETRY="1",
    HF_HUB_DISABLE_PROGRESS_BARS="1",
    DVC_NO_ANALYTICS="1",
)
os.environ.pop("CKPT_REPO", None)
os.environ.pop("SKIP_CHECKPOINT_DOWNLOAD", None)

from benchmarks import report
from benchmarks.fixtures import Bench
from benchmarks.harness import REPO, SCALES, Result, Target, machine

TITLES = {
    1: "warm get_checkpoint, in-process",
    2: "warm get_checkpoint, fresh process",
    3: "cold pull from the Hub",
    4: "push",
    5: "dvc status -c",
    6: "ckpt verify",
    7: "scaling of a pull",
    8: "concurrent first use",
}


def _cases() -> dict[int, Callable[[Bench], Result]]:
    from benchmarks import scaling, transfer, verify, warm

    def warm_state(bench: Bench) -> warm.Warm:
        return bench.shared("warm", lambda: warm.Warm(bench))

    return {
        1: lambda b: warm.bench_warm_inprocess(b, warm_state(b)),
        2: lambda b: warm.bench_warm_process(b, warm_state(b)),
        3: transfer.bench_cold_pull,
        4: transfer.bench_push,
        5: transfer.bench_status,
        6: verify.bench_verify,
        7: scaling.bench_scaling,
        8: transfer.bench_concurrent,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, well under a minute")
    parser.add_argument("--scale", choices=sorted(SCALES), help="full (default), quick or smoke")
    parser.add_argument("--only", help="comma-separated benchmark numbers, e.g. 1,3")
    parser.add_argument("--out", type=Path, help="directory for BENCHMARKS.md and scaling.png")
    parser.add_argument("--work", type=Path, help="work directory (default benchmarks/.work/)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any target fails")
    args = parser.parse_args(argv)
    args.scale = args.scale or ("quick" if args.quick else "full")
    try:
        args.only = sorted({int(n) for n in args.only.split(",")}) if args.only else list(TITLES)
    except ValueError:
        parser.error(f"--only takes benchmark numbers like 1,3 (1-{len(TITLES)})")
    if unknown := [n for n in args.only if n not in TITLES]:
        parser.error(f"no benchmark {unknown}; there are 1-{len(TITLES)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    scale = SCALES[args.scale]
    partial = args.only != list(TITLES)
    if args.out is None and (args.scale != "full" or partial):  # never clobber the full report
        suffix = "-partial" if partial else ""
        args.out = REPO / "benchmarks" / ".work" / f"report-{args.scale}{suffix}"
    out_md = (args.out or REPO) / "BENCHMARKS.md"
    out_png = (args.out or REPO / "benchmarks") / "scaling.png"
    work = args.work or REPO / "benchmarks" / ".work" / f"run-{os.getpid()}"
    command = "python -m benchmarks.run" + (
        f" --scale {args.scale}" if args.scale != "full" else ""
    )
    if partial:
        command += f" --only {','.join(map(str, args.only))}"
    cases = _cases()
    results: list[Result] = []
    started = time.monotonic()
    print(f"benchmarks: scale {args.scale}, work dir {work}", flush=True)
    try:
        with Bench(work, scale) as bench:
            os.environ["HF_HOME"] = str(bench.path("hf-home"))
            for number in args.only:
                t0, load0 = time.monotonic(), os.getloadavg()[0]
                try:
                    result = cases[number](bench)
                except Exception as exc:
                    traceback.print_exc()
                    result = Result(number, TITLES[number], "-")
                    result.targets.append(
                        Target("the benchmark runs", f"error: {exc!r}"[:300], False)
                    )
                result.notes.append(
                    f"took {time.monotonic() - t0:.0f} s including set-up; load average "
                    f"{load0:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)"
                )
                results.append(result)
                report.print_result(result)
                sys.stdout.flush()
            about = machine(work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    scaling = next((r for r in results if r.number == 7), None)
    plotted = scaling is not None and report.plot_scaling(scaling, out_png)
    plot_ref = os.path.relpath(out_png, out_md.parent) if plotted else None
    report.write_markdown(out_md, report.render(results, about, command, args.scale, plot_ref))
    passed = sum(t.ok for r in results for t in r.targets)
    total = sum(len(r.targets) for r in results)
    print(f"\n{passed} of {total} targets pass ({time.monotonic() - started:.0f} s). "
          f"Report: {out_md}" + (f", plot: {out_png}" if plotted else ""))  # fmt: skip
    return 1 if args.strict and passed < total else 0


if __name__ == "__main__":
    sys.exit(main())
