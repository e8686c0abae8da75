"""The ``M`` fixture's matchers for DVC's TestAPI suite on dvc below 3.65, where the suite asks
for an ``M`` fixture that only dvc's own (unshipped) conftest defines; 3.65 ships
``dvc.testing.matchers`` and imports it directly. Only the two matchers the suite uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any


class _Subset:
    """Equal to any mapping holding these items (other keys are ignored)."""

    def __init__(self, d: Mapping[str, Any] | None = None, **keys: Any) -> None:
        self.d = {**(d or {}), **keys}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and all(other.get(k) == v for k, v in self.d.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"M.dict({self.d!r})"


class _Unordered:
    """Equal to any iterable with the same items in any order."""

    def __init__(self, *items: Any) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Iterable) and sorted(self.items) == sorted(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"M.unordered{self.items!r}"


M = SimpleNamespace(dict=_Subset, unordered=_Unordered)
