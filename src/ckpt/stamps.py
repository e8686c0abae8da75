"""Verified-stamps: proof that a file was hashed and matched, keyed on what ``stat`` shows.

A stamp says "the file at this path, with this inode, size and mtime_ns, hashed to this md5, which
was the expected md5 under this ``.dir`` manifest". While ``stat`` still shows the same triple, the
file need not be read again: the same idea as DVC's own state db, in a JSON file that costs one read.
Stamps live in ``.dvc/tmp/ckpt/`` (git-ignored, per checkout) and are replaced atomically.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple
from pathlib import Path

from ckpt.memo import FileMemo, joined

STAMP_DIR = Path(".dvc") / "tmp" / "ckpt"

# Typed for type checkers, a plain namedtuple at run time: typing is not imported on the warm
# path (see ckpt.memo).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple

    class _Stamp(NamedTuple):
        ino: int
        size: int
        mtime_ns: int
        md5: str
        dir_md5: str
else:
    _Stamp = namedtuple("Stamp", ["ino", "size", "mtime_ns", "md5", "dir_md5"])


class Stamp(_Stamp):
    __slots__ = ()

    def matches(self, st: os.stat_result) -> bool:
        return (self.ino, self.size, self.mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)


_STAMP_FILE = STAMP_DIR / "stamps.json"


def stamp_file(root: Path) -> Path:
    return root / _STAMP_FILE


def load(root: Path) -> dict[str, Stamp]:
    """Path -> Stamp; re-read only when the stamps file was replaced."""
    return load_file(joined(root, _STAMP_FILE))


def load_file(file: str | os.PathLike[str]) -> dict[str, Stamp]:
    """The stamps kept in ``file`` (the working tree's, or the revision copies' in ckpt.versions)."""
    try:
        return _stamps.get(file)
    except FileNotFoundError:
        return {}


def _parse(file: Path) -> dict[str, Stamp]:
    try:
        raw = json.loads(file.read_bytes())
        return {path: Stamp(*value) for path, value in raw["stamps"].items()}
    except (ValueError, KeyError, TypeError):
        # A damaged stamps file only costs a re-hash; never trust any part of it.
        return {}


_stamps = FileMemo(_parse)


def update(root: Path, changes: dict[str, Stamp | None]) -> None:
    """Add (or, with None, drop) stamps. Callers hold the checkout's ckpt lock."""
    update_file(stamp_file(root), changes)


def update_file(file: Path, changes: dict[str, Stamp | None]) -> None:
    stamps = dict(load_file(file))
    for path, stamp in changes.items():
        if stamp is None:
            stamps.pop(path, None)
        else:
            stamps[path] = stamp
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".stamps.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"version": 1, "stamps": {p: list(s) for p, s in stamps.items()}}))
    os.replace(tmp, file)


def make(path: Path, md5: str, dir_md5: str) -> Stamp:
    st = os.stat(path)
    return Stamp(st.st_ino, st.st_size, st.st_mtime_ns, md5, dir_md5)
