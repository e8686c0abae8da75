"""Small files parsed on the warm path, kept per process until ``stat`` shows they were replaced.

The warm path runs many times per second, so it avoids pathlib there: file names are joined once
per (root, name) and looked up as strings. It also runs once in every fresh process that asks for a
checkpoint, so the modules it imports leave ``typing`` out (about 5 ms of such a process): typing
names are imported only for type checkers, under ``TYPE_CHECKING`` (spelled ``TYPE_CHECKING =
False``, which type checkers read as true, because importing it from typing is the cost avoided).
"""

from __future__ import annotations

import os
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_joined: dict[tuple[Path, str], str] = {}


def joined(root: Path, name: str | os.PathLike[str]) -> str:
    """``str(root / name)``, computed once per pair."""
    key = (root, os.fspath(name))
    try:
        return _joined[key]
    except KeyError:
        path = _joined[key] = os.path.join(root, key[1])
        return path


class FileMemo:
    """``parse(path)``, re-run only when the file's (inode, size, mtime_ns) changes.

    Raises FileNotFoundError like ``os.stat`` when the file is missing. Not generic (that needs
    ``typing.Generic`` at run time): each module's accessor function declares the parsed type.
    """

    def __init__(self, parse: Callable[[Path], Any]) -> None:
        self._parse = parse
        self._memo: dict[str, tuple[tuple[int, int, int], Any]] = {}

    def get(self, path: str | os.PathLike[str]) -> Any:
        file = os.fspath(path)
        st = os.stat(file)
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        hit = self._memo.get(file)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = self._parse(Path(file))
        self._memo[file] = (key, value)
        return value
