"""File hashing: md5 (what DVC records) and sha256 (what the Hub's LFS records).

A file of 1 MiB or more is hashed through a read-only memory map in one ``update`` call: no copy
of the bytes from the page cache into a buffer, and the GIL is released once per file (hashlib
releases it for large updates), so threads hashing several files use every core without handing
the GIL back and forth per chunk. Against 1 MiB ``readinto`` reads, that took 4 x 256 MiB on two
threads from 2.40 to 2.04 s of CPU (md5sum: 2.13 s), and far less wall time on a busy machine,
where a thread that waits for the GIL also waits for the scheduler (BENCHMARKS.md #6). The cost:
a file truncated by another process while it is mapped kills the process with SIGBUS instead of
hashing short. ckpt and DVC replace checkpoints by renaming a new file into place (the mapped
inode is not touched), and files in ``ckpts/`` are read-only links by default; what is left is
another program rewriting a writable checkpoint in place (``torch.save`` over it, with ``cache.type
copy``) during a ``ckpt verify``, which then dies before it writes any stamp, destroying nothing.
Smaller files are read in 1 MiB chunks into one reused buffer. ``ckpt`` imports this module on the
warm path, where nothing is hashed: hashlib, mmap and the thread pool are imported when first used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ckpt.errors import ChecksumMismatch

TYPE_CHECKING = False  # typing stays off the warm path (see ckpt.memo)
if TYPE_CHECKING:
    import hashlib

CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str], algorithm: str = "md5") -> str:
    """Hex digest of a file's bytes."""
    import hashlib

    digest = hashlib.new(algorithm)
    with open(path, "rb", buffering=0) as f:
        if os.fstat(f.fileno()).st_size >= CHUNK and _update_mapped(digest, f.fileno()):
            return digest.hexdigest()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def _update_mapped(digest: hashlib._Hash, fd: int) -> bool:
    """Feed the whole file to ``digest`` through a memory map; False where it cannot be mapped."""
    import mmap

    try:
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # a filesystem or file type without mmap: read it instead
        return False
    with mapped:
        if hasattr(mapped, "madvise"):  # read ahead eagerly when the bytes come from disk
            mapped.madvise(mmap.MADV_SEQUENTIAL)
        digest.update(mapped)
    return True


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

    # Largest first: with files of different sizes, no core is left with a big one at the end.
    paths = sorted(paths, key=_size, reverse=True)
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


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # hashing it raises the error
