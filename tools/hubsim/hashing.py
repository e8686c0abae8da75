"""The object ids the Hub exposes: git blob sha1 for regular files, sha256 and pointers for LFS."""

from __future__ import annotations

import hashlib

# The Hub treats anything at or above this size as a large file, whatever its content.
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024


def git_blob_sha1(data: bytes) -> str:
    """The id git gives a blob: sha1 over ``blob <size>\\0<bytes>``."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The pointer file git-lfs commits in place of a large file."""
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"
    ).encode()


def is_sha256(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def is_commit_id(value: str) -> bool:
    return len(value) == 40 and all(c in "0123456789abcdef" for c in value)


def is_commit_prefix(value: str) -> bool:
    """An abbreviated commit id: 4 to 39 lowercase hex digits (git's shortest is 4)."""
    return 4 <= len(value) < 40 and all(c in "0123456789abcdef" for c in value)
