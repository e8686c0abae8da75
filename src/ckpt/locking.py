"""The per-checkout lock around every fetch and stamp update.

DVC's own repo lock gives up after about 3 s, so concurrent pulls would fail; this lock waits
instead, and each waiter re-checks what is present once it holds it.

Where ``fcntl.flock`` works (Linux, macOS, the BSDs) the lock is taken with it directly: it is the
same lock ``filelock.FileLock`` takes on those systems (an exclusive ``flock`` on the lock file,
which stays in place), so the two exclude each other, but ``import filelock`` costs ~50 ms, as
much as the rest of ``ckpt verify``'s start-up (BENCHMARKS.md #6). filelock is used where flock
is missing (Windows; filesystems that refuse it, where filelock falls back to a marker file).
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ckpt.errors import LockTimeout
from ckpt.stamps import STAMP_DIR

log = logging.getLogger("ckpt")

_QUIET_WAIT = 0.5  # seconds waited before saying that another process holds the lock
_POLL = 0.05
_BUSY = {errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK}  # another holder
_UNSUPPORTED = {errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP}  # no flock here: use filelock


@contextmanager
def checkout_lock(root: Path) -> Iterator[None]:
    """Hold ``.dvc/tmp/ckpt/pull.lock``; waits up to $CKPT_LOCK_TIMEOUT seconds (default: forever)."""
    path = root / STAMP_DIR / "pull.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _flock(root, path)
    if fd is None:
        with _filelock(root, path):
            yield
        return
    try:
        yield
    finally:
        os.close(fd)  # releases the flock


def _flock(root: Path, path: Path) -> int | None:
    """An open descriptor of ``path`` holding its flock; None where flock is unavailable."""
    try:
        import fcntl
    except ImportError:
        return None
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def attempt() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in _BUSY:
                return False
            raise
        return True

    try:
        _wait(attempt, root, path)
    except OSError as exc:
        os.close(fd)
        if exc.errno in _UNSUPPORTED:
            return None
        raise
    except BaseException:
        os.close(fd)
        raise
    return fd


def _wait(attempt: Callable[[], bool], root: Path, path: Path) -> None:
    """Call ``attempt`` until it succeeds: quietly for a moment, then saying why, until the timeout."""
    quiet_until = time.monotonic() + _QUIET_WAIT
    while not attempt():
        if time.monotonic() >= quiet_until:
            break
        time.sleep(_POLL)
    else:
        return
    _say_waiting(root)
    timeout = _timeout()
    deadline = None if timeout < 0 else time.monotonic() + timeout
    while not attempt():
        if deadline is not None and time.monotonic() >= deadline:
            raise _timed_out(path, timeout)
        time.sleep(_POLL)


@contextmanager
def _filelock(root: Path, path: Path) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(path)
    try:
        lock.acquire(timeout=_QUIET_WAIT)
    except Timeout:
        _say_waiting(root)
        timeout = _timeout()
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise _timed_out(path, timeout) from None
    try:
        yield
    finally:
        lock.release()


def _say_waiting(root: Path) -> None:
    log.info("Waiting for another process that is fetching checkpoints into %s ...", root)


def _timeout() -> float:
    return float(os.environ.get("CKPT_LOCK_TIMEOUT", "-1"))


def _timed_out(path: Path, timeout: float) -> LockTimeout:
    return LockTimeout(
        f"Another process held {path} for over {timeout:g} s (CKPT_LOCK_TIMEOUT). If no "
        "ckpt or dvc process is running, the lock is stale: delete the file and retry."
    )
