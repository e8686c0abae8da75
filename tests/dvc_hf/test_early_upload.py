"""Large objects upload while DVC is still staging the push; the commit redoes a failed one."""

from __future__ import annotations

import hashlib
import os
import shutil
import time

from helpers.dvc_cli import DvcCli
from helpers.hub import LocalHub
from huggingface_hub import HfApi
from test_hf_cli import tree_md5s, use_remote

from dvc_hf.commits import LFS_THRESHOLD
from dvc_hf.fs import HfFileSystem

MiB = 1024 * 1024


def _data_with_one_large_object(cli: DvcCli) -> tuple[str, dict[str, str]]:
    """Three small text files and one object above the LFS threshold; its sha256, the md5s."""
    data = cli.root / "data"
    data.mkdir()
    for i in range(3):
        (data / f"{i}.txt").write_text(f"sample {i}\n")
    large = os.urandom(LFS_THRESHOLD + MiB)
    (data / "model.ckpt").write_bytes(large)
    cli.ok("add", "data")
    return hashlib.sha256(large).hexdigest(), tree_md5s(data)


def _pulled_again(cli: DvcCli) -> dict[str, str]:
    shutil.rmtree(cli.root / ".dvc" / "cache")
    shutil.rmtree(cli.root / "data")
    cli.ok("pull")
    return tree_md5s(cli.root / "data")


def test_a_large_object_uploads_when_staged_before_any_commit(local_hub: LocalHub, tmp_path):
    hub = local_hub
    fs = HfFileSystem(endpoint=hub.url, create_repo=True)
    root = "datasets/acme/first-push"  # absent: the push creates it (create_repo), once
    large, small = tmp_path / "large", tmp_path / "small"
    large.write_bytes(os.urandom(LFS_THRESHOLD + MiB))
    small.write_bytes(b"\0" + os.urandom(1023))  # binary: LFS too
    sha256 = hashlib.sha256(large.read_bytes()).hexdigest()

    with fs.staging("dvc push") as staging:
        staging.add(str(large), f"{root}/files/md5/aa/{'1' * 30}")
        staging.add(str(small), f"{root}/files/md5/bb/{'2' * 30}")
        # Nothing is committed yet, but the large object's content is already on its way.
        deadline = time.monotonic() + 60
        while not hub.requests(kind="lfs-upload", status=200):
            assert time.monotonic() < deadline, "the large object was not uploaded early"
            time.sleep(0.05)
        assert not hub.requests(kind="commit")
    assert staging.commit_all() == set()

    kinds = [r["kind"] for r in hub.requests()]
    assert kinds.count("create-repo") == 1 and kinds.count("commit") == 1
    assert [sha256 in r["path"] for r in hub.requests(kind="lfs-upload", status=200)] == [
        True,
        False,  # the small object, at commit time
    ]
    files = HfApi(endpoint=hub.url).list_repo_files("acme/first-push", repo_type="dataset")
    assert {f"files/md5/aa/{'1' * 30}", f"files/md5/bb/{'2' * 30}"} <= set(files)


def test_a_failed_early_upload_is_done_again_by_the_commit(dvc_cli: DvcCli, local_hub: LocalHub):
    cli, hub = dvc_cli, local_hub
    repo_id = "acme/refused-once"
    use_remote(cli, hub, repo_id, ("create_repo", "true"))
    sha256, expected = _data_with_one_large_object(cli)
    # The first LFS batch request is the early upload's: refused, and not retried by the client.
    hub.inject("lfs-batch", status=403, times=1)

    cli.ok("push")
    assert [r["status"] for r in hub.requests(kind="lfs-batch")] == [403, 200]
    assert [sha256 in r["path"] for r in hub.requests(kind="lfs-upload", status=200)] == [True]
    assert "in sync" in cli.ok("status", "-c").stdout
    assert _pulled_again(cli) == expected
