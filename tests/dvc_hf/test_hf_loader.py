"""The loader's cold path (ckpt.get_checkpoint) pulling through an hf:// remote."""

import pytest
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
    asked = [r for r in shared_hub.requests()[since:] if repo_id in r["path"]]
    downloads = [r["path"] for r in asked if r["kind"] == "resolve" and r["method"] == "GET"]
    # One GET for the .dir manifest, one for that checkpoint, and nothing else: no existence
    # query before them (a GET answers 404 for an absent object anyway).
    assert len([p for p in downloads if p.endswith(".dir")]) == 1
    assert len([p for p in downloads if not p.endswith(".dir")]) == 1
    assert len(asked) == 2, [(r["kind"], r["path"]) for r in asked]
    # Into the cache as DVC keeps its objects: read-only, no partial download left beside them.
    cache = project.root / ".dvc" / "cache" / "files" / "md5"
    objects = [p for p in cache.rglob("*") if p.is_file()]
    assert len(objects) == 2 and all(p.stat().st_mode & 0o777 == 0o444 for p in objects)


def test_an_object_whose_bytes_do_not_match_its_name_is_refused(
    project: Project, shared_hub: LocalHub
):
    from huggingface_hub import HfApi

    from ckpt import CheckpointUnavailable
    from ckpt.dvcfiles import object_path, tracked_dir_md5

    repo_id = new_repo(shared_hub, "corrupt")
    project.dvc("pull", "-q", "-r", "local")
    project.dvc("remote", "add", "-f", "-d", "hf", f"hf://datasets/{repo_id}")
    project.dvc("remote", "modify", "hf", "endpoint", shared_hub.url)
    project.dvc("push", "-q", "-r", "hf")
    project.dvc("remote", "remove", "local")
    # Replace one object on the Hub with other bytes under the same name.
    manifest = object_path(project.root / ".dvc" / "cache", tracked_dir_md5(project.root))
    md5 = next(e["md5"] for e in __import__("json").loads(manifest.read_bytes())
               if e["relpath"] == "mp_20/vae/dng_m4owq4i5_v0.ckpt")  # fmt: skip
    HfApi(endpoint=shared_hub.url).upload_file(
        path_or_fileobj=b"\0not the checkpoint" * 100,
        path_in_repo=f"files/md5/{md5[:2]}/{md5[2:]}",
        repo_id=repo_id,
        repo_type="dataset",
    )
    project.delete_local()

    plain = project.dvc("pull", "-r", "hf", check=False)
    assert plain.returncode != 0  # plain `dvc pull` refuses it too, without DVC's verify pass
    assert not (project.root / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt").exists()

    project.delete_local()
    try:
        get_checkpoint("mp_20_vae")
    except CheckpointUnavailable as exc:
        assert "not to the object's name" in str(exc)
    else:
        raise AssertionError("a corrupt remote object was returned")
    assert not object_path(project.root / ".dvc" / "cache", md5).exists()


def _hf_only(project: Project, hub: LocalHub, prefix: str) -> tuple[str, dict[str, str]]:
    """Publish the project to a new Hub repo, make it the only remote, forget every local copy;
    (repo id, manifest)."""
    from ckpt.dvcfiles import load_manifest, tracked_dir_md5

    repo_id = new_repo(hub, prefix)
    project.dvc("pull", "-q", "-r", "local")
    manifest = load_manifest(project.root, tracked_dir_md5(project.root)) or {}
    project.dvc("remote", "add", "-f", "-d", "hf", f"hf://datasets/{repo_id}")
    project.dvc("remote", "modify", "hf", "endpoint", hub.url)
    project.dvc("push", "-q", "-r", "hf")
    project.dvc("remote", "remove", "local")
    project.delete_local()
    return repo_id, manifest


@pytest.mark.slow
def test_objects_verified_while_streaming_are_not_read_again(
    project: Project, shared_hub: LocalHub, monkeypatch
):
    from ckpt import hashing, place

    _hf_only(project, shared_hub, "onepass")

    def refuse(*args, **kwargs):
        raise AssertionError("a checkpoint fetched through hf:// was hashed again")

    monkeypatch.setattr(hashing, "file_digest", refuse)
    monkeypatch.setattr(place, "copy_hashing", refuse)
    path = get_checkpoint("mp_20_vae")
    relpath = "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
    assert path.read_bytes() == checkpoint_bytes(relpath)


@pytest.mark.slow
def test_all_objects_download_at_once(project: Project, shared_hub: LocalHub):
    from helpers.reliability import dvc_object_path

    repo_id, manifest = _hf_only(project, shared_hub, "parallel")
    names = ["mp_20_vae", "alex_mp_20_vae", "mp_20_ldm"]
    md5s = {manifest[project.paths()[n].removeprefix("ckpts/")] for n in names}
    assert len(md5s) == 3
    # Each object's answer is held 0.5 s, so downloads one after another cannot overlap.
    for md5 in md5s:
        shared_hub.inject("resolve", method="GET", path=dvc_object_path(md5), delay=0.5, times=1)
    since = len(shared_hub.requests())
    result = project.ckpt("pull", *names)
    assert result.returncode == 0, result.stderr
    gets = [
        r
        for r in shared_hub.requests()[since:]
        if r["kind"] == "resolve" and r["method"] == "GET" and repo_id in r["path"]
        and not r["path"].endswith(".dir")
    ]  # fmt: skip
    assert len(gets) == 3
    starts = [r["ts"] - r["ms"] / 1000 for r in gets]
    assert max(starts) < min(r["ts"] for r in gets), "an object waited for another one"


@pytest.mark.slow
def test_a_refused_object_among_several_never_lands_in_the_cache(
    project: Project, shared_hub: LocalHub
):
    from huggingface_hub import HfApi

    from ckpt.dvcfiles import object_path

    repo_id, manifest = _hf_only(project, shared_hub, "refused")
    bad = manifest["mp_20/vae/dng_m4owq4i5_v0.ckpt"]
    HfApi(endpoint=shared_hub.url).upload_file(
        path_or_fileobj=b"\0not the checkpoint" * 100,
        path_in_repo=f"files/md5/{bad[:2]}/{bad[2:]}",
        repo_id=repo_id,
        repo_type="dataset",
    )
    # Several objects in one transfer: DVC reports a failed one through its error handler,
    # which used to let the refused download be renamed into the cache.
    assert project.dvc("pull", check=False).returncode != 0
    cache = project.root / ".dvc" / "cache"
    assert not object_path(cache, bad).exists()
    assert all(object_path(cache, md5).exists() for md5 in set(manifest.values()) - {bad})


def test_pull_shows_a_byte_progress_bar_on_a_terminal(project: Project, shared_hub: LocalHub):
    repo_id, _ = _hf_only(project, shared_hub, "progress")
    # DVC_IGNORE_ISATTY draws the bars as on a terminal, for ckpt's hf:// fetch as for DVC's.
    project.env["DVC_IGNORE_ISATTY"] = "true"
    out = project.ckpt("pull", "mp_20_vae", check=True)
    assert f"Fetching from hf://datasets/{repo_id}" in out.stderr
    assert "B/s]" in out.stderr  # a tqdm bar counting bytes
    project.env.pop("DVC_IGNORE_ISATTY")
    project.delete_local()
    quiet = project.ckpt("pull", "mp_20_vae", check=True)
    assert "B/s]" not in quiet.stderr  # no terminal, no bars in logs
