"""Clusters: several checkouts sharing one DVC cache, with link checkouts, verified through links."""

import hashlib
import os
import shutil
import stat

import pytest
from helpers.project import Project, checkpoint_bytes

from ckpt import get_checkpoint

VAE = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"


@pytest.fixture
def checkouts(project, tmp_path):
    """Two checkouts of the published project sharing tmp_path/shared-cache."""
    second = Project(tmp_path / "second", project.remote, dict(project.env))
    shutil.copytree(project.root, second.root, symlinks=True)
    shared = tmp_path / "shared-cache"
    for checkout in (project, second):
        # What `dvc cache dir SHARED` and `dvc config cache.shared group` (CONTRIBUTING.md) write,
        # without four dvc processes; the tests are about what the loader does with it.
        with open(checkout.root / ".dvc" / "config", "a") as config:
            config.write(f"[cache]\n    dir = {shared}\n    shared = group\n")
    return project, second, shared


@pytest.mark.parametrize("link", ["symlink", pytest.param("hardlink", marks=pytest.mark.slow)])
def test_second_checkout_uses_the_shared_cache_without_a_remote(checkouts, monkeypatch, link):
    first, second, shared = checkouts
    for checkout in (first, second):
        checkout.dvc("config", "cache.type", link)

    path = get_checkpoint("mp_20_vae")
    assert path == first.root / VAE
    obj = next(p for p in shared.rglob("*") if p.is_file() and not p.name.endswith(".dir") and
               p.read_bytes() == checkpoint_bytes(VAE))  # fmt: skip
    if link == "symlink":
        assert path.is_symlink() and os.path.realpath(path) == str(obj)
    else:
        assert os.stat(path).st_ino == os.stat(obj).st_ino
    # cache.shared group: directories are group-writable so the whole group can add to them.
    assert os.stat(obj.parent).st_mode & stat.S_IWGRP

    # The second checkout never talks to a remote: everything it needs is in the shared cache.
    shutil.rmtree(first.remote)
    monkeypatch.setenv("CKPT_REPO", str(second.root))
    second_path = get_checkpoint("mp_20_vae")
    assert second_path == second.root / VAE
    assert (
        hashlib.md5(second_path.read_bytes()).hexdigest()
        == hashlib.md5(checkpoint_bytes(VAE)).hexdigest()
    )
    assert get_checkpoint("mp_20_vae") == second_path  # warm, through the link


def test_verify_through_a_symlink_catches_a_corrupt_shared_object(checkouts):
    first, _, _ = checkouts
    first.dvc("config", "cache.type", "symlink")
    path = get_checkpoint("mp_20_vae")
    target = os.path.realpath(path)
    os.chmod(target, 0o644)
    with open(target, "r+b") as f:
        f.seek(100)
        f.write(b"\xff")
    verify = first.ckpt("verify", "mp_20_vae")
    assert verify.returncode == 1 and "MODIFIED" in verify.stdout
    # The next get refuses the corrupt shared object and fetches a good copy from the remote.
    fresh = get_checkpoint("mp_20_vae")
    assert (
        hashlib.md5(fresh.read_bytes()).hexdigest()
        == hashlib.md5(checkpoint_bytes(VAE)).hexdigest()
    )
