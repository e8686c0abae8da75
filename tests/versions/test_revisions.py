"""Reading the registry and pins at a revision from git: resolution, caching, layouts. git only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ckpt import CheckpointNotFound, RevisionNotFound
from ckpt.revisions import snapshot

REGISTRY = "artifacts:\n  {name}:\n    path: ckpts/{name}.ckpt\n"
PIN = "outs:\n- md5: {md5}.dir\n  path: ckpts\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def commit(root: Path, name: str, digit: str) -> str:
    (root / "dvc.yaml").write_text(REGISTRY.format(name=name))
    (root / "ckpts.dvc").write_text(PIN.format(md5=digit * 32))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{name} {digit}")
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    return root


def test_registry_and_pin_at_each_commit(repo):
    first = commit(repo, "vae", "a")
    second = commit(repo, "ldm", "b")
    snap = snapshot(repo, first)
    assert snap.commit == first and snap.dir_md5 == "a" * 32 + ".dir"
    assert list(snap.registry) == ["vae"] and snap.lookup("vae").path == "ckpts/vae.ckpt"
    assert snapshot(repo, "HEAD").commit == second
    assert snapshot(repo, second[:7]).registry.keys() == {"ldm"}
    with pytest.raises(CheckpointNotFound, match=rf"'vae'.*revision HEAD \({second[:10]}\)"):
        snapshot(repo, "HEAD").lookup("vae")


def test_reflog_revisions_are_asked_of_git_every_time(repo):
    commit(repo, "vae", "a")
    second = commit(repo, "vae", "b")
    assert snapshot(repo, "HEAD@{1}").commit != second
    third = commit(repo, "vae", "c")
    assert snapshot(repo, "HEAD@{1}").commit == second != third


def test_a_worktree_sees_its_own_head_move(repo, tmp_path):
    commit(repo, "vae", "a")
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", "-b", "side", str(other))
    assert snapshot(other, "HEAD").dir_md5 == "a" * 32 + ".dir"
    commit(other, "vae", "d")
    assert snapshot(other, "HEAD").dir_md5 == "d" * 32 + ".dir"
    assert snapshot(repo, "HEAD").dir_md5 == "a" * 32 + ".dir"  # the main checkout did not move
    assert snapshot(repo, "side").dir_md5 == "d" * 32 + ".dir"


def test_project_in_a_subdirectory_of_the_git_repository(repo):
    sub = repo / "models"
    sub.mkdir()
    first = commit(sub, "vae", "e")
    assert snapshot(sub, first).registry.keys() == {"vae"}
    assert snapshot(sub, first).dir_md5 == "e" * 32 + ".dir"


def test_no_pins_and_no_registry_at_a_revision(repo):
    (repo / "README").write_text("before any checkpoint\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "empty")
    snap = snapshot(repo, "HEAD")
    with pytest.raises(CheckpointNotFound, match="has no checkpoints"):
        snap.lookup("vae")
    with pytest.raises(Exception, match=r"ckpts\.dvc does not exist at revision HEAD"):
        snap.require_pins()


def test_outside_git_and_bad_revisions(tmp_path, repo):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RevisionNotFound, match="use a git clone"):
        snapshot(plain, "HEAD")
    commit(repo, "vae", "a")
    with pytest.raises(RevisionNotFound, match="Unknown git revision 'HEAD~5'"):
        snapshot(repo, "HEAD~5")
    with pytest.raises(TypeError):
        snapshot(repo, 3)  # type: ignore[arg-type]
