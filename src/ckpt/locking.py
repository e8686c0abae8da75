"""The per-checkout lock around every fetch and stamp update.

DVC's own repo lock gives up after about 3 s, so concurrent pulls would fail; this lock waits
instead, and each waiter re-checks what is present once it holds it.

It is zc.lockfile, the library behind DVC's own repo lock: an ``flock`` (released by the kernel
when its holder dies, so no lock outlives a killed process) that writes the holder's PID into the
file. It imports in about 1 ms; filelock 4.x takes ~100 ms, paid by every process that waits
here (eight pytest-xdist workers asking for one checkpoint start eight interpreters at once).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ckpt.errors import LockTimeout
from ckpt.stamps import STAMP_DIR

log = logging.getLogger("ckpt")


# How often a waiter tries the lock again, and asks whether it still needs it.
_POLL = 0.05
_QUIET_WAIT = 0.5  # seconds of waiting before saying so


@contextmanager
def checkout_lock(root: Path, *, unless: Callable[[], bool] | None = None) -> Iterator[bool]:
    """Hold ``.dvc/tmp/ckpt/pull.lock``; waits up to $CKPT_LOCK_TIMEOUT seconds (default: forever).

    Yields True once held. With ``unless``, a waiter that finds ``unless()`` true stops waiting and
    yields False without the lock: callers waiting for the same checkpoint then all go on as soon
    as its fetcher stamps it, instead of taking the lock one after another only to find it there.
    """
    from zc.lockfile import LockError, LockFile

    path = root / STAMP_DIR / "pull.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    timeout = float(os.environ.get("CKPT_LOCK_TIMEOUT", "-1"))
    start = time.monotonic()
    said = False
    while True:
        try:
            lock = LockFile(str(path))
            break
        except LockError:
            pass
        if unless is not None and unless():
            yield False
            return
        waited = time.monotonic() - start
        if not said and waited >= _QUIET_WAIT:
            said = True
            log.info(
                "Waiting for %s, which is fetching checkpoints into %s ...", _holder(path), root
            )
        if 0 <= timeout <= waited:
            raise LockTimeout(
                f"{_holder(path).capitalize()} held {path} for over {timeout:g} s "
                "(CKPT_LOCK_TIMEOUT). Let it finish, or stop it; the lock goes with it."
            )
        time.sleep(_POLL)
    try:
        yield True
    finally:
        lock.close()


def _holder(path: Path) -> str:
    """Who holds the lock, as its file says (zc.lockfile writes the holder's PID)."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):  # written by a dvc or ckpt that does not say, or mid-write
        return "another process"
    return f"process {pid}"
