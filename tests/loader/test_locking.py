"""The checkout lock: exclusive, interoperable with filelock.FileLock, and bounded by its timeout."""

import errno
import fcntl
import logging

import pytest
from filelock import FileLock

from ckpt import locking
from ckpt.errors import LockTimeout
from ckpt.locking import checkout_lock

LOCK = ".dvc/tmp/ckpt/pull.lock"


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("CKPT_LOCK_TIMEOUT", "0.2")
    monkeypatch.setattr(locking, "_QUIET_WAIT", 0.1)
    return tmp_path


def test_a_second_holder_waits_says_so_and_times_out(root, caplog):
    # flock belongs to the open file, so a second holder in the same process is refused too.
    with (
        checkout_lock(root),
        caplog.at_level(logging.INFO, logger="ckpt"),
        pytest.raises(LockTimeout, match="CKPT_LOCK_TIMEOUT"),
        checkout_lock(root),
    ):
        pass
    assert "Waiting for another process" in caplog.text
    with checkout_lock(root):  # released on exit, also after the failed attempt
        pass


@pytest.mark.parametrize("first", ["filelock", "ckpt"])
def test_excludes_and_is_excluded_by_filelock(root, first):
    # Older ckpt releases (and anything else) take this lock with filelock.FileLock.
    (root / LOCK).parent.mkdir(parents=True)
    other = FileLock(root / LOCK, timeout=0.2)
    if first == "filelock":
        with other, pytest.raises(LockTimeout), checkout_lock(root):
            pass
    else:
        with checkout_lock(root), pytest.raises(TimeoutError):
            other.acquire()
    with checkout_lock(root):
        pass
    with other:
        pass


def test_falls_back_to_filelock_where_flock_is_refused(root, monkeypatch):
    real_flock, calls = fcntl.flock, []

    def refuse_first(fd, op):  # ours is refused; filelock's own probe then goes through
        calls.append(op)
        if len(calls) == 1:
            raise OSError(errno.ENOLCK, "No locks available")
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", refuse_first)
    used = []
    real = locking._filelock
    monkeypatch.setattr(locking, "_filelock", lambda *a: used.append(a) or real(*a))
    with checkout_lock(root):
        assert (root / LOCK).exists()
    assert len(used) == 1
