"""The loader's cold path (ckpt.get_checkpoint) pulling through an hf:// remote."""

from helpers.dvc_cli import new_repo
from helpers.hub import LocalHub
from helpers.project import Project, checkpoint_bytes

from ckpt import get_checkpoint


def test_get_checkpoint_cold_path_pulls_through_hf(project: Project, shared_hub: LocalHub):
    repo_id = new_repo(shared_hub, "loader")
    project.dvc("pull", "-q", "-r", "local")
    project.dvc("remote", "add", "-f", "-d", "hf", f"hf://datasets/{repo_id}")
    project.dvc("remote", "modify", "hf", "endpoint", shared_hub.url)
    project.dvc("push", "-q", "-r", "hf")
    project.dvc("remote", "remove", "local")  # hf:// is now the only way to the bytes
    project.delete_local()
    since = len(shared_hub.requests())

    path = get_checkpoint("mp_20_vae")

    relpath = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
    assert path == project.root / relpath
    assert path.read_bytes() == checkpoint_bytes(relpath)
    downloads = [
        r["path"]
        for r in shared_hub.requests()[since:]
        if r["kind"] == "resolve" and r["method"] == "GET" and repo_id in r["path"]
    ]
    # the .dir manifest (read, then fetched into the cache) and that one checkpoint, no other
    objects = [p for p in downloads if not p.endswith(".dir")]
    assert len(objects) == 1
    assert len(downloads) <= 3
