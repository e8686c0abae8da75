"""The per-checkout lock around every fetch and stamp update.

DVC's own repo lock gives up after about 3 s, so concurrent pulls would fail; this lock waits
instead, and each waiter re-checks what is present once it holds it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ckpt.errors import LockTimeout
from ckpt.stamps import STAMP_DIR

log = logging.getLogger("ckpt")


@contextmanager
def checkout_lock(root: Path) -> Iterator[None]:
    """Hold ``.dvc/tmp/ckpt/pull.lock``; waits up to $CKPT_LOCK_TIMEOUT seconds (default: forever)."""
    from filelock import FileLock, Timeout

    path = root / STAMP_DIR / "pull.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0.5)
    except Timeout:
        log.info("Waiting for another process that is fetching checkpoints into %s ...", root)
        timeout = float(os.environ.get("CKPT_LOCK_TIMEOUT", "-1"))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise LockTimeout(
                f"Another process held {path} for over {timeout:g} s (CKPT_LOCK_TIMEOUT). If no "
                "ckpt or dvc process is running, the lock is stale: delete the file and retry."
            ) from None
    try:
        yield
    finally:
        lock.release()
