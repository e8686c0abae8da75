"""#3, #4, #5 and #8: moving checkpoints between a checkout and the local Hub, against the
huggingface_hub client doing the same with the same files."""

from __future__ import annotations

import shutil
import stat
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from benchmarks.fixtures import Bench, Project
from benchmarks.harness import (
    CKPT,
    DVC,
    PYTHON,
    Measure,
    Result,
    fmt_ratio,
    fmt_size,
    fmt_time,
    paired_ratio,
    rounds,
    timed,
)


def _snapshot_code(repo_id: str, cache_dir: str) -> str:
    return (
        "from huggingface_hub import snapshot_download; "
        f"snapshot_download({repo_id!r}, repo_type='dataset', cache_dir={cache_dir!r}, token=False)"
    )


def cold_pull_cases(
    bench: Bench, project: Project, timeout: float = 1800, endpoint: str | None = None
):  # type: ignore[no-untyped-def]
    """``ckpt pull`` (every registry name) and ``dvc pull`` in a fresh clone, and snapshot_download
    of the same repo into an empty cache; each case cleans up after itself, untimed. ``endpoint``:
    reach the Hub there instead (a rate-limiting proxy in front of it)."""

    def in_clone(cmd: list[str], *config: tuple[str, ...], measure=None) -> float:  # type: ignore[no-untyped-def]
        clone = bench.clone(project)
        if endpoint:
            config = (("remote", "modify", "--local", "hf", "endpoint", endpoint), *config)
        for args in config:  # untimed `dvc config/remote modify --local ...`
            clone.dvc(*args)
        try:
            elapsed = timed(cmd, clone.root, clone.env, timeout)
            if measure is not None:
                measure(clone.root)
            return elapsed
        finally:
            shutil.rmtree(clone.root.parent, ignore_errors=True)

    def snapshot(measure=None) -> float:  # type: ignore[no-untyped-def]
        with bench.scratch("snapshot") as cache:
            code = _snapshot_code(project.repo_id, str(cache))
            env = bench.env(cache / "hf-home")
            if endpoint:
                env["HF_ENDPOINT"] = endpoint
            elapsed = timed([PYTHON, "-c", code], cache, env, timeout)
            if measure is not None:
                measure(cache)
            return elapsed

    def ours(*config: tuple[str, ...], measure=None) -> float:  # type: ignore[no-untyped-def]
        return in_clone([CKPT, "-q", "pull"], *config, measure=measure)

    def dvc_pull() -> float:
        return in_clone([DVC, "pull", "-q"])

    return ours, dvc_pull, snapshot


def disk_usage(*dirs: Path) -> int:
    """Bytes allocated to the files under ``dirs``, each inode once (hard links count once;
    symlinks are not followed)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for top in dirs:
        for path in top.rglob("*"):
            st = path.lstat()
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


# Link rates of #3 (MB/s, 10^6 B/s) and the target for each: cold pull / snapshot_download.
RATES: dict[int | None, float] = {100: 1.05, 400: 1.15, None: 1.3}


def bench_cold_pull(bench: Bench) -> Result:
    """#3: everything published, nothing local; on loopback and through 400 and 100 MB/s links."""
    from contextlib import nullcontext

    from benchmarks.ratelimit import limited

    s = bench.scale
    project = bench.published()
    total = s.ckpt_count * s.ckpt_size
    result = Result(
        3, f"cold pull of {s.ckpt_count} checkpoints, {fmt_size(total)} in all, from the local "
        "Hub, verified",
        "huggingface_hub snapshot_download of the same files from the same Hub (no md5 check)",
    )  # fmt: skip
    copy = ("config", "--local", "cache.type", "copy")
    for rate, limit in RATES.items():
        if rate is not None and rate not in s.link_rates:
            continue
        link = f"{rate} MB/s" if rate else "loopback"
        proxy = limited(bench.hub.url, rate) if rate else nullcontext(None)
        with proxy as endpoint:
            ours, dvc_pull, snapshot = cold_pull_cases(bench, project, endpoint=endpoint)
            cases = {
                f"{link}: ckpt pull (fetch + place + verify + stamps)": ours,
                f"{link}: snapshot_download (same objects, no check)": snapshot,
                f"{link}: dvc pull": dvc_pull,
            }
            if rate is None:
                cases[f"{link}: ckpt pull, cache.type=copy (separate copies)"] = lambda ours=ours: (
                    ours(copy)
                )
            measures = [Measure(k, v) for k, v in rounds(cases, s.runs).items()]
        mine, theirs, dvc = measures[:3]
        for m in measures:
            if m is not theirs:
                m.note = f"{fmt_ratio(paired_ratio(m, theirs))} snapshot_download's time"
        result.measures += measures
        ratio = paired_ratio(mine, theirs)
        result.target(
            f"{link}: <= {limit:g}x snapshot_download's wall time", fmt_ratio(ratio), ratio <= limit
        )
        vs_dvc = paired_ratio(mine, dvc)
        result.target(
            f"{link}: ckpt pull no slower than dvc pull", f"{fmt_ratio(vs_dvc)} its time",
            vs_dvc <= 1.0,
        )  # fmt: skip
    # Disk: one more cold pull of each, untimed, measured before the clean-up.
    usage: dict[str, int] = {}
    ours, _, snapshot = cold_pull_cases(bench, project)
    ours(
        measure=lambda root: usage.update(ckpt=disk_usage(root / ".dvc" / "cache", root / "ckpts"))
    )
    snapshot(measure=lambda cache: usage.update(hf=disk_usage(cache)))
    disk = usage["ckpt"] / total
    result.target(
        "disk after a cold pull <= 1.02x the checkpoint bytes (DVC cache + ckpts/, hard links once)",
        f"{disk:.2f}x (snapshot_download's cache: {usage['hf'] / total:.2f}x)",
        disk <= 1.02,
    )
    rates = sorted(r for r in RATES if r is not None and r in s.link_rates)
    slowest = rates[0] if rates else None
    result.notes.append(
        f"All in fresh processes (imports included), {s.runs} rounds per link, medians. The Hub "
        "serves from its blob store, in the page cache; each run starts from an empty DVC cache / "
        f"HF cache. The {' and '.join(map(str, rates))} MB/s links are a token-bucket TCP proxy "
        "on loopback (benchmarks/ratelimit.py, one bucket per direction shared by all "
        "connections) in front of the same Hub"
        + (f": {fmt_size(total)} takes {total / (slowest * 1e6):.1f} s at {slowest} MB/s on "
           "the wire." if slowest else ".")
    )  # fmt: skip
    result.notes.append(
        "The hf:// remote checks each object's md5 while it streams, so ckpt places those objects "
        "without reading them again: by default each file in ckpts/ shares storage with its "
        "cache object (reflink where the filesystem clones, else a read-only hard link). The "
        "cache.type=copy row is the opt-out, a separate copy of each file."
    )
    return result


def push_source(bench: Bench, small: bool = True) -> Project:
    """A maintainer's checkout with the checkpoints (plus ``small_count`` small objects unless
    ``small`` is false), added to DVC but not pushed."""
    s = bench.scale

    def build() -> Project:
        files = {f"bench/ckpt_{i}.ckpt": s.ckpt_size for i in range(s.ckpt_count)}
        if small:
            files |= {f"small/obj_{i:04d}.bin": s.small_size for i in range(s.small_count)}
        names = {f"ckpt_{i}": f"ckpts/bench/ckpt_{i}.ckpt" for i in range(s.ckpt_count)}
        return bench.project(name, files, names, push=False)

    name = "pushsrc" if small else "pushsrc-large"
    return bench.shared(name, build)


def _commits(bench: Bench, hub) -> int:  # type: ignore[no-untyped-def]
    return sum(r["kind"] == "commit" and r["status"] == 200 for r in bench.requests_since(0, hub))


def bench_push(bench: Bench) -> Result:
    """#4: a maintainer publishes; each round pushes into a fresh Hub (nothing stored yet). Two
    trees: the checkpoints alone, and with ``small_count`` small objects beside them. The
    maintainer's push is `ckpt push` (what `ckpt publish` runs); `dvc push` through the same
    hf:// remote is measured beside it, and so is DVC's cost of a push with nothing to send."""
    s = bench.scale
    total = s.ckpt_count * s.ckpt_size
    result = Result(
        4, f"push of the same {fmt_size(total)}, alone and with {s.small_count:,} small objects "
        f"({fmt_size(s.small_size)} each)",
        "HfApi.upload_folder of the same tree",
    )  # fmt: skip
    for small in (False, True):
        project = push_source(bench, small)
        tree = f"{fmt_size(total)} + {s.small_count:,} small" if small else fmt_size(total)
        commits: dict[str, list[int]] = {"ckpt": [], "dvc": [], "hf": []}

        def pushed(
            tool: str, cmd: list[str], project: Project = project, commits: dict = commits
        ) -> Callable[[], float]:
            def push() -> float:
                with bench.fresh_hub("push-hub") as hub:
                    project.use_repo(bench.repo_id("pushed"))
                    project.dvc("remote", "modify", "hf", "endpoint", hub.url)
                    elapsed = timed(cmd, project.root, bench.env(hub=hub))
                    commits[tool].append(_commits(bench, hub))
                    return elapsed

            return push

        def upload_folder(project: Project = project, commits: dict = commits) -> float:
            with bench.fresh_hub("upload-hub") as hub, bench.scratch("hf-home") as home:
                repo_id = bench.repo_id("uploaded")
                code = (
                    "from huggingface_hub import HfApi; api = HfApi(token=False); "
                    f"api.create_repo({repo_id!r}, repo_type='dataset'); "
                    f"api.upload_folder(folder_path={str(project.root / 'ckpts')!r}, "
                    f"repo_id={repo_id!r}, repo_type='dataset')"
                )
                elapsed = timed([PYTHON, "-c", code], home, bench.env(home, hub=hub))
                commits["hf"].append(_commits(bench, hub))
                return elapsed

        cases = {
            f"{tree}: ckpt push (hf:// remote)": pushed("ckpt", [CKPT, "-q", "push"]),
            f"{tree}: dvc push (same remote)": pushed("dvc", [DVC, "push", "-q"]),
            f"{tree}: HfApi.upload_folder": upload_folder,
        }
        mine, dvc, theirs = [Measure(k, v) for k, v in rounds(cases, s.runs).items()]
        result.measures += [mine, dvc, theirs]
        ratio, dvc_ratio = paired_ratio(mine, theirs), paired_ratio(dvc, theirs)
        theirs.note = f"{max(commits['hf'])} commit(s)"
        mine.note = f"{fmt_ratio(ratio)} upload_folder's time; {max(commits['ckpt'])} commit(s)"
        dvc.note = f"{fmt_ratio(dvc_ratio)} upload_folder's time; {max(commits['dvc'])} commit(s)"
        most = max(commits["ckpt"] + commits["dvc"])
        result.target(f"{tree}: <= 2 commits", f"{most} commit(s)", most <= 2)
        result.target(f"{tree}: <= 1.2x upload_folder's wall time", fmt_ratio(ratio), ratio <= 1.2)
        # Leave the project pointing at the shared hub (#5 checks the status of this one).
        project.use_repo(bench.repo_id(project.root.name))
        project.dvc("remote", "modify", "hf", "endpoint", bench.hub.url)
        if not small:
            fixed, client = _dvc_fixed_cost(bench, project)
            result.measures += [fixed, client]
            gap, budget = fixed.median - client.median, 0.2 * theirs.median
            result.notes.append(
                f"`dvc push` with nothing to send takes {fmt_time(fixed.median)}, a "
                f"huggingface_hub process asking the Hub one question {fmt_time(client.median)}: "
                f"DVC's start-up, repository and index work and shutdown add {fmt_time(gap)} to "
                f"every push, against the {fmt_time(budget)} that 1.2x leaves over upload_folder "
                f"for {tree}. `ckpt push` (what `ckpt publish` runs) makes the same existence "
                "query, staging and commits through the same dvc_hf code without starting DVC."
            )
    result.notes.append(
        "Each run pushes into a fresh local Hub (empty blob store), so no upload is skipped as "
        "already stored. All three hash the large files with sha256 for LFS; DVC's md5s were "
        "computed by `dvc add` beforehand, untimed. The small objects are random bytes: "
        "upload_folder sends all of them through LFS (`*.bin` is LFS in the Hub's default "
        ".gitattributes), while the Hub's preupload answer sends the DVC objects whose first 512 "
        "bytes hold no NUL byte (about 13%) inline in the commit."
    )
    return result


def _dvc_fixed_cost(bench: Bench, project: Project) -> list[Measure]:
    """`dvc push` when the remote (the shared Hub's repo ``project`` points at) already has
    everything, against a bare huggingface_hub client asking the Hub one question: what DVC costs
    a push whatever it sends."""
    project.dvc("push", "-q")
    repo_id = project.repo_id
    home = bench.path("hf-home-fixed")
    code = (
        "from huggingface_hub import HfApi; "
        f"HfApi(token=False).repo_info({repo_id!r}, repo_type='dataset')"
    )
    cases = {
        "dvc push, nothing to send": lambda: timed(
            [DVC, "push", "-q"], project.root, bench.env(hub=bench.hub)
        ),
        "huggingface_hub: import, one repo_info": lambda: timed(
            [PYTHON, "-c", code], home, bench.env(home, hub=bench.hub)
        ),
    }
    return [Measure(k, v) for k, v in rounds(cases, bench.scale.runs).items()]


def bench_status(bench: Bench) -> Result:
    """#5: is everything pushed? Counted in HTTP requests, as the Hub rate-limits them."""
    s = bench.scale
    project = push_source(bench)
    bench.shared("pushsrc-pushed", lambda: project.dvc("push", "-q"))
    objects = s.ckpt_count + s.small_count
    result = Result(
        5, f"`dvc status -c` with {objects:,} objects on the remote",
        "naive per-folder listing (HfFileSystem.exists per object)",
    )  # fmt: skip
    counts: dict[str, list[int]] = {}

    def counted(label: str, action) -> float:  # type: ignore[no-untyped-def]
        mark = bench.log_mark()
        start = time.perf_counter()
        action()
        elapsed = time.perf_counter() - start
        counts.setdefault(label, []).append(len(bench.requests_since(mark)))
        return elapsed

    def status(fresh_index: bool):  # type: ignore[no-untyped-def]
        def action() -> None:
            env = dict(project.env)
            if fresh_index:  # DVC's remote index lives in the site cache dir
                env["DVC_SITE_CACHE_DIR"] = str(bench.path("site-cache"))
            out = subprocess.run(
                [DVC, "status", "-c"], cwd=project.root, env=env, capture_output=True, text=True
            )
            if out.returncode != 0 or "in sync" not in out.stdout:
                raise RuntimeError(f"dvc status -c: {out.stdout}{out.stderr}")

        return action

    manifest = _object_paths(project)

    def naive() -> None:
        from huggingface_hub import HfFileSystem

        fs = HfFileSystem(endpoint=bench.hub.url, token=False, skip_instance_cache=True)
        base = f"datasets/{project.repo_id}"
        missing = [p for p in manifest if not fs.exists(f"{base}/{p}")]
        if missing:
            raise RuntimeError(f"naive check missed {len(missing)} objects")

    labels = {
        "dvc status -c (empty DVC remote index)": status(True),
        "dvc status -c (remote index kept from the push)": status(False),
        "HfFileSystem.exists per object": naive,
    }
    cases = {k: (lambda k=k, a=a: counted(k, a)) for k, a in labels.items()}
    result.measures = [Measure(k, v) for k, v in rounds(cases, s.runs).items()]
    for m in result.measures:
        m.note = f"{max(counts[m.label])} HTTP requests"
    worst = max(max(counts[k]) for k in list(labels)[:2])
    naive_n = max(counts["HfFileSystem.exists per object"])
    result.target("<= 4 HTTP requests", f"{worst} (naive: {naive_n})", worst <= 4)
    result.notes.append(
        "HTTP requests counted in the local Hub's request log; time includes process start-up "
        "for dvc and none for the in-process naive check."
    )
    return result


def _object_paths(project: Project) -> list[str]:
    """Every object DVC pushed for ckpts/, as paths inside the Hub repo."""
    from ckpt import dvcfiles

    dir_md5 = dvcfiles.tracked_dir_md5(project.root)
    manifest = dvcfiles.load_manifest(project.root, dir_md5) or {}
    return [f"files/md5/{m[:2]}/{m[2:]}" for m in [dir_md5, *manifest.values()]]


def bench_concurrent(bench: Bench) -> Result:
    """#8: N processes want the same missing checkpoint at once (pytest-xdist workers, jobs)."""
    s = bench.scale
    project = bench.published()
    n = s.concurrency
    code = "from ckpt import get_checkpoint; get_checkpoint('ckpt_0')"
    result = Result(
        8, f"{n} processes asking for the same missing checkpoint ({fmt_size(s.ckpt_size)}) at once",
        "1 process",
    )  # fmt: skip
    gets: dict[str, list[Counter[str]]] = {}

    def case(procs: int):  # type: ignore[no-untyped-def]
        def go() -> float:
            clone = bench.clone(project)
            mark = bench.log_mark()
            try:
                start = time.perf_counter()
                running = [
                    subprocess.Popen([PYTHON, "-c", code], cwd=clone.root, env=clone.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    for _ in range(procs)
                ]  # fmt: skip
                errors = [p.communicate()[1] for p in running]
                elapsed = time.perf_counter() - start
                if any(p.returncode for p in running):
                    raise RuntimeError(b"\n".join(errors).decode(errors="replace")[-3000:])
            finally:
                shutil.rmtree(clone.root.parent, ignore_errors=True)
            resolves = [
                r["path"].rsplit("/resolve/main/", 1)[-1]
                for r in bench.requests_since(mark)
                if r["kind"] == "resolve" and r["method"] == "GET"
            ]
            gets.setdefault(str(procs), []).append(Counter(resolves))
            return elapsed

        return go

    cases = {f"{n} processes": case(n), "1 process": case(1)}
    result.measures = [Measure(k, v) for k, v in rounds(cases, s.runs).items()]
    many, one = result.measures
    ratio = paired_ratio(many, one)

    def worst(procs: int, dirs: bool) -> int:
        return max(
            (c for counter in gets[str(procs)] for p, c in counter.items()
             if p.endswith(".dir") == dirs),
            default=0,
        )  # fmt: skip

    objects_n, dirs_n, dirs_1 = worst(n, False), worst(n, True), worst(1, True)
    many.note = (
        f"{fmt_ratio(ratio)} the 1-process time; max GETs per object {objects_n}, "
        f"of the .dir {dirs_n}"
    )
    one.note = f"max GETs per object {worst(1, False)}, of the .dir {dirs_1}"
    result.target(
        "one transfer per object",
        f"checkpoint object: {objects_n} GET(s); .dir: {dirs_n} ({dirs_1} with 1 process)",
        objects_n == 1 and dirs_n <= dirs_1,
    )
    result.target("wall <= 1.3x one process", fmt_ratio(ratio), ratio <= 1.3)
    result.notes.append(
        f"All {n} processes start together in a fresh clone; wall = first start to last exit. "
        "Transfers are the Hub's logged GETs per object path."
    )
    return result
