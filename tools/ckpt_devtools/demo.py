"""The main job end to end, on a local Hub: ``python -m ckpt_devtools.demo`` (``make demo``).

A maintainer publishes stand-in checkpoints for every registry name with the real flow
(``ckpt publish``: ``dvc add ckpts``, ``dvc push`` through the hf:// remote, mirror), then a fresh
clone gets each one by name with ``get_checkpoint``, cold and then warm. Everything happens in a
temporary directory; the checkout the demo is run from is left as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hubsim.process import LocalHub

REPO_ID = "chemeleon2/checkpoints"
TOKEN = "hf_demo_local_write_token"  # made up: the local Hub accepts only what it is told to


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ckpt_devtools.demo",
        description="Publish stand-in checkpoints to a local Hub and get them back by name.",
    )
    parser.add_argument("--size", default="1MB", help="bytes per checkpoint (default 1MB)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    from ckpt.registry import REGISTRY_FILE, find_repo_root
    from ckpt_devtools.standins import parse_size

    size = parse_size(args.size)
    source = find_repo_root(Path(__file__).parent)
    work = Path(tempfile.mkdtemp(prefix="ckpt-demo-"))
    env = _environment(work)
    started = time.perf_counter()
    hub = LocalHub(work / "hub", tokens={TOKEN: "rw"})
    try:
        step(1, f"Starting the local Hub (loopback only) in {hub.data_dir}")
        hub.start()
        print(f"      listening on {hub.url}")
        step(2, f"Maintainer: stand-in checkpoints of {args.size} for every registry path")
        publisher = work / "publisher"
        _init_checkout(publisher, source / REGISTRY_FILE, hub.url, env, size)
        step(3, "Maintainer: ckpt publish (dvc add ckpts, dvc push to hf://, Hub mirror)")
        _run(["ckpt", "publish"], publisher, env)
        _run(["git", "add", "-A"], publisher, env)
        _run(["git", "commit", "-q", "-m", "Publish checkpoints"], publisher, env)
        step(4, "User: a fresh clone gets every checkpoint by name (cold, then warm)")
        clone = work / "clone"
        _run(["git", "clone", "-q", str(publisher), str(clone)], work, env)
        rows = _get_all(clone, env)
        _print_table(rows)
        _print_hub_facts(hub.requests())
    finally:
        hub.stop()
        if args.keep:
            print(f"\nKept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nDone in {time.perf_counter() - started:.1f} s; your checkout was not touched.")
    return 0 if all(r["verified"] for r in rows) else 1


def step(n: int, text: str) -> None:
    print(f"\n[{n}/4] {text}", flush=True)


def _environment(work: Path) -> dict[str, str]:
    # The demo shows fetching: a caller's SKIP_CHECKPOINT_DOWNLOAD, Hub or repo settings don't apply.
    drop = ("HF_", "CKPT_", "SKIP_CHECKPOINT_DOWNLOAD")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "HF_HOME": str(work / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "DVC_NO_ANALYTICS": "1",
            "GIT_AUTHOR_NAME": "ckpt demo",
            "GIT_AUTHOR_EMAIL": "demo@example.invalid",
            "GIT_COMMITTER_NAME": "ckpt demo",
            "GIT_COMMITTER_EMAIL": "demo@example.invalid",
        }
    )
    return env


def _init_checkout(
    root: Path, registry: Path, hub_url: str, env: dict[str, str], size: int
) -> None:
    from ckpt.registry import load_registry, unique_paths
    from ckpt_devtools.standins import make_standins

    root.mkdir()
    _run(["git", "init", "-q"], root, env)
    _run(["dvc", "init", "-q"], root, env)
    shutil.copy(registry, root / "dvc.yaml")
    try:
        import torch  # noqa: F401

        fmt = "torch"
    except ImportError:
        fmt = "pickle"
    paths = make_standins(root, unique_paths(load_registry(root)), size, fmt=fmt)
    print(f"      {len(paths)} files ({fmt} format) under ckpts/")
    for args in (
        ["remote", "add", "-q", "-d", "hf", f"hf://{REPO_ID}"],
        ["remote", "modify", "hf", "endpoint", hub_url],
        ["remote", "modify", "hf", "create_repo", "true"],
        ["remote", "modify", "--local", "hf", "token", TOKEN],
        ["config", "core.analytics", "false"],
    ):
        _run(["dvc", *args], root, env)


def _get_all(clone: Path, env: dict[str, str]) -> list[dict[str, object]]:
    # A child process, so the cold figure includes what a user pays: imports, DVC, the transfer.
    code = f"""
import json, sys, time, timeit
from ckpt import get_checkpoint
from ckpt.registry import find_repo_root, load_registry
from ckpt.hashing import file_md5
from ckpt.dvcfiles import expected_md5s, tracked_dir_md5
root = find_repo_root()
registry = load_registry(root)
rows = []
for name in registry:
    t = time.perf_counter(); path = get_checkpoint(name); cold = time.perf_counter() - t
    warm = min(timeit.repeat(lambda: get_checkpoint(name), number=200, repeat=5)) / 200
    expected = expected_md5s(root, tracked_dir_md5(root), [registry[name]])[registry[name].path]
    rows.append(dict(name=name, size=path.stat().st_size, cold=cold, warm=warm,
                     verified=file_md5(path) == expected))
print({json.dumps("ROWS")} + json.dumps(rows))
"""
    child = env | {"CKPT_REPO": str(clone), "HF_TOKEN": TOKEN}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=clone, env=child, stdout=subprocess.PIPE, text=True
    )
    if proc.returncode != 0:
        raise SystemExit("error: getting the checkpoints failed; see the message above.")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("ROWS"))
    return json.loads(line[4:])


def _print_table(rows: list[dict[str, object]]) -> None:
    from ckpt.inventory import human_size

    print()
    header = f"{'name':<22}{'size':>10}{'cold':>10}{'warm':>12}  verified"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['name']:<22}{human_size(r['size']):>10}{r['cold'] * 1000:>8.0f} ms"
            f"{r['warm'] * 1e6:>9.1f} µs  {'yes' if r['verified'] else 'NO'}"
        )
    warm = statistics.median(r["warm"] for r in rows) * 1e6  # type: ignore[misc]
    print(f"\nwarm get_checkpoint: median {warm:.1f} µs per call (no hashing, no dvc import)")
    print("aliases (mp_20_ldm, alex_mp_20_ldm) share their file: their cold get found it present")


def _print_hub_facts(records: list[dict[str, Any]]) -> None:
    commits = [r for r in records if r["kind"] == "commit" and r["status"] == 200]
    up = sum(r["bytes_in"] for r in records if r["kind"] in ("lfs-upload", "lfs-part", "commit"))
    down = sum(r["bytes"] for r in records if r["kind"] == "resolve" and r["method"] == "GET")
    print(
        f"\nHub: {len(records)} requests, {len(commits)} commits "
        f"(DVC objects, then the readable mirror + model card), "
        f"{up / 1e6:.1f} MB uploaded, {down / 1e6:.1f} MB downloaded"
    )


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"error: `{' '.join(cmd)}` failed (exit {proc.returncode}).")


if __name__ == "__main__":
    sys.exit(main())
