"""Placement: one copy on disk by default, separate copies on request, changes caught by stamps;
one snapshot of the checkout per cold call."""

import errno
import fcntl
import hashlib
import os

import pytest

from ckpt import dvcfiles, get_checkpoint, place
from ckpt.dvcfiles import cache_dir, object_path

NAME = "mp_20_vae"


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def reflink_works(directory) -> bool:
    """Whether this filesystem clones files (btrfs, XFS): then storage is shared by reflink."""
    src, dst = directory / ".reflink-src", directory / ".reflink-dst"
    src.write_bytes(b"x" * 4096)
    try:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            fcntl.ioctl(fout.fileno(), place._FICLONE, fin.fileno())
        return True
    except OSError as exc:
        assert exc.errno in place._LINK_UNSUPPORTED, exc
        return False
    finally:
        src.unlink()
        dst.unlink(missing_ok=True)


def object_of(project, path):
    return object_path(cache_dir(project.root), md5(path))


def test_by_default_the_file_shares_storage_with_its_cache_object(project):
    path = get_checkpoint(NAME)
    obj = object_of(project, path)
    if reflink_works(project.root):
        assert not os.path.samefile(path, obj)  # a clone: its own inode, shared extents
    else:
        assert os.path.samefile(path, obj)  # a hard link
        assert not os.stat(path).st_mode & 0o222, "a hard-linked checkpoint must be read-only"


def test_cache_type_copy_gives_separate_copies(project):
    project.dvc("config", "--local", "cache.type", "copy")
    path = get_checkpoint(NAME)
    obj = object_of(project, path)
    assert not os.path.samefile(path, obj)
    assert path.read_bytes() == obj.read_bytes()


def test_a_write_through_the_link_is_caught_and_the_cache_object_refetched(project, caplog):
    path = get_checkpoint(NAME)
    digest = md5(path)
    obj = object_of(project, path)
    shared = os.path.samefile(path, obj)
    # What a user with write permission (or root) can do: change the bytes in place.
    path.chmod(0o644)
    with open(path, "r+b") as f:
        f.write(b"overwritten")
    os.utime(path, ns=(0, 10**9))

    assert get_checkpoint(NAME) == path
    assert md5(path) == digest
    assert md5(obj) == digest  # the cache object is right again, not just the workspace file
    if shared:
        assert "its cache object, which shared its storage, was dropped" in caplog.text


def test_a_cache_object_changed_behind_a_missing_file_is_never_placed(project):
    path = get_checkpoint(NAME)
    digest = md5(path)
    obj = object_of(project, path)
    path.unlink()
    obj.chmod(0o644)
    with open(obj, "r+b") as f:
        f.write(b"bitrot")
    assert get_checkpoint(NAME) == path
    assert md5(path) == digest
    kept = list((project.root / ".dvc/tmp/ckpt/quarantine").rglob("*.ckpt.*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"bitrot")


def test_a_cold_call_reads_config_and_manifest_once(project, monkeypatch):
    parses, manifests = [], []
    real_parse, real_check = dvcfiles._parse_config_file, dvcfiles._check_manifest
    monkeypatch.setattr(
        dvcfiles, "_parse_config_file", lambda f: parses.append(f.name) or real_parse(f)
    )
    monkeypatch.setattr(
        dvcfiles, "_check_manifest", lambda *a: manifests.append(1) or real_check(*a)
    )
    monkeypatch.setattr(dvcfiles, "_configs", dvcfiles.FileMemo(dvcfiles._parse_config_file))

    get_checkpoint(NAME)  # fetches the manifest, then the file

    # ckpt's own reads (DVC parses its config itself): each file at most once.
    assert "config" in parses and len(parses) == len(set(parses)), parses
    assert len(manifests) == 1


@pytest.mark.parametrize("link", ["reflink", "hardlink"])
def test_a_link_type_the_filesystem_refuses_falls_through_to_the_next(tmp_path, monkeypatch, link):
    obj = tmp_path / "obj"
    obj.write_bytes(b"payload")
    digest = hashlib.md5(b"payload").hexdigest()

    def refuse(*args, **kwargs):
        raise OSError(errno.EXDEV, "not here")

    monkeypatch.setattr(place, "_reflink", refuse)
    monkeypatch.setattr(os, "link", refuse)
    got = place.place_one(tmp_path, "ckpts/x.ckpt", obj, digest, [link, "copy"], trusted=False)
    assert got == digest
    assert (tmp_path / "ckpts/x.ckpt").read_bytes() == b"payload"
    assert not os.path.samefile(tmp_path / "ckpts/x.ckpt", obj)
    assert not list((tmp_path / "ckpts").glob(".*.tmp"))
