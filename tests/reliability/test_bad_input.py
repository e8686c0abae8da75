"""Bad input through the CLI and plain dvc: a clear error, a non-zero exit, nothing good deleted.

The registry side of the catalogue (unknown name, malformed dvc.yaml, path traversal, symlink
escape, missing ckpts.dvc) is in tests/loader/test_registry.py and test_cli.py; this file covers
the remote side: malformed remote URL, missing repo, bad token, read-only token on push, and a
full disk.
"""

from __future__ import annotations

import resource
import signal
import subprocess
from pathlib import Path

import pytest
from helpers.project import CKPT
from helpers.reliability import (
    READ_TOKEN,
    HubProject,
    dirs_missing_files,
    remote_files,
    write_local_token,
    write_remote_config,
)

GOOD = "mp_20_vae"
MISSING = "alex_mp_20_vae"
BAD_TOKEN = "hf_TESTSECRETunknown9f8e7d6c5b4a39281706"


@pytest.fixture
def pulled(hub_project: HubProject) -> HubProject:
    """The project with one checkpoint pulled and verified: what must survive every failure."""
    assert hub_project.ckpt("-q", "pull", GOOD).returncode == 0
    return hub_project


def assert_good_kept(project: HubProject) -> None:
    path = project.root / project.paths()[GOOD]
    assert path.read_bytes() == project.expected(GOOD)
    assert project.ckpt("status", GOOD).returncode == 0
    strays = [p.name for p in (project.root / "ckpts").rglob("*") if p.name.endswith(".tmp")]
    assert strays == []


def break_url(url: str):
    return lambda p: write_remote_config(p.root, p.local_hub.url, url=url)


def set_token(token: str):
    return lambda p: write_local_token(p.root, token)


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        pytest.param(
            break_url("hf://chemeleon2"),
            ["does not name a Hub repository", "hf://ORG/REPO"],
            marks=pytest.mark.slow,
        ),
        pytest.param(
            break_url("hf://chemeleon2/no-such-repo"),
            ["was not found", "token"],
            marks=pytest.mark.slow,
        ),
        (set_token(BAD_TOKEN), ["401", "HF_TOKEN"]),
    ],
    ids=["malformed-url", "missing-repo", "bad-token"],
)
def test_pull_fails_clearly_and_keeps_what_was_there(pulled: HubProject, breakage, says):
    project = pulled
    breakage(project)
    for args in (["pull", MISSING], ["pull", "--force", GOOD]):
        result = project.ckpt(*args)
        assert result.returncode == 1, result.stderr
        assert "remote 'hf'" in result.stderr and "ckpt pull" in result.stderr
        for text in says:
            assert text in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert not (project.root / project.paths()[MISSING]).exists()
    plain = project.dvc("pull", check=False)
    assert plain.returncode != 0 and says[0] in plain.stderr, plain.stderr
    assert_good_kept(project)


def _stage_new_checkpoint(project: HubProject) -> None:
    project.dvc("pull", "-q")  # the whole tree, so that `dvc add` records every file
    new = project.root / "ckpts" / "extra.ckpt"
    new.write_bytes(b"extra weights\n" * 4000)
    project.dvc("add", "-q", "ckpts")


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        (set_token(READ_TOKEN), ["403", "write token"]),
        (break_url("hf://chemeleon2/no-such-repo"), ["was not found", "create_repo true"]),
        (break_url("hf://chemeleon2"), ["does not name a Hub repository"]),
    ],
    ids=["read-only-token", "missing-repo", "malformed-url"],
)
@pytest.mark.slow  # by default: the remote matrix's plain `dvc push` with a refused token
def test_push_fails_clearly_and_changes_nothing_remote(pulled: HubProject, breakage, says):
    project = pulled
    _stage_new_checkpoint(project)
    before = remote_files(project.local_hub)
    breakage(project)
    result = project.dvc("push", check=False)
    assert result.returncode != 0
    for text in says:
        assert text in result.stderr, result.stderr
    assert remote_files(project.local_hub) == before
    assert dirs_missing_files(project.local_hub) == {}
    assert_good_kept(project)


def _limit_file_size(limit: int):  # type: ignore[no-untyped-def]
    def preexec() -> None:
        # Without this, exceeding the limit kills the process (SIGXFSZ) instead of failing the
        # write with EFBIG, which is what a full disk (ENOSPC) looks like to the code.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_full_disk_fails_clearly_and_keeps_what_was_there(pulled: HubProject):
    project = pulled
    # Below the checkpoint's size; DVC's sqlite state databases hit it first, as on a full disk.
    limit = len(project.expected(MISSING)) // 2
    for args in (["pull", MISSING], ["pull", "--force", GOOD]):
        result = subprocess.run(
            [CKPT, *args], cwd=project.root, env=project.env, capture_output=True, text=True,
            timeout=120, preexec_fn=_limit_file_size(limit),
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "looks like a full disk" in result.stderr, result.stderr
        assert "ckpt pull" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (project.root / project.paths()[MISSING]).exists()
    assert_good_kept(project)
    partial = [p for p in Path(project.root, ".dvc", "cache").rglob("*") if p.name.endswith(".tmp")]
    assert partial == []
    # Once there is room again, the same command completes.
    assert project.ckpt("-q", "pull", MISSING).returncode == 0
