"""`ckpt log NAME`: every change of one checkpoint's bytes, newest first, and no one else's."""

from __future__ import annotations

import hashlib
import json
import sys

import pytest
from helpers.history import LDM_BASE, VAE, content
from helpers.project import run

# Each entry point has one test in the default suite (`make test`); the rest of its cases are in
# the slow tier (`make test-slow`).


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_log_lists_every_change_of_one_checkpoint(history):
    c = history.commits
    out = history.project.ckpt("log", "mp_20_vae", "--json", check=True)
    entries = json.loads(out.stdout)
    assert [e["commit"] for e in entries] == [c["C5"], c["C2"], c["C1"]]  # not C3, C4
    assert [e["status"] for e in entries] == ["changed", "changed", "added"]
    assert [e["md5"] for e in entries] == [md5(content(VAE, v)) for v in (2, 1, 0)]
    assert [e["subject"] for e in entries][::2] == ["VAE v2", "published"]
    assert "mp_20_vae@v1.1.0" in entries[1]["tags"] and "release-2" in entries[1]["tags"]
    assert entries[2]["tags"] == ["mp_20_vae@v1.0.0"]  # not the other names' tags on C1
    assert all(e["path"] == VAE for e in entries)
    assert entries[0]["date"] >= entries[1]["date"] >= entries[2]["date"]

    out = history.project.ckpt("log", "mp_20_ldm_base", "--json", check=True)
    entries = json.loads(out.stdout)
    assert [e["commit"] for e in entries] == [c["C3"], c["C1"]]
    assert entries[0]["md5"] == md5(content(LDM_BASE, 1))
    assert entries[0]["tags"] == ["mp_20_ldm_base@v1.2.0"]


@pytest.mark.slow
def test_log_table_and_size_once_cached(history):
    from ckpt import get_checkpoint

    get_checkpoint("mp_20_vae", rev="release-2")  # puts v1's object into the cache
    out = history.project.ckpt("log", "mp_20_vae", check=True).stdout.splitlines()
    assert out[0].split() == ["DATE", "COMMIT", "TAGS", "MD5", "SIZE", "SUBJECT"]
    rows = out[1:]
    assert len(rows) == 3
    assert history.commits["C2"][:10] in rows[1] and "64.0 KiB" in rows[1]
    assert md5(content(VAE, 1)) in rows[1]


@pytest.mark.slow
def test_log_from_an_older_revision_and_unknown_names(history):
    c = history.commits
    out = history.project.ckpt("log", "mp_20_vae", "--rev", "vae-v1", "--json", check=True)
    assert [e["commit"] for e in json.loads(out.stdout)] == [c["C2"], c["C1"]]
    proc = history.project.ckpt("log", "no_such_model")
    assert proc.returncode == 2 and "No checkpoint named 'no_such_model'" in proc.stderr


@pytest.mark.slow
def test_log_in_a_shallow_clone_warns_how_to_get_the_rest(history, tmp_path):
    clone = history.project.root.parent / "shallow"
    run(
        ["git", "clone", "-q", "--depth", "2", f"file://{history.project.root}", str(clone)],
        cwd=tmp_path, env=history.project.env,
    )  # fmt: skip
    env = {**history.project.env, "CKPT_REPO": str(clone)}
    proc = run([sys.executable, "-m", "ckpt.cli", "log", "mp_20_vae", "--json"], cwd=clone, env=env)
    entries = json.loads(proc.stdout)
    # C4 is the oldest commit here: mp_20_vae's bytes there are known, not whether C4 changed them.
    assert [(e["commit"], e["status"]) for e in entries] == [
        (history.commits["C5"], "changed"),
        (history.commits["C4"], "shallow"),
    ]
    assert "shallow" in proc.stderr and "git fetch --unshallow --tags" in proc.stderr
