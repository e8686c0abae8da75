"""Putting checkpoints into place from the DVC cache: one copy on disk, no second pass.

By default a workspace file shares storage with its cache object: a reflink (the filesystem
shares extents, copy-on-write) where the filesystem can clone, otherwise a hard link to the
read-only object; a plain copy only when neither works (another filesystem). ``cache.type``
overrides the order (``copy`` gives separate copies). Each file goes to a temporary name and is
renamed, so a crash never leaves a partial or wrong checkpoint at its path.

An object that this call fetched from a remote that checked its md5 while it streamed (hf://) is
placed without being read again; any other object is hashed as it is placed, and bytes that do not
hash to the expected md5 never reach the checkpoint's path.

Why sharing storage stays safe: see RELIABILITY.md ("One copy on disk"). In short, objects are
read-only, every path is stamped with its inode, size and mtime, so a write through the link is
caught before the path is returned; the object it shares is then dropped and fetched again.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sys
from pathlib import Path

from ckpt.errors import CheckpointUnavailable
from ckpt.registry import TRACKED_DIR
from ckpt.stamps import STAMP_DIR

log = logging.getLogger("ckpt")

DEFAULT_LINKS = ["reflink", "hardlink", "copy"]
_KNOWN_LINKS = {"reflink", "hardlink", "symlink", "copy"}
# Errors that mean "this link type cannot work here": try the next one.
_LINK_UNSUPPORTED = {
    errno.EXDEV,
    errno.EPERM,
    errno.ENOTSUP,
    errno.EOPNOTSUPP,
    errno.EMLINK,
    errno.ENOSYS,
    errno.EINVAL,
    errno.ENOTTY,
}
_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)

TEMP_TAG = "ckpt-incoming-"
# Temporary names a killed process may leave in ckpts/: ours (`.NAME.ckpt-incoming-PID.tmp`), and
# dvc_objects.fs.utils.tmp_fname's `.<token_urlsafe(16)>.tmp` from an interrupted `dvc checkout`.
_STALE_TEMP = re.compile(rf"\..+\.{TEMP_TAG}\d+\.tmp|\.[A-Za-z0-9_-]{{22}}\.tmp")


def link_types(config: dict[str, dict[str, str]]) -> list[str]:
    """The link types to try, in order, from DVC's ``cache.type``; copy always comes last."""
    configured = config.get("cache", {}).get("type", "")
    types = [t.strip() for t in configured.split(",") if t.strip() in _KNOWN_LINKS]
    return [t for t in (types or DEFAULT_LINKS) if t != "copy"] + ["copy"]


def quarantine_path(root: Path, path: str, md5: str) -> Path:
    """Where bytes that failed verification are kept (never deleted): the file's path (under
    ``ckpts/``, or for a revision's copy under ckpt's own directory) inside the quarantine."""
    inside = Path(path)
    if inside.is_relative_to(STAMP_DIR):
        inside = inside.relative_to(STAMP_DIR)
    return root / STAMP_DIR / "quarantine" / f"{inside.as_posix()}.{md5}"


def place_all(
    root: Path,
    objects: dict[str, Path],
    expected: dict[str, str],
    trusted: set[str],
    links: list[str],
) -> dict[str, str]:
    """Put each path's cache object into place; path -> md5 of the bytes it now holds.

    ``trusted``: md5s whose objects were verified on their way into the cache (not read again).
    A path whose bytes do not match is left absent, its bytes kept in the quarantine.
    Files are placed in parallel: hashlib and file I/O release the GIL.
    """
    from concurrent.futures import ThreadPoolExecutor

    remove_stale_temp_files(root)

    def place(path: str) -> str:
        md5 = expected[path]
        try:
            return place_one(root, path, objects[path], md5, links, trusted=md5 in trusted)
        except OSError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise CheckpointUnavailable(
                f"Could not put {path} into place from the DVC cache: {reason}"
                + disk_hint(reason)
                + "\nFix the cause above, then run `ckpt pull` again."
            ) from exc

    with ThreadPoolExecutor(max_workers=max(1, min(len(expected), os.cpu_count() or 1))) as pool:
        return dict(zip(expected, pool.map(place, expected), strict=True))


def place_one(
    root: Path,
    path: str,
    obj: Path,
    md5: str,
    links: list[str],
    *,
    trusted: bool,
    read_only: bool = False,
) -> str:
    """Link or copy ``obj`` to ``root/path`` atomically; the md5 of the bytes placed.

    ``read_only``: a copy is made read-only too before it is renamed into place (a link shares
    the object's mode, which is read-only already).
    """
    from ckpt.hashing import file_md5

    dest = root / path
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{TEMP_TAG}{os.getpid()}.tmp")
    actual = None
    for link in links:
        tmp.unlink(missing_ok=True)
        try:
            actual = _make(link, obj, tmp, hashing=not trusted)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if link == "copy" or exc.errno not in _LINK_UNSUPPORTED:
                raise
            log.debug("%s into %s is not possible here (%s); trying the next way.", link, path, exc)
            continue
        break
    if actual is None:
        actual = md5 if trusted else file_md5(tmp)
    if actual != md5:
        # Never at the checkpoint's path: kept where the loader keeps every rejected file.
        bad = quarantine_path(root, path, actual)
        bad.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, bad)
        _drop_if_same(tmp, bad)
        return actual
    if read_only:
        os.chmod(tmp, 0o444)
    os.replace(tmp, dest)
    _drop_if_same(tmp, dest)
    return actual


def _drop_if_same(tmp: Path, dest: Path) -> None:
    # rename() between two hard links of one file does nothing and leaves the source name.
    if os.path.lexists(tmp):
        tmp.unlink()


def _make(link: str, obj: Path, tmp: Path, *, hashing: bool) -> str | None:
    """Create ``tmp`` from ``obj``; the md5 when it was computed on the way."""
    if link == "reflink":
        _reflink(obj, tmp)
    elif link == "hardlink":
        # The object's storage is the workspace file's: keep it read-only (DVC does too).
        if os.stat(obj).st_mode & 0o222:
            os.chmod(obj, 0o444)
        os.link(obj, tmp)
    elif link == "symlink":
        os.symlink(obj, tmp)
    elif hashing:
        return copy_hashing(obj, tmp)
    else:
        copy_fast(obj, tmp)
    return None


def _reflink(src: Path, dest: Path) -> None:
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOTSUP, "reflink is only tried on Linux (FICLONE)")
    import fcntl

    with open(src, "rb") as fin, open(dest, "xb") as fout:
        fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())


def copy_fast(src: Path, dest: Path) -> None:
    """A copy made by the kernel (copy_file_range shares extents where the filesystem can)."""
    import shutil

    with open(src, "rb") as fin, open(dest, "wb") as fout:
        if hasattr(os, "copy_file_range"):
            try:
                while os.copy_file_range(fin.fileno(), fout.fileno(), 1 << 30):
                    pass
                return
            except OSError as exc:
                if exc.errno not in _LINK_UNSUPPORTED:
                    raise
                fin.seek(0)
                fout.seek(0)
                fout.truncate()
        shutil.copyfileobj(fin, fout, 1 << 20)


def copy_hashing(src: Path, dest: Path) -> str:
    """Copy and md5 in one read of the bytes."""
    import hashlib

    from ckpt.hashing import CHUNK

    digest = hashlib.md5()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(src, "rb", buffering=0) as fin, open(dest, "wb", buffering=0) as fout:
        while n := fin.readinto(buf):
            digest.update(view[:n])
            fout.write(view[:n])
    return digest.hexdigest()


def remove_stale_temp_files(root: Path) -> None:
    # Under the checkout lock, so no other ckpt process is mid-copy.
    for path in (root / TRACKED_DIR).rglob(".*.tmp"):
        if _STALE_TEMP.fullmatch(path.name) and (path.is_file() or path.is_symlink()):
            log.info("Removing %s, left by an interrupted checkout.", path)
            path.unlink(missing_ok=True)


def shares_storage(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are one file (a hard link, or a symlink to it)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# How a full disk or quota shows through DVC: failed writes, and its sqlite state databases.
_DISK_FULL = ("No space left", "File too large", "Disk quota", "disk I/O error", "disk is full")


def disk_hint(text: str) -> str:
    if not any(sign in text for sign in _DISK_FULL):
        return ""
    return (
        "\nThis looks like a full disk (or a file-size or quota limit): free space where the DVC "
        "cache and ckpts/ live (the cache needs room for one more copy of each checkpoint)."
    )
