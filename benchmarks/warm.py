"""#1 and #2: getting a checkpoint that is already present and verified, in-process and in a fresh
process, against the plan's loader, pooch, hf_hub_download and ``dvc pull``."""

from __future__ import annotations

import os
import timeit
from contextlib import contextmanager
from pathlib import Path

from benchmarks import plan_loader
from benchmarks.fixtures import Bench, Project, hf_api
from benchmarks.harness import (
    DVC,
    PYTHON,
    Measure,
    Result,
    fmt_ratio,
    fmt_size,
    fmt_time,
    paired_ratio,
    rounds,
    run,
    timed,
)

NAME = "big"
VERSION_TAG = f"{NAME}@v1.0.0"  # DVC's artifact tag format, as `ckpt publish --version` writes it
HEAVY = ("dvc", "dvc_data", "dvc_objects", "huggingface_hub", "torch")


class Warm:
    """One present, verified checkpoint, also on the Hub (as DVC's object) and in the caches of
    pooch and huggingface_hub, each fetched once before anything is timed."""

    def __init__(self, bench: Bench) -> None:
        from ckpt import dvcfiles
        from ckpt.hashing import calculate_sha256
        from ckpt.registry import load_registry

        self.bench = bench
        size = bench.scale.warm_size
        self.project: Project = bench.project(
            "warm", {"bench/big.ckpt": size}, {NAME: "ckpts/bench/big.ckpt"}
        )
        root = self.project.root
        self.project.ckpt("-q", "verify", NAME)  # stamps it: the state after any first use
        run(
            ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "tag", "-a",
             VERSION_TAG, "-m", VERSION_TAG],
            cwd=root,
        )  # fmt: skip
        self.path = root / "ckpts/bench/big.ckpt"
        artifact = load_registry(root)[NAME]
        md5 = dvcfiles.expected_md5s(root, dvcfiles.tracked_dir_md5(root), [artifact])[
            artifact.path
        ]
        self.in_repo = f"files/md5/{md5[:2]}/{md5[2:]}"
        self.sha256 = calculate_sha256(self.path)
        self.plan_config = root / "plan_checkpoints.yaml"
        plan_loader.write_config(self.plan_config, NAME, "ckpts/bench/big.ckpt", self.sha256)
        self.hf_cache = bench.path("hf-cache")
        self.pooch_dir = bench.path("pooch")
        self.url = f"{bench.hub.url}/datasets/{self.project.repo_id}/resolve/main/{self.in_repo}"
        self._hf_download("main")  # fills the cache
        self.commit = hf_api(bench).repo_info(self.project.repo_id, repo_type="dataset").sha
        self._pooch()
        self.size = size

    def _hf_download(self, revision: str) -> str:
        from huggingface_hub import hf_hub_download

        return hf_hub_download(
            self.project.repo_id, self.in_repo, repo_type="dataset", revision=revision,
            cache_dir=self.hf_cache, endpoint=self.bench.hub.url, token=False,
        )  # fmt: skip

    def _pooch(self) -> str:
        import pooch

        pooch.get_logger().setLevel("WARNING")
        return pooch.retrieve(
            self.url, known_hash=f"sha256:{self.sha256}", fname="big.ckpt", path=self.pooch_dir,
            progressbar=False,
        )  # fmt: skip


@contextmanager
def _cwd(path: Path):  # type: ignore[no-untyped-def]
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _per_call(func, calls: int):  # type: ignore[no-untyped-def]
    """A case for ``rounds``: seconds per call, over ``calls`` calls."""
    return lambda: timeit.Timer(func).timeit(number=calls) / calls


REV_CASE = f"ckpt get_checkpoint(rev={VERSION_TAG!r}) (the version tag's read-only copy)"


def bench_warm_inprocess(bench: Bench, warm: Warm) -> Result:
    """#1: in-process, per call."""
    from ckpt import get_checkpoint
    from ckpt.loader import warm_path
    from ckpt.registry import load_registry

    s = bench.scale
    result = Result(
        1, f"warm `get_checkpoint` of a present, verified {fmt_size(warm.size)} checkpoint, "
        "in-process, per call",
        "the plan's loader (sha256, 4 KiB reads, every call); pooch.retrieve with a known hash; "
        "hf_hub_download from cache",
    )  # fmt: skip
    with _cwd(warm.project.root):
        root = warm.project.root
        assert get_checkpoint(NAME) == warm.path
        assert warm_path(root, load_registry(root)[NAME]) is not None, "not stamped: not warm"
        # The first call at a revision reads git and places the read-only copy; later ones are warm.
        at_rev = get_checkpoint(NAME, rev=VERSION_TAG)
        assert at_rev.read_bytes()[:64] == warm.path.read_bytes()[:64]
        assert Path(warm._hf_download(warm.commit)).read_bytes()[:64] == warm.path.read_bytes()[:64]
        slow = max(1, s.calls // 2000)
        cases = {
            "ckpt get_checkpoint": _per_call(lambda: get_checkpoint(NAME), s.calls),
            REV_CASE: _per_call(lambda: get_checkpoint(NAME, rev=VERSION_TAG), s.calls),
            "plan's loader": _per_call(
                lambda: plan_loader.get_checkpoint(NAME, warm.plan_config), 1
            ),
            "pooch.retrieve(known_hash=sha256)": _per_call(warm._pooch, 1),
            "hf_hub_download, revision=main (one HEAD per call)": _per_call(
                lambda: warm._hf_download("main"), 10 * slow
            ),
            "hf_hub_download, revision=<commit sha> (no request)": _per_call(
                lambda: warm._hf_download(warm.commit), 100 * slow
            ),
        }
        samples = rounds(cases, s.runs + 2)
    result.measures = [Measure(k, v) for k, v in samples.items()]
    ours, at_rev = result.measures[0], result.measure(REV_CASE)
    for m in result.measures[1:]:
        if m is not at_rev:
            m.note = f"ours is {fmt_ratio(paired_ratio(m, ours))} faster"
    rev_ratio = paired_ratio(at_rev, ours)
    at_rev.note = f"{fmt_ratio(rev_ratio)} the plain call"
    result.target("per call <= 0.1 ms", fmt_time(ours.median), ours.median <= 1e-4)
    result.target(
        "warm `get_checkpoint(name, rev=tag)` <= 2x the plain warm call",
        fmt_ratio(rev_ratio),
        rev_ratio <= 2,
    )
    plan = paired_ratio(result.measure("plan's loader"), ours)
    result.target(">= 1000x faster than the plan's loader", fmt_ratio(plan), plan >= 1000)
    result.notes.append(
        f"{s.calls:,} calls per timing for get_checkpoint; {s.runs + 2} rounds, medians. "
        "The file is in the page cache (it was just written and hashed), which flatters the "
        "alternatives that re-read it: from disk they are slower still."
    )
    return result


def bench_warm_process(bench: Bench, warm: Warm) -> Result:
    """#2: a fresh interpreter that imports the loader and makes one call."""
    s = bench.scale
    root, env = warm.project.root, warm.project.env
    env = {**env, "HF_HOME": str(bench.path("hf-home"))}
    ours_code = f"from ckpt import get_checkpoint; get_checkpoint({NAME!r})"
    hf_code = (
        "from huggingface_hub import hf_hub_download; "
        f"hf_hub_download({warm.project.repo_id!r}, {warm.in_repo!r}, repo_type='dataset', "
        f"cache_dir={str(warm.hf_cache)!r}, token=False)"
    )
    result = Result(
        2, "the same in a fresh process (`python -c` import + one call)",
        '`python -c "import yaml"`; `dvc pull` no-op',
    )  # fmt: skip
    fast = rounds(
        {
            "python -c 'from ckpt import get_checkpoint; get_checkpoint(...)'": lambda: timed(
                [PYTHON, "-c", ours_code], cwd=root, env=env
            ),
            "python -c 'import yaml'": lambda: timed([PYTHON, "-c", "import yaml"], env=env),
            "python -c 'pass' (the floor)": lambda: timed([PYTHON, "-c", "pass"], env=env),
        },
        s.proc_runs,
    )
    slow = rounds(
        {
            "dvc pull (no-op: everything present)": lambda: timed([DVC, "pull"], cwd=root, env=env),
            "python -c 'hf_hub_download(...)' (cached, one HEAD)": lambda: timed(
                [PYTHON, "-c", hf_code], cwd=root, env={**env, "HF_ENDPOINT": bench.hub.url}
            ),
        },
        s.runs,
    )
    result.measures = [Measure(k, v) for k, v in (fast | slow).items()]
    ours, yaml_ = result.measures[0], result.measures[1]
    for m in result.measures[1:]:
        m.note = f"{fmt_ratio(m.median / ours.median)} ours"
    ratio = paired_ratio(ours, yaml_)
    result.target("<= 1.5x the yaml import process", fmt_ratio(ratio), ratio <= 1.5)
    probe = warm.project.python(
        f"import sys; {ours_code}; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    ).stdout.strip()
    result.target("dvc and huggingface_hub not imported", f"heavy modules imported: {probe}",
                   probe == "[]")  # fmt: skip
    result.notes.append(
        f"{s.proc_runs} rounds for the interpreter starts, {s.runs} for dvc and hf_hub_download; "
        "medians; ratio = median of per-round ratios. Every process starts the same venv "
        "interpreter (with the dvc_hf .pth hook, about 0.15 ms)."
    )
    return result
