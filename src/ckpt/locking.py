"""The per-checkout lock around every fetch and stamp update.

DVC's own repo lock gives up after about 3 s, so concurrent pulls would fail; this lock waits
instead, and each waiter re-checks what is present once it holds it.
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
    from filelock import FileLock, Timeout

    path = root / STAMP_DIR / "pull.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    timeout = float(os.environ.get("CKPT_LOCK_TIMEOUT", "-1"))
    start = time.monotonic()
    said = False
    while True:
        try:
            lock.acquire(timeout=_POLL)
            break
        except Timeout:
            pass
        if unless is not None and unless():
            yield False
            return
        waited = time.monotonic() - start
        if not said and waited >= _QUIET_WAIT:
            said = True
            log.info("Waiting for another process that is fetching checkpoints into %s ...", root)
        if 0 <= timeout <= waited:
            raise LockTimeout(
                f"Another process held {path} for over {timeout:g} s (CKPT_LOCK_TIMEOUT). If no "
                "ckpt or dvc process is running, the lock is stale: delete the file and retry."
            )
    try:
        yield True
    finally:
        lock.release()
