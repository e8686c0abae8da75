"""File hashing: md5 (what DVC records) and sha256 (what the Hub's LFS records).

Reads are 1 MiB into one reused buffer; hashlib releases the GIL on large updates, so hashing
several files from a thread pool uses every core. ``ckpt`` imports this module on the warm path,
where nothing is hashed: hashlib and the thread pool are imported when first used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ckpt.errors import ChecksumMismatch

CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str], algorithm: str = "md5") -> str:
    """Hex digest of a file's bytes."""
    import hashlib

    digest = hashlib.new(algorithm)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def md5_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.md5(data).hexdigest()


def file_md5(path: str | os.PathLike[str]) -> str:
    return file_digest(path, "md5")


def calculate_sha256(file_path: str | os.PathLike[str]) -> str:
    """SHA256 of a file (the original plan's helper, kept by name)."""
    return file_digest(file_path, "sha256")


def verify_checksum(file_path: str | os.PathLike[str], expected_sha256: str) -> bool:
    """True when the file's sha256 is ``expected_sha256``; ChecksumMismatch (a ValueError) if not."""
    actual = calculate_sha256(file_path)
    if actual != expected_sha256.lower():
        raise ChecksumMismatch(
            f"Checksum mismatch for {file_path}: expected sha256 {expected_sha256} but got "
            f"{actual}. The file was left in place."
        )
    return True


def hash_many(
    paths: Iterable[Path],
    algorithm: str = "md5",
    jobs: int | None = None,
    on_done: Callable[[Path, str], None] | None = None,
) -> dict[Path, str]:
    """Hash files in parallel across cores; ``on_done`` is called as each one finishes."""
    from concurrent.futures import ThreadPoolExecutor

    paths = list(paths)
    result: dict[Path, str] = {}
    workers = max(1, min(len(paths), jobs or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(file_digest, p, algorithm): p for p in paths}
        for future in futures:
            path = futures[future]
            result[path] = future.result()
            if on_done is not None:
                on_done(path, result[path])
    return result
