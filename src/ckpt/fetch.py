"""Moving bytes: fetch single objects into the DVC cache, trying each remote in turn.

Objects are named, not targets: the ``.dir`` manifest (if the cache lacks it), then the md5 of
each wanted file. Naming objects skips DVC's target collection, which re-parses ``dvc.yaml`` (our
registry) once per target: quadratic in the number of checkpoints. An hf:// remote is read
straight into the cache (``ckpt.hub_objects``: one GET per object, no DVC import); any other
remote through DVC's data cloud (``repo.cloud.pull``). ``ckpt.place`` then puts the files into
place from the cache. Everything known about the checkout comes from one
``ckpt.snapshot.Snapshot``, taken under the checkout lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ckpt import dvcfiles, place, remote_errors
from ckpt.errors import CheckpointUnavailable
from ckpt.registry import Artifact
from ckpt.remote_errors import RemoteInfo
from ckpt.snapshot import Snapshot
from ckpt.stamps import STAMP_DIR

log = logging.getLogger("ckpt")

# Another plain `dvc` process may hold DVC's repo lock; DVC itself gives up after ~3 s.
_DVC_LOCK_PATIENCE = 120.0


def pull(snap: Snapshot, artifacts: Sequence[Artifact]) -> dict[str, str]:
    """Fetch into the cache what it lacks and put into place; path -> md5 of the bytes now there.

    A path whose bytes did not match is left absent (its bytes are in the quarantine).
    """
    if _missing_objects(snap, artifacts):
        _fetch(snap, artifacts)
    else:
        # Already in the DVC cache (a shared cache on a cluster, or a deleted workspace file).
        log.info("Taking %s from the DVC cache.", " ".join(a.name for a in artifacts))
    expected = snap.expected(artifacts) or {}
    objects = {path: snap.object_path(md5) for path, md5 in expected.items()}
    return place.place_all(snap.root, objects, expected, snap.verified_in_transit(), snap.links)


def _fetch(snap: Snapshot, artifacts: Sequence[Artifact]) -> str:
    paths = [a.path for a in artifacts]
    names = " ".join(a.name for a in artifacts) or "the manifest"

    def wanted(pull) -> None:  # type: ignore[no-untyped-def]
        if snap.manifest is None:
            # Just the manifest: a .dir pulled on its own does not bring its files along.
            pull({snap.dir_md5})
            snap.reload_manifest()
        expected = snap.expected(artifacts)
        if expected is not None:  # else the remote lacks the manifest: reported as missing
            pull({md5 for md5 in expected.values() if not snap.object_path(md5).exists()})

    return _from_first_remote(
        snap,
        wanted,
        lambda: _missing_objects(snap, artifacts),
        what=names,
        full=f"checkpoint(s) {names} ({', '.join(paths)})",
        then=f"fetch with `ckpt pull {names}` (or `dvc pull {' '.join(paths)}`)",
    )


def fetch_objects(root: Path, md5s: Sequence[str], what: str) -> str:
    """Fetch objects by md5 (``.dir`` manifests or files) into the DVC cache; the remote that had them.

    For objects no target in the working tree names: a checkpoint as of an older revision, the
    manifests of past commits. Tries each remote in turn; CheckpointUnavailable if none has them all.
    """
    from ckpt import snapshot

    snap = snapshot.take(root)

    def missing() -> list[str]:
        return [m for m in md5s if not snap.object_path(m).exists()]

    return _from_first_remote(
        snap, lambda pull: pull(set(missing())), missing, what=what, full=what, then="retry"
    )


def _from_first_remote(
    snap: Snapshot,
    wanted: Callable[[Callable[[set[str]], None]], None],
    missing: Callable[[], list[str]],
    *,
    what: str,
    full: str,
    then: str,
) -> str:
    """Ask each remote in turn (``wanted`` pulls through the callable it is given) until nothing
    is ``missing``; the remote that served, or CheckpointUnavailable with every remote's reason."""
    remotes = snap.remotes
    if not remotes:
        raise CheckpointUnavailable(
            f"Cannot fetch {full}: no DVC remote is configured in "
            f"{snap.root / '.dvc' / 'config'}. Add one (`dvc remote add -d NAME URL`) or copy "
            f"the files into place, then {then}."
        )
    failures: list[str] = []
    # The latest remote error, with its remote: the cause of ours if every remote fails (which
    # `ckpt -v` prints), else shown on its own at debug level once another error or a success
    # supersedes it. So `-v` shows each original traceback once.
    pending: tuple[str, BaseException] | None = None
    for remote in remotes:
        info = _remote_info(snap, remote)
        reason, error = _fetch_from(snap, info, wanted, missing)
        if pending is not None and (reason is None or error is not None):
            log.debug("Remote '%s' failed with:", pending[0], exc_info=pending[1])
            pending = None
        if reason is None:
            if failures:
                log.warning("Fetched %s from remote '%s' (%s).", what, remote.name, remote.url)
            else:
                log.info("Fetched %s from remote '%s' (%s).", what, remote.name, remote.url)
            return remote.name
        if error is not None:
            pending = (remote.name, error)
        failures.append(f"remote '{remote.name}' ({_where(info)}): {reason}")
        if remote is not remotes[-1]:
            log.warning(
                "Remote '%s' could not supply %s: %s; trying the next remote.",
                remote.name,
                what,
                reason,
            )
    raise CheckpointUnavailable(
        f"Could not fetch {full}.\n  "
        + "\n  ".join(failures)
        + place.disk_hint(" ".join(failures))
        + f"\nFix the cause above, then {then}."
    ) from (pending[1] if pending else None)


def _remote_info(snap: Snapshot, remote: dvcfiles.Remote) -> RemoteInfo:
    # A connection error is about the server: name it (hf's `endpoint`, s3's `endpointurl`).
    options = snap.remote_options.get(remote.name, {})
    endpoint = options.get("endpoint") or options.get("endpointurl")
    if not endpoint and remote.url.startswith("hf://"):
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return RemoteInfo(remote.name, remote.url, endpoint)


def _where(remote: RemoteInfo) -> str:
    return f"{remote.url}, endpoint {remote.endpoint}" if remote.endpoint else remote.url


class _RemoteCallFailed(Exception):
    """Carries what a remote call raised past our own code, which lets everything else through."""


def _fetch_from(
    snap: Snapshot,
    remote: RemoteInfo,
    wanted: Callable[[Callable[[set[str]], None]], None],
    missing: Callable[[], list[str]],
) -> tuple[str | None, BaseException | None]:
    """(None, None) when nothing is ``missing`` from the local cache afterwards, else why not:
    a one-line reason and the exception behind it, if any."""
    errors: list[BaseException] = []
    missing_bucket = None
    if remote.url.startswith("hf://"):
        _fetch_from_hub(snap, remote, wanted, errors)
    else:
        missing_bucket = _fetch_through_dvc(snap, remote, wanted, missing, errors)
    still = missing()
    if not still:
        return None, None
    reasons = dict.fromkeys(remote_errors.explain(e, remote) for e in errors)
    if reasons:
        return "; ".join(reasons), errors[0]
    if missing_bucket:
        return remote_errors.missing_bucket(remote, missing_bucket), None
    return remote_errors.missing_objects(remote, still, root=snap.root), None


def _fetch_from_hub(
    snap: Snapshot,
    remote: RemoteInfo,
    wanted: Callable[[Callable[[set[str]], None]], None],
    errors: list[BaseException],
) -> None:
    """Stream the wanted objects from an hf:// remote into the cache (see ``ckpt.hub_objects``)."""
    from ckpt.hub_objects import HubObjects

    options = {k: v for k, v in snap.remote_config(remote.name).items() if k != "url"}
    hub: HubObjects | None = None

    def pull(md5s: set[str]) -> None:
        nonlocal hub
        if not md5s or errors:  # after a failed manifest, the remote has nothing more to say
            return
        snap.fetches.append((remote.name, md5s))
        try:
            hub = hub or HubObjects(remote.url, options, snap.cache, snap.shared_cache)
        except (ValueError, ImportError) as exc:  # the URL or an option cannot work (HfConfigError)
            errors.append(exc)
            return
        hub.fetch(md5s, errors)  # collects the remote's errors; a bug of ours raises

    wanted(pull)


def _fetch_through_dvc(
    snap: Snapshot,
    remote: RemoteInfo,
    wanted: Callable[[Callable[[set[str]], None]], None],
    missing: Callable[[], list[str]],
    errors: list[BaseException],
) -> str | None:
    """Pull the wanted objects through DVC's data cloud; the bucket found missing, if any."""
    from dvc.exceptions import DvcException

    def fetch(repo) -> None:  # type: ignore[no-untyped-def]
        from dvc_data.hashfile.hash_info import HashInfo

        def pull(md5s: set[str]) -> None:
            if not md5s:
                return
            snap.fetches.append((remote.name, md5s))
            # Only what the remote's libraries raise is the remote's failure: a bug of ours
            # elsewhere in this function must surface as itself.
            try:
                repo.cloud.pull({HashInfo("md5", m) for m in md5s}, remote=remote.name)
            except Exception as exc:
                raise _RemoteCallFailed from exc

        wanted(pull)
        if remote.scheme in _OBJECT_STORES and not captured.errors and missing():
            probe_bucket(repo)

    missing_bucket = None

    def probe_bucket(repo) -> None:  # type: ignore[no-untyped-def]
        # An object store reports objects in a missing bucket as merely absent: ask once.
        nonlocal missing_bucket
        try:
            odb = repo.cloud.get_remote_odb(remote.name)
            bucket = odb.path.split("/", 1)[0]
            # info, not exists: s3fs's exists() on a bucket answers False for any error.
            odb.fs.info(bucket)
        except FileNotFoundError:
            missing_bucket = bucket
        except Exception as exc:
            raise _RemoteCallFailed from exc

    with _captured_dvc_messages() as captured, _dvc_progress_bars():
        try:
            _with_repo(snap.root, fetch, snap.dvc_config)
        except _RemoteCallFailed as exc:
            assert exc.__cause__ is not None
            captured.errors.insert(0, exc.__cause__)
        except (DvcException, OSError, sqlite3.Error) as exc:
            # Opening the repo (config, lock) and DVC's state databases, which are sqlite.
            captured.errors.insert(0, exc)
    errors.extend(captured.errors)
    return missing_bucket


# Remotes whose first path component is a bucket (or container) that must exist.
_OBJECT_STORES = frozenset({"s3", "gs", "gcs", "azure", "az", "oss"})


def _missing_objects(snap: Snapshot, artifacts: Sequence[Artifact]) -> list[str]:
    expected = snap.expected(artifacts)
    if expected is None:
        return [f"the manifest {snap.dir_md5}"]
    return [p for p, md5 in expected.items() if not snap.object_path(md5).exists()]


def _with_repo(root: Path, action, config: dict):  # type: ignore[no-untyped-def]
    from dvc.lock import LockError
    from dvc.repo import Repo

    deadline = time.monotonic() + _DVC_LOCK_PATIENCE
    delay = 0.5
    while True:
        try:
            with Repo(os.fspath(root), config=config) as repo:
                return action(repo)
        except LockError:
            if time.monotonic() > deadline:
                raise
            log.info("DVC's repository lock is held by another dvc process; retrying.")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


@contextmanager
def _dvc_progress_bars() -> Iterator[None]:
    """Let DVC draw its transfer bars (on a terminal only, as in `dvc pull`).

    DVC's Tqdm hides itself when the "dvc" logger is quieter than INFO, which it is whenever DVC
    is used as a library; its own TTY check still keeps the bars out of pipes and CI logs.
    """
    dvc_log = logging.getLogger("dvc")
    level = dvc_log.level
    if dvc_log.getEffectiveLevel() > logging.INFO:  # never quieter: `ckpt -v` sets DEBUG
        dvc_log.setLevel(logging.INFO)
    try:
        yield
    finally:
        dvc_log.setLevel(level)


class _Captured:
    def __init__(self) -> None:
        self.errors: list[BaseException] = []  # raised, or attached to DVC's log records


@contextmanager
def _captured_dvc_messages() -> Iterator[_Captured]:
    """Keep DVC's warnings and errors away from the user (`ckpt -v` shows them as they come);
    collect the exceptions DVC logged instead of raising (a failed transfer, one per object)."""
    captured = _Captured()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info and record.exc_info[1] is not None:
                captured.errors.append(record.exc_info[1])

    from dvc.logger import LoggerHandler

    handler = Collect(level=logging.WARNING)
    loggers = [logging.getLogger(name) for name in ("dvc", "dvc_data", "dvc_objects")]
    # `import dvc` gives these loggers console handlers, as for the dvc CLI; set them aside.
    # Handlers the application (or `ckpt -v`) installed stay.
    consoles = {
        logger: [h for h in logger.handlers if isinstance(h, LoggerHandler)] for logger in loggers
    }
    for logger in loggers:
        for console in consoles[logger]:
            logger.removeHandler(console)
        logger.addHandler(handler)
    try:
        yield captured
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
            for console in consoles[logger]:
                logger.addHandler(console)


def _backups(root: Path, paths: Sequence[str], objects: Sequence[Path]) -> list[tuple[Path, Path]]:
    """(local copy, where a forced re-fetch keeps it meanwhile) for each path and cache object.

    Cache objects stay beside themselves (same filesystem, so the move is a rename); workspace
    files go under .dvc/tmp so nothing stray is left in ckpts/.
    """
    pairs = [(root / path, root / STAMP_DIR / "backup" / path) for path in paths]
    return pairs + [(obj, obj.with_name(obj.name + ".ckpt-backup")) for obj in objects]


def restore_interrupted(root: Path, paths: Sequence[str], objects: Sequence[Path]) -> None:
    """Undo what a forced re-fetch killed mid-way left set aside: put back, or drop if replaced.

    ``paths``: workspace files (relative to ``root``); ``objects``: cache objects.
    """
    for src, dest in _backups(root, paths, objects):
        if os.path.lexists(dest):
            if os.path.lexists(src):
                dest.unlink()
            else:
                os.replace(dest, src)
                log.info("Restored %s, set aside by an interrupted forced re-fetch.", src)


@contextmanager
def backed_up(
    root: Path, paths: Sequence[str], objects: Sequence[Path], *, enabled: bool
) -> Iterator[None]:
    """For a forced re-fetch: set aside the local copies, restore them if the fetch fails.

    ``paths``: workspace files (relative to ``root``); ``objects``: cache objects. Moving (not
    deleting) a workspace file and its cache object makes DVC fetch from the remote, while a
    failure leaves the user with exactly what they had.
    """
    if not enabled:
        yield
        return
    moved: list[tuple[Path, Path]] = []
    for src, dest in _backups(root, paths, objects):
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
