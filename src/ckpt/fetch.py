"""Moving bytes: fetch single objects through DVC's Python API, trying each remote in turn.

DVC's data cloud pulls exactly the objects named: the ``.dir`` manifest (if the cache lacks it),
then the md5 of each wanted file. Naming objects rather than targets skips DVC's target
collection, which re-parses ``dvc.yaml`` (our registry) once per target: quadratic in the
number of checkpoints. The files are then put into place from the cache here, atomically
(a link or copy under a temporary name, renamed), honouring ``cache.type``.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ckpt import credentials, dvcfiles
from ckpt.errors import CheckpointUnavailable
from ckpt.registry import TRACKED_DIR, Artifact
from ckpt.stamps import STAMP_DIR

log = logging.getLogger("ckpt")

# Another plain `dvc` process may hold DVC's repo lock; DVC itself gives up after ~3 s.
_DVC_LOCK_PATIENCE = 120.0


def pull(root: Path, artifacts: Sequence[Artifact]) -> dict[str, str]:
    """Fetch into the cache if needed and put into place; path -> md5 of the bytes now there."""
    if _missing_objects(root, artifacts):
        _fetch(root, artifacts)
    else:
        # Already in the DVC cache (a shared cache on a cluster, or a deleted workspace file).
        log.info("Taking %s from the DVC cache.", " ".join(a.name for a in artifacts))
    return _place(root, artifacts)


def _fetch(root: Path, artifacts: Sequence[Artifact]) -> str:
    paths = [a.path for a in artifacts]
    names = " ".join(a.name for a in artifacts) or "the manifest"
    remotes = dvcfiles.remotes(root)
    if not remotes:
        raise CheckpointUnavailable(
            f"Cannot fetch {names}: no DVC remote is configured in {root / '.dvc' / 'config'}. "
            "Add one (`dvc remote add -d NAME URL`) or copy the files into place, then run "
            f"`ckpt pull {names}`."
        )
    failures: list[str] = []
    for remote in remotes:
        reason = _fetch_from(root, artifacts, remote.name)
        if reason is None:
            if failures:
                log.warning("Fetched %s from remote '%s' (%s).", names, remote.name, remote.url)
            else:
                log.info("Fetched %s from remote '%s' (%s).", names, remote.name, remote.url)
            return remote.name
        failures.append(f"remote '{remote.name}' ({_where(root, remote)}): {reason}")
        if remote is not remotes[-1]:
            log.warning(
                "Remote '%s' could not supply %s: %s; trying the next remote.",
                remote.name,
                names,
                reason,
            )
    raise CheckpointUnavailable(
        f"Could not fetch checkpoint(s) {names} ({', '.join(paths)}).\n  "
        + "\n  ".join(failures)
        + _disk_hint(" ".join(failures))
        + f"\nFix the cause above, then fetch with `ckpt pull {names}` (or `dvc pull {' '.join(paths)}`)."
        " For a private Hub repo set HF_TOKEN or `dvc remote modify --local REMOTE token ...`."
    )


# How a full disk or quota shows through DVC: failed writes, and its sqlite state databases.
_DISK_FULL = ("No space left", "File too large", "Disk quota", "disk I/O error", "disk is full")


def _disk_hint(text: str) -> str:
    if not any(sign in text for sign in _DISK_FULL):
        return ""
    return (
        "\nThis looks like a full disk (or a file-size or quota limit): free space where the DVC "
        "cache and ckpts/ live (the cache needs room for one more copy of each checkpoint)."
    )


def _where(root: Path, remote: dvcfiles.Remote) -> str:
    # A connection error is about the server: name it (hf's `endpoint`, s3's `endpointurl`).
    options = dvcfiles.read_config(root).get(f'remote "{remote.name}"', {})
    server = options.get("endpoint") or options.get("endpointurl")
    return f"{remote.url}, endpoint {server}" if server else remote.url


def _fetch_from(root: Path, artifacts: Sequence[Artifact], remote: str) -> str | None:
    """None when every needed object is in the local cache afterwards, else why not."""
    from dvc.exceptions import DvcException

    def fetch(repo) -> None:  # type: ignore[no-untyped-def]
        from dvc_data.hashfile.hash_info import HashInfo

        dir_md5 = dvcfiles.tracked_dir_md5(root)
        if dvcfiles.load_manifest(root, dir_md5) is None:
            # Just the manifest: a .dir pulled on its own does not bring its files along.
            repo.cloud.pull([HashInfo("md5", dir_md5)], remote=remote)
        expected = dvcfiles.expected_md5s(root, dir_md5, artifacts)
        if expected is None:
            return  # the remote does not have the manifest: reported below
        cache = dvcfiles.cache_dir(root)
        wanted = {
            HashInfo("md5", md5)
            for md5 in expected.values()
            if not dvcfiles.object_path(cache, md5).exists()
        }
        if wanted:
            repo.cloud.pull(wanted, remote=remote)

    with _captured_dvc_messages() as messages, _dvc_progress_bars():
        try:
            _with_repo(root, fetch)
        except DvcException as exc:
            messages.append(str(exc))
        except (OSError, sqlite3.Error) as exc:  # DVC's state databases are sqlite
            messages.append(f"{type(exc).__name__}: {exc}")
    missing = _missing_objects(root, artifacts)
    if not missing:
        return None
    detail = "; ".join(dict.fromkeys(m.strip() for m in messages if m.strip()))
    return detail or f"it does not hold {', '.join(missing)}"


def _missing_objects(root: Path, artifacts: Sequence[Artifact]) -> list[str]:
    dir_md5 = dvcfiles.tracked_dir_md5(root)
    expected = dvcfiles.expected_md5s(root, dir_md5, artifacts)
    if expected is None:
        return [f"the manifest {dir_md5}"]
    cache = dvcfiles.cache_dir(root)
    return [p for p, md5 in expected.items() if not dvcfiles.object_path(cache, md5).exists()]


def _place(root: Path, artifacts: Sequence[Artifact]) -> dict[str, str]:
    """Put each file into place from the cache, returning the md5 of what is now at each path.

    A link or copy goes to a temporary name and is renamed, so a crash never leaves a partial
    checkpoint at its path. A copy is hashed as it is written (one read of the bytes, not two);
    a link is hashed after. Files are placed in parallel: hashlib and file I/O release the GIL.
    """
    from concurrent.futures import ThreadPoolExecutor

    from ckpt.hashing import file_md5

    expected = dvcfiles.expected_md5s(root, dvcfiles.tracked_dir_md5(root), artifacts) or {}
    cache = dvcfiles.cache_dir(root)
    links = _link_types(root)
    _remove_stale_temp_files(root)

    def place(path: str) -> str:
        try:
            md5 = _link_into_place(dvcfiles.object_path(cache, expected[path]), root / path, links)
        except OSError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise CheckpointUnavailable(
                f"Could not put {path} into place from the DVC cache: {reason}"
                + _disk_hint(reason)
                + "\nFix the cause above, then run `ckpt pull` again."
            ) from exc
        return md5 or file_md5(root / path)

    with ThreadPoolExecutor(max_workers=max(1, min(len(expected), os.cpu_count() or 1))) as pool:
        return dict(zip(expected, pool.map(place, expected), strict=True))


def _link_types(root: Path) -> list[str]:
    # Copy unless cache.type says otherwise: writing to a hardlinked or symlinked checkpoint in
    # place (root can, despite the read-only bit) would corrupt the cache object with it.
    # Reflink has no portable call in Python's standard library; it falls through to copy.
    configured = dvcfiles.read_config(root).get("cache", {}).get("type", "")
    types = [t.strip() for t in configured.split(",") if t.strip()]
    return [t for t in types if t != "reflink"] + ["copy"]


# Errors that mean "this link type cannot work here": try the next one.
_LINK_UNSUPPORTED = {errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}


def _link_into_place(obj: Path, dest: Path, links: list[str]) -> str | None:
    """Link or copy ``obj`` to ``dest`` atomically; the md5 of the bytes when it copied."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{_TEMP_TAG}{os.getpid()}.tmp")
    for link in links:
        tmp.unlink(missing_ok=True)
        md5 = None
        try:
            if link == "hardlink":
                os.link(obj, tmp)
            elif link == "symlink":
                os.symlink(obj, tmp)
            elif link == "copy":
                md5 = _copy_hashing(obj, tmp)
            else:
                continue
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if link == "copy" or exc.errno not in _LINK_UNSUPPORTED:
                raise
            continue
        os.replace(tmp, dest)
        return md5
    raise AssertionError("unreachable: copy is always the last link type")


def _copy_hashing(src: Path, dest: Path) -> str:
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


_TEMP_TAG = "ckpt-incoming-"
# Temporary names a killed process may leave in ckpts/: ours (`.NAME.ckpt-incoming-PID.tmp`), and
# dvc_objects.fs.utils.tmp_fname's `.<token_urlsafe(16)>.tmp` from an interrupted `dvc checkout`.
_STALE_TEMP = re.compile(rf"\..+\.{_TEMP_TAG}\d+\.tmp|\.[A-Za-z0-9_-]{{22}}\.tmp")


def _remove_stale_temp_files(root: Path) -> None:
    # Under the checkout lock, so no other ckpt process is mid-copy.
    for path in (root / TRACKED_DIR).rglob(".*.tmp"):
        if _STALE_TEMP.fullmatch(path.name) and (path.is_file() or path.is_symlink()):
            log.info("Removing %s, left by an interrupted checkout.", path)
            path.unlink(missing_ok=True)


def _with_repo(root: Path, action):  # type: ignore[no-untyped-def]
    from dvc.lock import LockError
    from dvc.repo import Repo

    deadline = time.monotonic() + _DVC_LOCK_PATIENCE
    delay = 0.5
    while True:
        try:
            with Repo(os.fspath(root), config=_repo_config(root)) as repo:
                return action(repo)
        except LockError:
            if time.monotonic() > deadline:
                raise
            log.info("DVC's repository lock is held by another dvc process; retrying.")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _repo_config(root: Path) -> dict:
    return credentials.refuse_committed_secrets(root)


@contextmanager
def _dvc_progress_bars() -> Iterator[None]:
    """Let DVC draw its transfer bars (on a terminal only, as in `dvc pull`).

    DVC's Tqdm hides itself when the "dvc" logger is quieter than INFO, which it is whenever DVC
    is used as a library; its own TTY check still keeps the bars out of pipes and CI logs.
    """
    dvc_log = logging.getLogger("dvc")
    level = dvc_log.level
    dvc_log.setLevel(logging.INFO)
    try:
        yield
    finally:
        dvc_log.setLevel(level)


@contextmanager
def _captured_dvc_messages() -> Iterator[list[str]]:
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            # DVC logs a failed transfer as "failed to transfer 'md5'", with the cause attached.
            if record.exc_info and record.exc_info[1] is not None:
                message = f"{message}: {record.exc_info[1]}"
            messages.append(message)

    handler = Collect(level=logging.WARNING)
    loggers = [logging.getLogger(name) for name in ("dvc", "dvc_data", "dvc_objects")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _backups(root: Path, paths: Sequence[str], dir_md5: str) -> list[tuple[Path, Path]]:
    """(local copy, where a forced re-fetch keeps it meanwhile) for each path and cache object.

    Cache objects stay beside themselves (same filesystem, so the move is a rename); workspace
    files go under .dvc/tmp so nothing stray is left in ckpts/.
    """
    manifest = dvcfiles.load_manifest(root, dir_md5) or {}
    cache = dvcfiles.cache_dir(root)
    pairs = []
    for path in paths:
        pairs.append((root / path, root / STAMP_DIR / "backup" / path))
        md5 = manifest.get(path[len(TRACKED_DIR) + 1 :])
        if md5:
            obj = dvcfiles.object_path(cache, md5)
            pairs.append((obj, obj.with_name(obj.name + ".ckpt-backup")))
    return pairs


def restore_interrupted(root: Path, paths: Sequence[str], dir_md5: str) -> None:
    """Undo what a forced re-fetch killed mid-way left set aside: put back, or drop if replaced."""
    for src, dest in _backups(root, paths, dir_md5):
        if os.path.lexists(dest):
            if os.path.lexists(src):
                dest.unlink()
            else:
                os.replace(dest, src)
                log.info("Restored %s, set aside by an interrupted forced re-fetch.", src)


@contextmanager
def backed_up(root: Path, paths: Sequence[str], dir_md5: str, *, enabled: bool) -> Iterator[None]:
    """For a forced re-fetch: set aside the local copies, restore them if the fetch fails.

    Moving (not deleting) both the workspace file and its cache object makes DVC fetch from the
    remote, while a failure leaves the user with exactly what they had.
    """
    if not enabled:
        yield
        return
    moved: list[tuple[Path, Path]] = []
    for src, dest in _backups(root, paths, dir_md5):
        if os.path.lexists(src):
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
            moved.append((dest, src))
    try:
        yield
    except BaseException:
        for dest, src in moved:
            if os.path.lexists(dest):
                src.unlink(missing_ok=True)
                os.replace(dest, src)
        raise
    for dest, _ in moved:
        dest.unlink(missing_ok=True)
