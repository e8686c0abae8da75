"""Small files parsed on the warm path, kept per process until ``stat`` shows they were replaced."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class FileMemo(Generic[T]):
    """``parse(path)``, re-run only when the file's (inode, size, mtime_ns) changes.

    Raises FileNotFoundError like ``os.stat`` when the file is missing.
    """

    def __init__(self, parse: Callable[[Path], T]) -> None:
        self._parse = parse
        self._memo: dict[Path, tuple[tuple[int, int, int], T]] = {}

    def get(self, path: Path) -> T:
        st = os.stat(path)
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        hit = self._memo.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = self._parse(path)
        self._memo[path] = (key, value)
        return value
