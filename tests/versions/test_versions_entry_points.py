"""rev= through the other entry points: the pytest marker and load_checkpoint."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from helpers.history import VAE, content
from helpers.project import run

# Each entry point has one test in the default suite (`make test`); the rest of its cases are in
# the slow tier (`make test-slow`).

MARKED = """
import hashlib
import pytest

@pytest.mark.slow
@pytest.mark.requires_checkpoints("mp_20_vae", "mp_20_ldm_base", rev="mp_20_vae@v1.1.0")
def test_old_vae(checkpoint_paths):
    path = checkpoint_paths["mp_20_vae"]
    assert path.name == "dng_m4owq4i5_v0.ckpt"
    assert hashlib.md5(path.read_bytes()).hexdigest() == "{md5}"
    assert "/.dvc/tmp/ckpt/rev/" in path.as_posix()
"""


@pytest.fixture
def run_marked(history, pytester):
    def run_marked(source):
        pytester.makepyfile(test_marked=source)
        return pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")

    return run_marked


def test_marker_with_rev_hands_the_old_bytes_to_the_test(run_marked, history):
    result = run_marked(MARKED.replace("{md5}", hashlib.md5(content(VAE, 1)).hexdigest()))
    result.assert_outcomes(passed=1)
    assert not (history.project.root / VAE).exists()  # the working tree was not touched


@pytest.mark.slow
def test_marker_with_rev_skips_when_it_cannot_fetch(run_marked, monkeypatch):
    monkeypatch.setenv("SKIP_CHECKPOINT_DOWNLOAD", "true")
    result = run_marked(MARKED)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*checkpoints missing as of mp_20_vae@v1.1.0 (*): mp_20_vae mp_20_ldm_base*"
         "`ckpt pull mp_20_vae mp_20_ldm_base --rev mp_20_vae@v1.1.0`*"]
    )  # fmt: skip


@pytest.mark.slow
def test_marker_with_unknown_rev_is_an_error_not_a_skip(run_marked):
    result = run_marked(MARKED.replace("mp_20_vae@v1.1.0", "no-such-tag"))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Unknown git revision 'no-such-tag'*"])


def test_load_checkpoint_at_a_revision(history):
    torch = pytest.importorskip("torch")
    from ckpt import load_checkpoint

    p = history.project
    p.dvc("pull", "-q")
    for epoch in (1, 2):
        torch.save({"epoch": epoch, "state_dict": {"w": torch.ones(2) * epoch}}, p.root / VAE)
        p.dvc("add", "-q", "ckpts")
        p.dvc("push", "-q")
        run(["git", "commit", "-q", "-am", f"torch epoch {epoch}"], cwd=p.root, env=p.env)
        if epoch == 1:
            run(["git", "tag", "-a", "mp_20_vae@v3.0.0", "-m", "v3"], cwd=p.root, env=p.env)
    assert load_checkpoint("mp_20_vae")["epoch"] == 2
    old = load_checkpoint("mp_20_vae", rev="mp_20_vae@v3.0.0")
    assert old["epoch"] == 1 and old["state_dict"]["w"].tolist() == [1.0, 1.0]
    assert load_checkpoint("mp_20_vae")["epoch"] == 2  # the working tree's copy is untouched
    with pytest.raises(TypeError, match="registry name"):
        load_checkpoint(Path(p.root / VAE), rev="mp_20_vae@v3.0.0")


def test_checkpoint_path_and_resolve_checkpoint_path_take_rev(history):
    from ckpt import UnknownCheckpoint, checkpoint_path, resolve_checkpoint_path

    rev = "mp_20_vae@v1.1.0"
    where = checkpoint_path("mp_20_vae", rev=rev)
    assert not where.exists()  # a name, not a fetch
    assert where != checkpoint_path("mp_20_vae")
    got = resolve_checkpoint_path("mp_20_vae", rev=rev)
    assert got == where and got.read_bytes() == content(VAE, 1)
    assert not (history.project.root / VAE).exists()  # the working tree was not touched
    # A name that only a later commit registered is unknown at the older revision.
    with pytest.raises(UnknownCheckpoint, match=r"at revision mp_20_vae@v1\.1\.0"):
        resolve_checkpoint_path("extra_vae", rev=rev)
