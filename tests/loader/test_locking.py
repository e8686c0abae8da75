"""The checkout lock: bounded by CKPT_LOCK_TIMEOUT, and left by waiters whose checkpoint arrived."""

import logging
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from helpers.project import Project, checkpoint_bytes
from zc.lockfile import LockFile

from ckpt.errors import LockTimeout
from ckpt.locking import checkout_lock
from ckpt.stamps import STAMP_DIR

VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"


@contextmanager
def _held_elsewhere(root):
    path = root / STAMP_DIR / "pull.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = LockFile(str(path))  # its own open file: excludes ours even in this process
    try:
        yield
    finally:
        lock.close()


def test_a_waiter_says_so_and_gives_up_after_the_timeout(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CKPT_LOCK_TIMEOUT", "0.8")
    with (
        _held_elsewhere(tmp_path),
        caplog.at_level(logging.INFO, logger="ckpt"),
        pytest.raises(LockTimeout, match=rf"Process {os.getpid()} held .*CKPT_LOCK_TIMEOUT"),
        checkout_lock(tmp_path),
    ):
        pass
    assert f"Waiting for process {os.getpid()}, which is fetching" in caplog.text
    with checkout_lock(tmp_path) as held:  # free again
        assert held


def test_a_waiter_leaves_without_the_lock_once_it_no_longer_needs_it(tmp_path):
    start = time.monotonic()
    with (
        _held_elsewhere(tmp_path),
        checkout_lock(tmp_path, unless=lambda: time.monotonic() - start > 0.3) as held,
    ):
        assert held is False


CALLER = """
import sys
from ckpt import get_checkpoint
path = get_checkpoint("mp_20_vae")
heavy = {"dvc", "dvc_data", "huggingface_hub", "filelock", "ckpt.fetch", "ckpt.snapshot"}
print(path)
print(sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy))
"""


def test_callers_waiting_for_a_checkpoint_go_on_when_it_is_stamped(project: Project):
    # A fetcher holds the lock; its checkpoint lands, stamped, while it still does. A caller that
    # was waiting returns it then, without waiting for the lock (it would wait here forever).
    project.ckpt("pull", "mp_20_vae", check=True)
    stash = project.root.parent / "stash"
    stash.mkdir()
    stamps = project.root / STAMP_DIR / "stamps.json"
    shutil.move(project.root / VAE, stash / "vae")
    shutil.move(stamps, stash / "stamps.json")
    with _held_elsewhere(project.root):
        caller = subprocess.Popen(
            [sys.executable, "-c", CALLER],
            cwd=project.root, env=project.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        time.sleep(1.0)
        assert caller.poll() is None, caller.communicate()  # waiting: nothing is there yet
        shutil.move(stash / "vae", project.root / VAE)  # rename: same inode, so the stamp holds
        shutil.move(stash / "stamps.json", stamps)
        out, err = caller.communicate(timeout=60)
        assert caller.returncode == 0, err
    path, imported = out.splitlines()
    assert path == str(project.root / VAE)
    # Served by another's fetch, it loaded none of the fetch's code (each waiting process pays
    # for what it imports, on top of the fetch: BENCHMARKS.md #8).
    assert imported == "[]"
    assert (project.root / VAE).read_bytes() == checkpoint_bytes(VAE)
