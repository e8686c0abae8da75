"""What is where: the state of every registry entry, shared by ``ckpt list``, ``status`` and ``verify``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ckpt import dvcfiles, stamps
from ckpt.registry import Artifact

# States, from best to worst.
VERIFIED = "verified"  # present, and its stamp (or a fresh hash) matches DVC's md5
PRESENT = "present"  # present, not hashed yet (``list`` never hashes)
MODIFIED = "modified"  # present, but its bytes differ from DVC's md5
MISSING = "missing"  # not in the workspace
UNTRACKED = "untracked"  # DVC has no md5 for the path (not in ckpts.dvc's manifest)
UNKNOWN = "unknown"  # present, but the manifest is not in the local cache to check against


class Entry:
    """One checkpoint's state. A plain class, not a dataclass: ``dataclasses`` imports ``inspect``,
    ~10 ms of every ``ckpt verify`` (BENCHMARKS.md #6 counts its start-up)."""

    FIELDS = ("name", "path", "state", "size", "expected_md5", "actual_md5", "desc")  # JSON order
    __slots__ = FIELDS

    def __init__(
        self,
        name: str,
        path: str,
        state: str,
        size: int | None,
        expected_md5: str | None,
        actual_md5: str | None,
        desc: str,
    ) -> None:
        self.name = name
        self.path = path
        self.state = state
        self.size = size
        self.expected_md5 = expected_md5
        self.actual_md5 = actual_md5
        self.desc = desc

    def as_dict(self) -> dict[str, object]:
        return {field: getattr(self, field) for field in self.FIELDS}

    def __repr__(self) -> str:
        return f"Entry({', '.join(f'{k}={v!r}' for k, v in self.as_dict().items())})"


def survey(
    root: Path, artifacts: Iterable[Artifact], *, rehash: str = "never", jobs: int | None = None
) -> list[Entry]:
    """One Entry per artifact. ``rehash``: "never" (stamps only), "unstamped", or "all";
    ``jobs``: files hashed at once (default: one per core)."""
    from ckpt.hashing import hash_many

    artifacts = list(artifacts)
    dir_md5 = dvcfiles.tracked_dir_md5(root)
    manifest = dvcfiles.load_manifest(root, dir_md5)
    known = stamps.load(root)
    entries: list[Entry] = []
    to_hash: set[str] = set()
    for a in artifacts:
        expected = manifest.get(dvcfiles.manifest_key(a.path)) if manifest is not None else None
        try:
            st = os.stat(root / a.path)
        except FileNotFoundError:
            entries.append(Entry(a.name, a.path, MISSING, None, expected, None, a.desc))
            continue
        stamp = known.get(a.path)
        actual = stamp.md5 if stamp is not None and stamp.matches(st) else None
        if rehash == "all" or (rehash == "unstamped" and actual is None):
            to_hash.add(a.path)
        entries.append(Entry(a.name, a.path, PRESENT, st.st_size, expected, actual, a.desc))
    hashed = {
        p.relative_to(root).as_posix(): md5
        for p, md5 in hash_many((root / p for p in to_hash), jobs=jobs).items()
    }
    for e in entries:
        if e.state == MISSING:
            continue
        e.actual_md5 = hashed.get(e.path, e.actual_md5)
        if manifest is None:
            e.state = UNKNOWN
        elif e.expected_md5 is None:
            e.state = UNTRACKED
        elif e.actual_md5 is None:
            e.state = PRESENT
        else:
            e.state = VERIFIED if e.actual_md5 == e.expected_md5 else MODIFIED
    return entries


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
