"""A checkpoint as it was at a git revision: a verified, read-only copy beside the working tree's.

``get_checkpoint(name, rev=R)`` reads the registry and pin at R from git (``ckpt.revisions``), fetches
the object by its md5 into the DVC cache when it is not there, and links (else copies) it to
``.dvc/tmp/ckpt/rev/<dir md5>/<path under ckpts/>``: the original file name, one directory per pinned
``ckpts/`` tree, never the working tree's own ``ckpts/``. The copy is hashed as it is placed and
compared with the md5 DVC recorded at R, made read-only and stamped; later calls cost a ``stat`` and
a stamp comparison, as on the working tree's warm path.

A hard link costs no disk space: the copy shares the cache object's bytes, which DVC keeps
read-only. Unlike the working tree's files, nobody trains into these, so no ``cache.type`` choice
is needed to keep writes away from the cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ckpt import dvcfiles, stamps
from ckpt.errors import CheckpointSkipped, CheckpointUnavailable, ChecksumMismatch
from ckpt.memo import joined
from ckpt.registry import Artifact
from ckpt.revisions import REV_DIR, Revision, read_revision
from ckpt.stamps import Stamp


def get(root: Path, name: str, rev: str, *, force: bool = False) -> Path:
    """Path of ``name`` as pinned at ``rev``, fetched and verified if needed (get_checkpoint's rev=)."""
    revision = read_revision(root, rev)
    artifact = revision.lookup(name)
    if not force:
        path = warm_copy(root, revision, artifact)
        if path is not None:
            return path
    return ensure(root, revision, [artifact], force=force)[artifact.name]


def path_at(root: Path, name: str, rev: str) -> Path:
    """Where ``get`` puts ``name`` as of ``rev``, whether or not it is there yet. Reads git only."""
    revision = read_revision(root, rev)
    return copy_path(root, revision, revision.lookup(name))


def copy_path(root: Path, revision: Revision, artifact: Artifact) -> Path:
    return root / REV_DIR / _key(revision.require_pins(), artifact)


# (checkout, copy key) -> the copy's absolute Path, built once: pathlib is slow per warm call.
_copies: dict[tuple[Path, str], Path] = {}


def warm_copy(root: Path, revision: Revision, artifact: Artifact) -> Path | None:
    """The copy if its stamp proves it was verified and is unchanged since; else None (no hashing)."""
    key = _key(revision.require_pins(), artifact)
    path = _copies.get((root, key))
    if path is None:
        path = _copies[root, key] = root / REV_DIR / key
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    stamp = _load_stamps(root).get(key)
    if stamp is not None and stamp.matches(st):
        return path
    return None


def ensure(
    root: Path, revision: Revision, artifacts: Iterable[Artifact], *, force: bool = False
) -> dict[str, Path]:
    """Make each artifact's copy as of ``revision`` present and verified; name -> path. The cold path."""
    from ckpt.locking import checkout_lock

    artifacts = list({a.name: a for a in artifacts}.values())
    paths = {a.name: copy_path(root, revision, a) for a in artifacts}
    with checkout_lock(root):
        # Another process may have placed them while this one waited for the lock.
        todo = [a for a in artifacts if force or warm_copy(root, revision, a) is None]
        if todo:
            _bring(root, revision, list({a.path: a for a in todo}.values()), force=force)
    return paths


def survey_at(
    root: Path, revision: Revision, artifacts: Iterable[Artifact]
) -> list[dict[str, object]]:
    """What ``ckpt list --rev`` shows: for each artifact, its md5 at ``revision``, and whether its copy
    is there ("verified"), only its object is in the DVC cache ("cached"), or neither ("missing");
    "unknown" while the manifest pinned at ``revision`` is not in the cache. Never fetches or hashes."""
    manifest = dvcfiles.load_manifest(root, revision.dir_md5) if revision.dir_md5 else None
    cache = dvcfiles.cache_dir(root)
    entries = []
    for a in artifacts:
        md5 = manifest.get(dvcfiles.manifest_key(a.path)) if manifest else None
        copy = root / REV_DIR / _key(revision.dir_md5, a) if revision.dir_md5 else None
        size = None
        if manifest is None:
            state = "unknown"
        elif md5 is None:
            state = "untracked"
        elif warm_copy(root, revision, a) is not None:
            state = "verified"
        else:
            state = "missing"
        for candidate in (copy, dvcfiles.object_path(cache, md5) if md5 else None):
            if candidate is not None and candidate.is_file():
                size = candidate.stat().st_size
                if state == "missing":
                    state = "cached"
                break
        entries.append(
            {
                "name": a.name,
                "path": a.path,
                "md5": md5,
                "size": size,
                "state": state,
                "copy": str(copy) if copy else None,
                "desc": a.desc,
            }
        )
    return entries


def _bring(root: Path, revision: Revision, artifacts: Sequence[Artifact], *, force: bool) -> None:
    from ckpt import fetch, place

    names = " ".join(a.name for a in artifacts)
    dir_md5 = revision.require_pins()
    manifest = dvcfiles.load_manifest(root, dir_md5)
    if manifest is None:
        _refuse_if_skipping(revision, names)
        fetch.fetch_objects(root, [dir_md5], f"the manifest {dir_md5} pinned at {revision.label}")
        manifest = dvcfiles.load_manifest(root, dir_md5) or {}
    md5s = dvcfiles.select(manifest, artifacts, at=revision.label)
    cache = dvcfiles.cache_dir(root)
    objects = list(dict.fromkeys(md5s.values()))
    cached = [dvcfiles.object_path(cache, m) for m in objects]
    fetch.restore_interrupted(root, [], cached)
    with fetch.backed_up(root, [], cached, enabled=force):
        missing = [m for m, obj in zip(objects, cached, strict=True) if not obj.exists()]
        if missing:
            _refuse_if_skipping(revision, names)
            fetch.fetch_objects(root, missing, f"{names} as of {revision.label}")
        by_path = {a.path: a for a in artifacts}
        placed = _place_all(root, cache, dir_md5, artifacts, md5s)
        bad = [p for p, md5 in placed.items() if md5 != md5s[p]]
        if bad:
            # The cache held corrupt bytes, which placing kept in the quarantine (with a hard link,
            # the object's own inode, so dropping its name loses nothing): fetch them once more.
            for p in bad:
                dvcfiles.object_path(cache, md5s[p]).unlink(missing_ok=True)
            fetch.fetch_objects(root, [md5s[p] for p in bad], f"{names} as of {revision.label}")
            again = _place_all(root, cache, dir_md5, [by_path[p] for p in bad], md5s)
            for p, md5 in again.items():
                if md5 != md5s[p]:
                    dvcfiles.object_path(cache, md5s[p]).unlink(missing_ok=True)
                    copy = _copy_name(dir_md5, by_path[p])
                    (root / copy).unlink(missing_ok=True)
                    raise ChecksumMismatch(
                        f"{p} ({by_path[p].name}) as of {revision.label} does not match the known "
                        f"hash: expected md5 {md5s[p]} but got {md5}, twice. The bad bytes were "
                        f"moved to {place.quarantine_path(root, copy, md5)} and the cache object "
                        "deleted. The remote holds corrupt bytes: tell the maintainers."
                    )
            placed.update(again)
    _update_stamps(
        root,
        {
            _key(dir_md5, by_path[p]): stamps.make(
                root / REV_DIR / _key(dir_md5, by_path[p]), md5, dir_md5
            )
            for p, md5 in placed.items()
        },
    )


# Nobody writes to a revision's copy, so a hard link (no disk space) is always safe; a copy where
# linking cannot work (the cache on another filesystem).
_LINKS = ["hardlink", "copy"]


def _place_all(
    root: Path, cache: Path, dir_md5: str, artifacts: Sequence[Artifact], md5s: dict[str, str]
) -> dict[str, str]:
    """Link or copy each object to its copy's path, hashing what arrived; path -> md5 placed.

    Bytes that do not match never reach the copy's path: they go to the quarantine. In parallel
    (hashing frees the GIL).
    """
    from concurrent.futures import ThreadPoolExecutor

    from ckpt.place import place_one

    def place_copy(a: Artifact) -> str:
        obj = dvcfiles.object_path(cache, md5s[a.path])
        copy = _copy_name(dir_md5, a)
        try:
            # Always hashed: which remote served an object (and whether it verified it) is not
            # tracked here.
            return place_one(root, copy, obj, md5s[a.path], _LINKS, trusted=False, read_only=True)
        except OSError as exc:
            raise CheckpointUnavailable(
                f"Could not put {a.name} ({a.path}) into {root / REV_DIR} from the DVC cache: "
                f"{type(exc).__name__}: {exc}. Fix the cause (disk space, permissions) and retry."
            ) from exc

    with ThreadPoolExecutor(max_workers=max(1, min(len(artifacts), os.cpu_count() or 1))) as pool:
        return dict(zip([a.path for a in artifacts], pool.map(place_copy, artifacts), strict=True))


def _refuse_if_skipping(revision: Revision, names: str) -> None:
    from ckpt.settings import skip_downloads

    if skip_downloads():
        raise CheckpointSkipped(
            f"Checkpoint(s) {names} as of revision {revision.label} not present and "
            "SKIP_CHECKPOINT_DOWNLOAD is set, so nothing was fetched. Unset it and run "
            f"`ckpt pull {names} --rev {revision.rev}`."
        )


def _key(dir_md5: str, artifact: Artifact) -> str:
    """The copy's path under ``.dvc/tmp/ckpt/rev``: the pinned tree, then the path under ckpts/."""
    return f"{dir_md5.removesuffix('.dir')}/{dvcfiles.manifest_key(artifact.path)}"


def _copy_name(dir_md5: str, artifact: Artifact) -> str:
    """The copy's path relative to the checkout root, as ``ckpt.place`` takes it."""
    return f"{REV_DIR.as_posix()}/{_key(dir_md5, artifact)}"


# --- stamps of the copies (the working tree's live in ckpt.stamps) ------------------------------


_STAMPS = REV_DIR / "stamps.json"


def _stamp_file(root: Path) -> Path:
    return root / _STAMPS


def _load_stamps(root: Path) -> dict[str, Stamp]:
    return stamps.load_file(joined(root, _STAMPS))


def _update_stamps(root: Path, changes: dict[str, Stamp]) -> None:
    """Add stamps; the caller holds the checkout lock."""
    stamps.update_file(_stamp_file(root), dict(changes))
