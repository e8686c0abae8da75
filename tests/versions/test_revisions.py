"""Reading the registry and pins at a revision from git: resolution, caching, layouts. git only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ckpt import CheckpointNotFound, RevisionNotFound
from ckpt.revisions import read_revision

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
    revision = read_revision(repo, first)
    assert revision.commit == first and revision.dir_md5 == "a" * 32 + ".dir"
    assert list(revision.registry) == ["vae"] and revision.lookup("vae").path == "ckpts/vae.ckpt"
    assert read_revision(repo, "HEAD").commit == second
    assert read_revision(repo, second[:7]).registry.keys() == {"ldm"}
    with pytest.raises(CheckpointNotFound, match=rf"'vae'.*revision HEAD \({second[:10]}\)"):
        read_revision(repo, "HEAD").lookup("vae")


def test_reflog_revisions_are_asked_of_git_every_time(repo):
    commit(repo, "vae", "a")
    second = commit(repo, "vae", "b")
    assert read_revision(repo, "HEAD@{1}").commit != second
    third = commit(repo, "vae", "c")
    assert read_revision(repo, "HEAD@{1}").commit == second != third


def test_a_ref_that_takes_precedence_later_is_seen(repo):
    # git resolves NAME through refs/NAME before refs/tags/NAME; a remembered answer must notice
    # such a ref appearing, loose or packed.
    first = commit(repo, "vae", "a")
    second = commit(repo, "vae", "b")
    git(repo, "tag", "v1", first)
    assert read_revision(repo, "v1").commit == first
    git(repo, "branch", "v1", second)  # refs/heads comes after refs/tags: the tag still wins
    assert read_revision(repo, "v1").commit == first
    git(repo, "update-ref", "refs/v1", second)
    assert read_revision(repo, "v1").commit == second
    git(repo, "update-ref", "-d", "refs/v1")
    assert read_revision(repo, "v1").commit == first
    git(repo, "update-ref", "refs/v1", second)
    git(repo, "pack-refs", "--all")
    assert read_revision(repo, "v1").commit == second


def test_a_worktree_sees_its_own_head_move(repo, tmp_path):
    commit(repo, "vae", "a")
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", "-b", "side", str(other))
    assert read_revision(other, "HEAD").dir_md5 == "a" * 32 + ".dir"
    commit(other, "vae", "d")
    assert read_revision(other, "HEAD").dir_md5 == "d" * 32 + ".dir"
    assert (
        read_revision(repo, "HEAD").dir_md5 == "a" * 32 + ".dir"
    )  # the main checkout did not move
    assert read_revision(repo, "side").dir_md5 == "d" * 32 + ".dir"


def test_project_in_a_subdirectory_of_the_git_repository(repo):
    sub = repo / "models"
    sub.mkdir()
    first = commit(sub, "vae", "e")
    assert read_revision(sub, first).registry.keys() == {"vae"}
    assert read_revision(sub, first).dir_md5 == "e" * 32 + ".dir"


def test_no_pins_and_no_registry_at_a_revision(repo):
    (repo / "README").write_text("before any checkpoint\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "empty")
    revision = read_revision(repo, "HEAD")
    with pytest.raises(CheckpointNotFound, match="has no checkpoints"):
        revision.lookup("vae")
    with pytest.raises(Exception, match=r"ckpts\.dvc does not exist at revision HEAD"):
        revision.require_pins()


def test_outside_git_and_bad_revisions(tmp_path, repo):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RevisionNotFound, match="use a git clone"):
        read_revision(plain, "HEAD")
    commit(repo, "vae", "a")
    with pytest.raises(RevisionNotFound, match="Unknown git revision 'HEAD~5'"):
        read_revision(repo, "HEAD~5")
    with pytest.raises(TypeError):
        read_revision(repo, 3)  # type: ignore[arg-type]
