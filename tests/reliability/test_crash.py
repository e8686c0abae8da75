"""Crash safety: ``kill -9`` a pull through the hf:// remote at random moments.

Whatever the moment (interpreter start, DVC's locks, the download into the cache, the checkout
into ``ckpts/``, the stamp), the checkpoint path never holds wrong bytes, the next call completes
with the published bytes, and ``ckpts/`` holds no temporary file afterwards.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers.project import CKPT
from helpers.reliability import HubProject, dvc_object_path

from ckpt import get_checkpoint
from ckpt.dvcfiles import cache_dir, object_path

TRIALS = 20
NAME = "alex_mp_20_ldm_base"


def stray_files(project: HubProject) -> list[str]:
    """Files in ckpts/ that are not registry checkpoints (DVC's `.<random>.tmp` among them)."""
    wanted = set(project.paths().values())
    ckpts = project.root / "ckpts"
    return sorted(
        p.relative_to(project.root).as_posix()
        for p in ckpts.rglob("*")
        if p.is_file() and p.relative_to(project.root).as_posix() not in wanted
    )


def assert_never_wrong(path: Path, expected: bytes) -> None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    assert data == expected, f"{path} held {len(data)} wrong bytes"


@pytest.mark.slow
def test_kill_9_at_random_moments_never_leaves_wrong_bytes(hub_project: HubProject):
    project, hub = hub_project, hub_project.local_hub
    path = project.root / project.paths()[NAME]
    expected = project.expected(NAME)
    md5 = project.manifest()[project.paths()[NAME].removeprefix("ckpts/")]
    # Stretch the download so that kills land inside it as often as in start-up and checkout.
    hub.inject("resolve", method="GET", path=dvc_object_path(md5), delay=0.4)

    def pull() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [CKPT, "-q", "pull", NAME], cwd=project.root, env=project.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def timed_pull(*, fetch: bool) -> float:
        path.unlink(missing_ok=True)
        if fetch:
            object_path(cache_dir(project.root), md5).unlink(missing_ok=True)
        started = time.monotonic()
        assert pull().wait(timeout=120) == 0
        return time.monotonic() - started

    # Undisturbed pulls of each kind give the spans to draw kill times from: a checkout-only pull
    # is much shorter than one that downloads, and one span for both let most of them finish.
    timed_pull(fetch=True)  # warms the interpreter's file cache, as later trials are
    spans = {True: timed_pull(fetch=True), False: timed_pull(fetch=False)}
    rng = random.Random(7)
    killed_before_done = 0
    for trial in range(TRIALS):
        path.unlink()
        fetch = trial % 2 == 0  # even trials fetch from the Hub again, odd ones only check out
        if fetch:
            object_path(cache_dir(project.root), md5).unlink()
        proc = pull()
        deadline = time.monotonic() + rng.uniform(0.05, spans[fetch])
        while time.monotonic() < deadline and proc.poll() is None:
            assert_never_wrong(path, expected)
            time.sleep(0.005)
        if proc.poll() is None:
            killed_before_done += 1
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert_never_wrong(path, expected)

        assert get_checkpoint(NAME) == path, f"trial {trial}"
        assert path.read_bytes() == expected
        assert stray_files(project) == [], f"trial {trial}"
    # The draw must have interrupted most pulls, or the test proved little.
    assert killed_before_done >= TRIALS // 2
    assert project.ckpt("status", NAME).returncode == 0


def test_temp_file_left_by_a_killed_checkout_is_removed(hub_project: HubProject):
    """What DVC leaves in ckpts/ when killed between writing its temp copy and renaming it."""
    project = hub_project
    target = project.root / project.paths()[NAME]
    target.parent.mkdir(parents=True, exist_ok=True)
    leftover = target.parent / ".Xq3v9ZkL0pQ2mR7sT1uW4y.tmp"
    leftover.write_bytes(project.expected(NAME)[:1000])
    assert get_checkpoint(NAME) == target
    assert target.read_bytes() == project.expected(NAME)
    assert stray_files(project) == []
