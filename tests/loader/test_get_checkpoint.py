"""get_checkpoint end to end against a local directory remote, through the real DVC."""

import hashlib
import json
import os
import shutil

import pytest
from helpers.project import checkpoint_bytes

from ckpt import (
    CheckpointNotFound,
    CheckpointSkipped,
    CheckpointUnavailable,
    ChecksumMismatch,
    get_checkpoint,
    hashing,
)
from ckpt.dvcfiles import cache_dir, object_path, tracked_dir_md5


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def expected_md5(project, name):
    """The md5 DVC recorded, read from the published manifest on the remote."""
    manifest = json.loads(object_path(project.remote, tracked_dir_md5(project.root)).read_bytes())
    relpath = project.paths()[name].removeprefix("ckpts/")
    return next(e["md5"] for e in manifest if e["relpath"] == relpath)


def test_cold_pull_fetches_only_that_file_and_verifies(project):
    path = get_checkpoint("mp_20_vae")
    assert path == project.root / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
    assert path.read_bytes() == checkpoint_bytes("ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt")
    assert md5(path) == expected_md5(project, "mp_20_vae")
    # Only the one checkpoint was checked out: the others stay missing.
    present = sorted(p.relative_to(project.root).as_posix() for p in project.root.rglob("*.ckpt"))
    assert present == ["ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"]


def test_warm_path_does_not_rehash(project, monkeypatch):
    path = get_checkpoint("alex_mp_20_vae")

    def refuse(*args, **kwargs):
        raise AssertionError("the warm path hashed a file")

    monkeypatch.setattr(hashing, "file_digest", refuse)
    assert get_checkpoint("alex_mp_20_vae") == path


def test_aliases_share_one_file(project):
    assert get_checkpoint("mp_20_ldm") == get_checkpoint("mp_20_ldm_rl")


def test_works_from_a_subdirectory_without_ckpt_repo(project, monkeypatch):
    monkeypatch.delenv("CKPT_REPO")
    sub = project.root / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert get_checkpoint("mp_20_vae") == project.root / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"


def test_modified_file_is_detected_moved_aside_and_refetched(project, caplog):
    path = get_checkpoint("mp_20_vae")
    good = path.read_bytes()
    path.chmod(0o644)  # placed read-only (it shares storage with its cache object)
    path.write_bytes(b"fine-tuned in place" + good[19:])
    os.utime(path, ns=(0, 10**9))  # a different mtime: the stamp no longer matches
    assert get_checkpoint("mp_20_vae") == path
    assert path.read_bytes() == good
    kept = list((project.root / ".dvc/tmp/ckpt/quarantine").rglob("*.ckpt.*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"fine-tuned in place")
    assert "does not match the md5 DVC recorded" in caplog.text


def test_unstamped_present_file_is_hashed_once_and_stamped(project, monkeypatch):
    path = get_checkpoint("mp_20_vae")
    shutil.rmtree(project.root / ".dvc/tmp/ckpt")
    calls = []
    real = hashing.file_digest
    monkeypatch.setattr(hashing, "file_digest", lambda *a: calls.append(a) or real(*a))
    assert get_checkpoint("mp_20_vae") == path
    assert get_checkpoint("mp_20_vae") == path
    assert len(calls) == 1


def test_force_download_refetches_from_remote(project):
    path = get_checkpoint("mp_20_vae")
    obj = object_path(cache_dir(project.root), expected_md5(project, "mp_20_vae"))
    inode = os.stat(obj).st_ino
    assert get_checkpoint("mp_20_vae", force_download=True) == path
    assert md5(path) == expected_md5(project, "mp_20_vae")
    assert os.stat(obj).st_ino != inode  # a new copy came from the remote
    assert not (project.root / ".dvc/tmp/ckpt/backup").exists() or not any(
        (project.root / ".dvc/tmp/ckpt/backup").rglob("*.ckpt")
    )


def test_force_download_with_unreachable_remote_keeps_the_good_copy(project):
    path = get_checkpoint("mp_20_vae")
    good = path.read_bytes()
    shutil.rmtree(project.remote)
    with pytest.raises(CheckpointUnavailable):
        get_checkpoint("mp_20_vae", force_download=True)
    assert path.read_bytes() == good
    assert get_checkpoint("mp_20_vae") == path  # still warm and verified


def test_unknown_name_lists_names_and_closest_match(project):
    with pytest.raises(CheckpointNotFound) as info:
        get_checkpoint("mp20_vae")
    message = str(info.value)
    assert "Did you mean 'mp_20_vae'?" in message
    assert "alex_mp_20_ldm_base" in message
    assert isinstance(info.value, KeyError)


def test_skip_env_raises_without_touching_the_remote(project, monkeypatch):
    monkeypatch.setenv("SKIP_CHECKPOINT_DOWNLOAD", "true")
    shutil.rmtree(project.remote)  # any attempt to fetch would fail differently
    with pytest.raises(CheckpointSkipped, match="SKIP_CHECKPOINT_DOWNLOAD"):
        get_checkpoint("mp_20_vae")
    assert not (project.root / ".dvc/cache").exists()
    # Nothing to check, nothing to fetch: not even the checkout lock is created.
    assert not (project.root / ".dvc/tmp/ckpt").exists()


def test_skip_env_still_returns_present_checkpoints(project, monkeypatch):
    path = get_checkpoint("mp_20_vae")
    monkeypatch.setenv("SKIP_CHECKPOINT_DOWNLOAD", "true")
    assert get_checkpoint("mp_20_vae") == path


def test_unreachable_remote_says_why_and_which_command(project):
    shutil.rmtree(project.remote)
    with pytest.raises(CheckpointUnavailable) as info:
        get_checkpoint("mp_20_vae")
    message = str(info.value)
    assert "remote 'local'" in message
    assert "ckpt pull mp_20_vae" in message
    assert isinstance(info.value, RuntimeError)


def test_no_remote_configured(project):
    project.dvc("remote", "remove", "local")
    with pytest.raises(CheckpointUnavailable, match="no DVC remote is configured"):
        get_checkpoint("mp_20_vae")


def test_corrupt_object_on_remote_is_refused_and_quarantined(project):
    digest = expected_md5(project, "mp_20_vae")
    remote_obj = object_path(project.remote, digest)
    remote_obj.chmod(0o644)
    remote_obj.write_bytes(b"corrupted" + remote_obj.read_bytes()[9:])
    with pytest.raises(ChecksumMismatch) as info:
        get_checkpoint("mp_20_vae")
    message = str(info.value)
    assert digest in message and "moved to" in message
    assert isinstance(info.value, ValueError)
    assert not (project.root / "ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt").exists()
    assert not object_path(cache_dir(project.root), digest).exists()


def test_corrupt_local_cache_object_is_never_returned(project):
    path = get_checkpoint("mp_20_vae")
    digest = expected_md5(project, "mp_20_vae")
    path.unlink()
    cached = object_path(cache_dir(project.root), digest)
    cached.chmod(0o644)
    cached.write_bytes(b"bitrot" + cached.read_bytes()[6:])
    assert get_checkpoint("mp_20_vae") == path
    assert md5(path) == digest  # fetched again from the remote, not copied from the bad cache


def test_falls_back_to_the_next_remote(project, caplog):
    project.dvc("remote", "add", "-q", "backup", "../remote")
    project.dvc("remote", "add", "-q", "-f", "-d", "broken", "../nowhere")
    assert md5(get_checkpoint("mp_20_vae")) == expected_md5(project, "mp_20_vae")
    assert "Remote 'broken' could not supply mp_20_vae" in caplog.text
    assert "Fetched mp_20_vae from remote 'local'" in caplog.text


def test_copies_set_aside_by_a_killed_forced_refetch_are_restored(project):
    path = get_checkpoint("mp_20_vae")
    digest = expected_md5(project, "mp_20_vae")
    obj = object_path(cache_dir(project.root), digest)
    # What `force_download=True` had done when it was killed: both copies set aside.
    backup = project.root / ".dvc/tmp/ckpt/backup/ckpts/mp_20/vae/dng_m4owq4i5_v0.ckpt"
    backup.parent.mkdir(parents=True)
    os.replace(path, backup)
    os.replace(obj, obj.with_name(obj.name + ".ckpt-backup"))
    shutil.rmtree(project.remote)  # so they can only come back from the backups

    assert get_checkpoint("mp_20_vae") == path
    assert md5(path) == digest and obj.exists()
    assert not backup.exists() and not obj.with_name(obj.name + ".ckpt-backup").exists()


def test_present_files_without_a_manifest_are_checked_not_downloaded_again(project):
    path = get_checkpoint("mp_20_vae")
    inode = os.stat(path).st_ino
    # ckpts/ copied in from elsewhere: no DVC cache, no stamps.
    shutil.rmtree(project.root / ".dvc/cache")
    shutil.rmtree(project.root / ".dvc/tmp/ckpt")

    assert get_checkpoint("mp_20_vae") == path
    assert os.stat(path).st_ino == inode  # verified in place, not replaced
    cached = [p.name for p in (project.root / ".dvc/cache").rglob("*") if p.is_file()]
    assert cached == [tracked_dir_md5(project.root)[2:]]  # only the manifest was fetched
