"""`ckpt publish --version`: DVC's artifact tags, so `dvc artifacts get` and rev= find versions."""

from __future__ import annotations

import pytest
from helpers.history import VAE, content

# Each entry point has one test in the default suite (`make test`); the rest of its cases are in
# the slow tier (`make test-slow`).


def test_publish_tagged_only_what_changed(history):
    tags = set(history.git("tag", "--list").split())
    names = set(history.project.paths()) - {"extra_vae"}
    assert {f"{n}@v1.0.0" for n in names} <= tags
    assert {t for t in tags if t.endswith("@v1.1.0")} == {"mp_20_vae@v1.1.0"}
    assert {t for t in tags if t.endswith("@v1.2.0")} == {"mp_20_ldm_base@v1.2.0"}
    # Annotated (DVC ignores lightweight tags), on the commit that pins the bytes.
    assert history.git("cat-file", "-t", "mp_20_vae@v1.1.0") == "tag"
    assert history.git("rev-parse", "mp_20_vae@v1.1.0^{commit}") == history.commits["C2"]


@pytest.mark.parametrize(
    ("version", "expected"), [("v1.1.0", 1), pytest.param("v1.0.0", 0, marks=pytest.mark.slow)]
)
def test_dvc_artifacts_get_fetches_the_tagged_bytes(history, tmp_path, version, expected):
    out = tmp_path / "out.ckpt"
    history.project.dvc("artifacts", "get", ".", "mp_20_vae", "--rev", version, "-o", str(out))
    assert out.read_bytes() == content(VAE, expected)
    assert not (history.project.root / VAE).exists()  # the working tree was not touched


@pytest.mark.slow
def test_publish_version_commits_and_tags_the_next_change(history):
    p = history.project
    (p.root / VAE).parent.mkdir(parents=True, exist_ok=True)
    p.dvc("pull", "-q")
    (p.root / VAE).write_bytes(content(VAE, 3))
    out = p.ckpt("publish", "--no-mirror", "--version", "2.0.0", check=True).stdout
    # extra_vae never had a version: its first one is tagged too.
    tagged = next(line for line in out.splitlines() if line.startswith("Tagged: "))
    assert set(tagged.split()[1:]) == {"extra_vae@v2.0.0", "mp_20_vae@v2.0.0"}
    assert "git push --follow-tags" in out
    assert history.git("status", "--porcelain", "--", "ckpts.dvc", "dvc.yaml") == ""
    assert history.git("log", "-1", "--format=%s") == "Publish checkpoints v2.0.0"

    from ckpt import get_checkpoint

    assert get_checkpoint("mp_20_vae", rev="mp_20_vae@v2.0.0").read_bytes() == content(VAE, 3)

    # The same version again is refused before anything is pushed; so is a non-version.
    again = p.ckpt("publish", "--no-mirror", "--version", "2.0.0")
    assert (
        again.returncode == 1
        and "already published (extra_vae@v2.0.0, mp_20_vae@v2.0.0)" in again.stderr
    )
    bad = p.ckpt("publish", "--no-mirror", "--version", "latest")
    assert bad.returncode == 1 and "semantic versions" in bad.stderr

    # Nothing changed since: a new version tags nothing.
    out = p.ckpt("publish", "--no-mirror", "--version", "2.0.1", check=True).stdout
    assert "Tagged nothing" in out
