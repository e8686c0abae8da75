"""An older version by tag, fetched through the hf:// remote from the local Hub."""

from __future__ import annotations

import shutil

import pytest
from helpers.dvc_cli import new_repo
from helpers.history import VAE, content

from ckpt import get_checkpoint

pytestmark = pytest.mark.slow


def test_old_version_comes_from_the_hub_by_tag(history, local_hub):
    p = history.project
    repo_id = new_repo(local_hub, "versions")
    p.dvc("remote", "add", "-f", "-d", "hf", f"hf://datasets/{repo_id}")
    p.dvc("remote", "modify", "hf", "endpoint", local_hub.url)
    # Push what the tagged commit pins. (`dvc push --all-commits` would read each commit's own
    # .dvc/config, where neither 'hf' nor the relative path of 'local' means the same.)
    shutil.copytree(p.remote / "files", p.root / ".dvc" / "cache" / "files")
    (p.root / "ckpts.dvc").write_bytes(history.git("show", "mp_20_vae@v1.1.0:ckpts.dvc").encode())
    p.dvc("push", "-q", "-r", "hf")
    history.git("checkout", "--", "ckpts.dvc")
    p.dvc("remote", "remove", "local")  # the Hub is the only way to the bytes now
    p.delete_local()
    since = len(local_hub.requests())

    # The remotes are the working tree's: the tagged commit's own .dvc/config still says 'local'.
    path = get_checkpoint("mp_20_vae", rev="mp_20_vae@v1.1.0")

    assert path.read_bytes() == content(VAE, 1)
    downloads = [
        r["path"]
        for r in local_hub.requests()[since:]
        if r["kind"] == "resolve" and r["method"] == "GET" and repo_id in r["path"]
    ]
    # that revision's .dir manifest (DVC reads it, then stores it: two GETs) and the one
    # checkpoint, nothing else
    assert len({d for d in downloads if d.endswith(".dir")}) == 1
    assert len([d for d in downloads if not d.endswith(".dir")]) == 1
