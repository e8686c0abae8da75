"""get_checkpoint(name, rev=...): older bytes by name, read from git, never touching ckpts/."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.history import EXTRA, LDM_BASE, VAE, content
from helpers.project import run

from ckpt import (
    CheckpointNotFound,
    CheckpointSkipped,
    ChecksumMismatch,
    RevisionNotFound,
    get_checkpoint,
)
from ckpt.dvcfiles import cache_dir, object_path

# Each entry point has one test in the default suite (`make test`); the rest of its cases are in
# the slow tier (`make test-slow`).


def fingerprint(path):
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns, path.read_bytes())


def test_older_bytes_by_tag_branch_short_and_full_sha_and_version_tag(history):
    root, c2 = history.project.root, history.commits["C2"]
    head = get_checkpoint("mp_20_vae")
    assert head.read_bytes() == content(VAE, 2)
    before = fingerprint(head)

    revs = ["release-2", "vae-v1", c2[:8], c2, "mp_20_vae@v1.1.0", "HEAD~3"]
    paths = {rev: get_checkpoint("mp_20_vae", rev=rev) for rev in revs}
    assert len(set(paths.values())) == 1, paths
    path = paths[c2]
    assert path.read_bytes() == content(VAE, 1)
    assert path.name == "dng_m4owq4i5_v0.ckpt"  # the original file name
    assert (root / "ckpts") not in path.parents
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert fingerprint(head) == before  # the working tree's copy is untouched

    # The first publish, by its version tag and by commit: the original bytes.
    v0 = get_checkpoint("mp_20_vae", rev="mp_20_vae@v1.0.0")
    assert v0.read_bytes() == content(VAE, 0)
    assert get_checkpoint("mp_20_vae", rev=history.commits["C1"]) == v0
    # Another checkpoint's version tag names its own commit; mp_20_vae's bytes there are v1.
    assert get_checkpoint("mp_20_vae", rev="mp_20_ldm_base@v1.2.0").read_bytes() == content(VAE, 1)
    assert get_checkpoint("mp_20_ldm_base", rev="mp_20_ldm_base@v1.2.0").read_bytes() == content(
        LDM_BASE, 1
    )
    assert fingerprint(head) == before


@pytest.mark.slow
def test_rev_works_without_any_working_tree_copy(history):
    path = get_checkpoint("mp_20_vae", rev="release-2")
    assert path.read_bytes() == content(VAE, 1)
    assert not (history.project.root / VAE).exists()  # nothing was put into ckpts/


def test_second_call_is_warm_no_hashing_no_git(history, monkeypatch):
    first = get_checkpoint("mp_20_vae", rev="release-2")

    def refuse(*args, **kwargs):
        raise AssertionError("the warm path ran a subprocess or hashed")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr("ckpt.hashing.file_digest", refuse)
    assert get_checkpoint("mp_20_vae", rev="release-2") == first
    assert get_checkpoint("mp_20_vae", rev=history.commits["C2"]) == first


@pytest.mark.slow
def test_second_call_in_a_fresh_process_imports_no_dvc_and_spawns_no_git(history):
    get_checkpoint("mp_20_vae", rev="mp_20_vae@v1.1.0")
    code = (
        "import subprocess, sys\n"
        "def refuse(*a, **k): raise AssertionError('spawned a process')\n"
        "subprocess.Popen = refuse\n"
        "import ckpt.hashing\n"
        "def no_hash(*a, **k): raise AssertionError('hashed')\n"
        "ckpt.hashing.file_digest = no_hash\n"
        "from ckpt import get_checkpoint\n"
        "print(get_checkpoint('mp_20_vae', rev='mp_20_vae@v1.1.0'))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'dvc', 'dvc_data', 'huggingface_hub'}))\n"
    )
    out = run([sys.executable, "-c", code], cwd=history.project.root, env=history.project.env)
    path, heavy = out.stdout.splitlines()
    assert heavy == "[]"
    assert Path(path).read_bytes() == content(VAE, 1)


@pytest.mark.slow
def test_a_moved_branch_or_retagged_tag_is_noticed(history):
    assert get_checkpoint("mp_20_vae", rev="vae-v1").read_bytes() == content(VAE, 1)
    history.git("branch", "-f", "vae-v1", history.commits["C1"])
    assert get_checkpoint("mp_20_vae", rev="vae-v1").read_bytes() == content(VAE, 0)

    assert get_checkpoint("mp_20_vae", rev="release-2").read_bytes() == content(VAE, 1)
    history.git("tag", "-f", "release-2", history.commits["C5"])
    assert get_checkpoint("mp_20_vae", rev="release-2").read_bytes() == content(VAE, 2)
    # Packed refs move too (git gc / pack-refs), and HEAD follows a checkout.
    history.git("pack-refs", "--all")
    history.git("tag", "-f", "release-2", history.commits["C2"])
    history.git("pack-refs", "--all")
    assert get_checkpoint("mp_20_vae", rev="release-2").read_bytes() == content(VAE, 1)
    assert get_checkpoint("mp_20_vae", rev="HEAD").read_bytes() == content(VAE, 2)
    history.git("checkout", "-q", "--detach", history.commits["C1"])
    assert get_checkpoint("mp_20_vae", rev="HEAD").read_bytes() == content(VAE, 0)


@pytest.mark.slow
def test_name_absent_at_the_revision_names_the_revision(history):
    assert get_checkpoint("extra_vae").read_bytes() == content(EXTRA, 0)
    with pytest.raises(CheckpointNotFound, match=r"extra_vae.*mp_20_vae@v1\.1\.0") as info:
        get_checkpoint("extra_vae", rev="mp_20_vae@v1.1.0")
    assert isinstance(info.value, KeyError)
    assert "Available there: " in str(info.value)


def test_unknown_revision_is_a_clear_error(history):
    with pytest.raises(
        RevisionNotFound, match=r"Unknown git revision 'no-such-tag'.*git fetch --tags"
    ):
        get_checkpoint("mp_20_vae", rev="no-such-tag")
    with pytest.raises(RevisionNotFound, match=r"NAME@v9\.9\.9"):
        get_checkpoint("mp_20_vae", rev="9.9.9")
    with pytest.raises(RevisionNotFound, match="not a git revision"):
        get_checkpoint("mp_20_vae", rev="--output=/tmp/x")
    proc = history.project.ckpt("pull", "mp_20_vae", "--rev", "no-such-tag")
    assert proc.returncode == 2
    assert "Unknown git revision 'no-such-tag'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_shallow_clone_names_the_missing_revision_and_the_fix(history, tmp_path):
    clone = history.project.root.parent / "shallow"
    run(
        ["git", "clone", "-q", "--depth", "1", f"file://{history.project.root}", str(clone)],
        cwd=tmp_path, env=history.project.env,
    )  # fmt: skip
    env = {**history.project.env, "CKPT_REPO": str(clone)}
    code = "from ckpt import get_checkpoint; get_checkpoint('mp_20_vae', rev='mp_20_vae@v1.1.0')"
    proc = run([sys.executable, "-c", code], cwd=clone, env=env, check=False)
    assert proc.returncode != 0
    assert "RevisionNotFound" in proc.stderr
    assert "'mp_20_vae@v1.1.0' is not in this clone" in proc.stderr
    assert "shallow" in proc.stderr
    assert "git fetch --unshallow --tags" in proc.stderr and "fetch-depth: 0" in proc.stderr

    # The fix works: after fetching history and tags, the same call returns the old bytes.
    run(["git", "fetch", "-q", "--unshallow", "--tags"], cwd=clone, env=env)
    code += ".read_bytes() == open(0, 'rb').read() or exit(3)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=clone, env=env, input=content(VAE, 1), timeout=300,
        capture_output=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()


@pytest.mark.slow
def test_skip_download_raises_skipped_naming_the_revision(history, monkeypatch):
    monkeypatch.setenv("SKIP_CHECKPOINT_DOWNLOAD", "true")
    with pytest.raises(
        CheckpointSkipped, match=r"mp_20_vae as of revision release-2.*--rev release-2"
    ):
        get_checkpoint("mp_20_vae", rev="release-2")


@pytest.mark.slow
def test_corrupt_cache_object_is_replaced_from_the_remote(history):
    path = get_checkpoint("mp_20_vae", rev="release-2")
    md5 = __import__("hashlib").md5(content(VAE, 1)).hexdigest()
    obj = object_path(cache_dir(history.project.root), md5)
    os.chmod(obj, 0o644)
    obj.write_bytes(b"corrupt" + content(VAE, 1)[7:])  # same inode: the hardlinked copy too
    again = get_checkpoint("mp_20_vae", rev="release-2", force_download=True)
    assert again == path
    assert again.read_bytes() == content(VAE, 1)

    # The remote's copy is corrupt too: the error says so, and nothing bad is handed out.
    remote_obj = object_path(history.project.remote, md5)
    os.chmod(remote_obj, 0o644)
    remote_obj.write_bytes(b"corrupt" + content(VAE, 1)[7:])
    with pytest.raises(ChecksumMismatch, match="expected md5") as failed:
        get_checkpoint("mp_20_vae", rev="release-2", force_download=True)
    assert not path.exists()
    # The bad bytes are kept where the message says, not deleted.
    kept = Path(re.search(r"moved to (\S+) and", str(failed.value))[1])
    assert kept.read_bytes() == b"corrupt" + content(VAE, 1)[7:]


def test_cli_pull_and_list_at_a_revision(history):
    p = history.project
    out = p.ckpt(
        "pull", "mp_20_vae", "mp_20_ldm_base", "--rev", "mp_20_ldm_base@v1.2.0", check=True
    )
    paths = dict(line.split("\t") for line in out.stdout.splitlines())
    assert Path(paths["mp_20_vae"]).read_bytes() == content(VAE, 1)
    assert Path(paths["mp_20_ldm_base"]).read_bytes() == content(LDM_BASE, 1)
    assert not (p.root / "ckpts").exists()

    out = p.ckpt("list", "--rev", "mp_20_vae@v1.0.0", check=True).stdout
    assert "extra_vae" not in out  # not in the registry yet at that revision
    listed = p.ckpt("list", "--rev", "mp_20_ldm_base@v1.2.0", "--json", check=True).stdout
    import json

    doc = json.loads(listed)
    assert doc["commit"] == history.commits["C3"]
    states = {e["name"]: e["state"] for e in doc["checkpoints"]}
    assert states["mp_20_vae"] == "verified" and states["mp_20_ldm_base"] == "verified"
    assert states["alex_mp_20_vae"] == "missing"
