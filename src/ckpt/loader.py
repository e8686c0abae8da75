"""``get_checkpoint(name) -> Path``: a verified local path, fetched through DVC when missing.

Warm path (the everyday one): registry lookup, one ``stat`` and a stamp comparison; nothing heavy is
imported and nothing is re-hashed. Everything else takes the cold path, under a per-checkout lock so
that concurrent processes (pytest-xdist workers, parallel jobs) fetch each object once:
verify what is present, pull what is missing through DVC from the first remote that answers, verify
the result against the md5 DVC recorded, stamp it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ckpt import dvcfiles, stamps
from ckpt.errors import CheckpointSkipped, ChecksumMismatch
from ckpt.registry import (
    Artifact,
    check_inside,
    find_repo_root,
    load_registry,
    lookup,
)
from ckpt.settings import skip_downloads

TYPE_CHECKING = False  # typing stays off the warm path (see ckpt.memo)
if TYPE_CHECKING:
    import logging

    from ckpt.snapshot import Snapshot


def get_checkpoint(name: str, *, rev: str | None = None, force_download: bool = False) -> Path:
    """Local path of the checkpoint ``name`` (from ``dvc.yaml`` artifacts), verified against DVC.

    ``rev`` (a git tag, branch or commit, or ``NAME@VERSION``) gives the checkpoint as that
    revision pinned it, read from git without a checkout: a read-only copy under
    ``.dvc/tmp/ckpt/rev/`` with the original file name; the working tree's copy is not touched.

    Raises CheckpointNotFound (a KeyError) for an unknown name (at ``rev``, if given),
    RevisionNotFound (a LookupError) for a revision this clone lacks, CheckpointSkipped when it is
    missing and SKIP_CHECKPOINT_DOWNLOAD=true, CheckpointUnavailable (a RuntimeError) when no
    remote could supply it, ChecksumMismatch (a ValueError) when the fetched bytes are wrong.
    """
    root = find_repo_root()
    if rev is not None:
        from ckpt import versions

        return versions.get(root, name, rev, force=force_download)
    artifact = lookup(load_registry(root), name)
    if not force_download:
        path = warm_path(root, artifact)
        if path is not None:
            return path
    return ensure(root, [artifact], force=force_download)[artifact.path]


# (checkout, registry path) -> the file's absolute Path, built once: pathlib is slow per call.
_paths: dict[tuple[Path, str], Path] = {}


def warm_path(root: Path, artifact: Artifact) -> Path | None:
    """The path if its stamp proves it verified and unchanged since; else None (no hashing here)."""
    path = _paths.get((root, artifact.path))
    if path is None:
        path = _paths[root, artifact.path] = root / artifact.path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    stamp = stamps.load(root).get(artifact.path)
    if stamp is not None and stamp.matches(st) and stamp.dir_md5 == dvcfiles.tracked_dir_md5(root):
        return path
    return None


def ensure(root: Path, artifacts: Iterable[Artifact], *, force: bool = False) -> dict[str, Path]:
    """Make every artifact present and verified; path -> absolute path. The cold path."""
    from ckpt.locking import checkout_lock

    wanted = {a.path: a for a in artifacts}
    if skip_downloads() and not any((root / p).exists() for p in wanted):
        # Nothing to check and nothing to fetch: skip without taking (creating) the lock.
        raise _skipped(wanted, list(wanted))

    def present() -> bool:  # the warm path's check, which needs no lock
        return not force and all(warm_path(root, a) is not None for a in wanted.values())

    with checkout_lock(root, unless=present) as held:
        if not held:  # another process fetched them meanwhile
            return {p: root / p for p in wanted}
        # Imported only now: a caller that another's fetch served never needs them.
        from ckpt import fetch, snapshot

        snap = snapshot.take(root)
        for artifact in wanted.values():
            check_inside(root, artifact, snap.cache)
        fetch.restore_interrupted(root, list(wanted), snap.objects(wanted))
        missing = list(wanted) if force else _verify_present(snap, wanted)
        if not missing:
            return {p: root / p for p in wanted}
        if skip_downloads():
            raise _skipped(wanted, missing)
        with fetch.backed_up(root, missing, snap.objects(missing), enabled=force):
            placed = fetch.pull(snap, [wanted[p] for p in missing])
            _verify_fetched(snap, wanted, placed)
    return {p: root / p for p in wanted}


def _skipped(wanted: dict[str, Artifact], missing: list[str]) -> CheckpointSkipped:
    names = [wanted[p].name for p in missing]
    return CheckpointSkipped(
        f"Checkpoint(s) {', '.join(names)} not present and SKIP_CHECKPOINT_DOWNLOAD is set, so "
        f"nothing was fetched. Unset it and run `ckpt pull {' '.join(names)}`."
    )


def _verify_present(snap: Snapshot, wanted: dict[str, Artifact]) -> list[str]:
    """Paths still to fetch. Present files are checked; ones that fail are moved aside."""
    import contextlib

    from ckpt import fetch
    from ckpt.errors import CheckpointUnavailable
    from ckpt.hashing import hash_many
    from ckpt.place import shares_storage

    root = snap.root
    present = [p for p in wanted if (root / p).is_file()]
    if not present:
        return list(wanted)
    if snap.manifest is None and not skip_downloads():
        # Files but no manifest (ckpts/ copied in, cache cleared): fetch just the manifest so
        # the files can be checked, rather than downloading bytes that may already be here.
        with contextlib.suppress(CheckpointUnavailable):  # the full fetch that follows says why
            fetch.pull(snap, [])
    expected = snap.expected(wanted.values())
    if expected is None:
        return list(wanted)
    known = stamps.load(root)
    to_hash = []
    actual: dict[str, str] = {}
    for path in present:
        stamp = known.get(path)
        if stamp is not None and stamp.matches(os.stat(root / path)):
            actual[path] = stamp.md5
        else:
            to_hash.append(path)
    for abspath, md5 in hash_many(root / p for p in to_hash).items():
        actual[abspath.relative_to(root).as_posix()] = md5
    good = {
        p: stamps.make(root / p, actual[p], snap.dir_md5)
        for p in present
        if actual[p] == expected[p]
    }
    for path in present:
        if path not in good:
            obj = snap.object_path(expected[path])
            # A file sharing its cache object's storage (a hard link) was changed through it:
            # the object holds the same wrong bytes, so it goes too and is fetched again.
            shared = shares_storage(root / path, obj)
            where = quarantine(root, path, actual[path])
            if shared:
                obj.unlink(missing_ok=True)
            _log().warning(
                "%s does not match the md5 DVC recorded (expected %s, got %s); moved it to %s "
                "and fetching a fresh copy%s.",
                path,
                expected[path],
                actual[path],
                where,
                " (its cache object, which shared its storage, was dropped)" if shared else "",
            )
    if good:
        stamps.update(root, good)
    return [p for p in wanted if p not in good]


def _verify_fetched(snap: Snapshot, wanted: dict[str, Artifact], placed: dict[str, str]) -> None:
    """Compare what was put into place with what DVC recorded; stamp what matches.

    Placement left a path whose bytes did not match absent (bytes quarantined): its cache object is
    dropped and fetched from the remote once more.
    """
    from ckpt import fetch

    root = snap.root
    expected = snap.expected(wanted.values())
    assert expected is not None  # fetched with the files
    bad = {path: md5 for path, md5 in placed.items() if md5 != expected[path]}
    if bad:
        for path, md5 in bad.items():
            quarantine(root, path, md5)
            snap.object_path(expected[path]).unlink(missing_ok=True)
        again = fetch.pull(snap, [wanted[p] for p in bad])
        placed = {**placed, **again}
        for path, md5 in again.items():
            if md5 != expected[path]:
                where = quarantine(root, path, md5)
                snap.object_path(expected[path]).unlink(missing_ok=True)
                raise ChecksumMismatch(
                    f"{path} ({wanted[path].name}) does not match the known hash: expected md5 "
                    f"{expected[path]} but got {md5}, twice. The bad file was moved to {where} and "
                    "its cache copy deleted. The remote holds corrupt bytes: tell the maintainers."
                )
    stamps.update(root, {p: stamps.make(root / p, expected[p], snap.dir_md5) for p in placed})


def quarantine(root: Path, path: str, md5: str) -> Path:
    """Move a file that failed verification out of ``ckpts/`` (kept, never deleted)."""
    from ckpt.place import quarantine_path

    dest = quarantine_path(root, path, md5)
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = root / path
    if os.path.lexists(src):  # placement may have put the bytes there already
        try:
            os.replace(src, dest)
        except OSError:
            import shutil

            shutil.move(src, dest)
        if os.path.lexists(src):  # rename() between two hard links of one file is a no-op
            src.unlink()
    stamps.update(root, {path: None})
    return dest


def _log() -> logging.Logger:
    # logging costs ~5 ms of imports; the warm path never logs, so it is imported on first use.
    import logging

    return logging.getLogger("ckpt")
