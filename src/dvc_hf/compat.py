"""What dvc-hf supports, checked before it patches anything, and the few differences it bridges.

dvc-hf patches dvc, dvc-objects and dvc-data at import time and subclasses huggingface_hub's
HfFileSystem, so a release outside the tested ranges could break a push silently. The ranges below
are the ones ``make test-compat`` runs (lowest and highest of each); README.md states them too.
This module imports nothing heavy: versions come from the installed distributions' metadata.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from types import ModuleType

# distribution -> (lowest supported, first unsupported), as (major, minor[, patch]) tuples.
SUPPORTED: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "dvc": ((3, 50), (4,)),
    # What dvc 3.50 (dvc-data 3.15, dvc-objects 5.1) to 3.67 (dvc-data 3.18, dvc-objects 5.2)
    # install; the two wrapped dvc-data functions have one shape across them.
    "dvc-data": ((3, 15), (4,)),
    "dvc-objects": ((5, 1), (6,)),
    # 1.16 is the first release whose HfFileSystem.ls/resolve_path behave as dvc-hf needs.
    "huggingface_hub": ((1, 16), (3,)),
}
# The parameters dvc-hf's wrappers read or pass by name (see seams.py).
TRANSFER_PARAMS = ("src", "dest", "obj_ids", "missing_ids")
TRANSFER_KEYWORDS = ("src_index", "dest_index", "cache_odb")
GC_PARAMS = ("odb",)


def _spec(low: tuple[int, ...], high: tuple[int, ...]) -> str:
    return f">={'.'.join(map(str, low))},<{'.'.join(map(str, high))}"


def supported_ranges() -> str:
    return ", ".join(f"{name}{_spec(*bounds)}" for name, bounds in SUPPORTED.items())


def _release(version: str) -> tuple[int, ...]:
    """(3, 67, 1) for "3.67.1"; a pre-release counts as its release ("1.0rc1" -> (1, 0))."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(p) for p in match[0].split(".")) if match else ()


def version_problem(name: str) -> str | None:
    """Why the installed ``name`` is not supported; None when it is, or is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version(name)
    except PackageNotFoundError:
        return None
    low, high = SUPPORTED[name]
    if low <= _release(installed) < high:
        return None
    return f"{name} {installed} is installed, dvc-hf supports {name}{_spec(low, high)}"


@functools.cache
def dvc_problems() -> tuple[str, ...]:
    """What keeps dvc-hf from patching the installed dvc, dvc-data and dvc-objects."""
    return tuple(p for n in ("dvc", "dvc-data", "dvc-objects") if (p := version_problem(n)))


def refusal(problems: tuple[str, ...] | list[str]) -> str:
    return (
        "dvc-hf: the hf:// remote is not registered: "
        + "; ".join(problems)
        + f". Supported: {supported_ranges()}. Install supported versions, e.g. "
        "pip install 'dvc>=3.50,<4' 'huggingface_hub>=1.16,<3'."
    )


def signature_problem(function: Callable, positional: tuple[str, ...], keywords=()) -> str | None:
    """Why ``function`` cannot be wrapped as dvc-hf expects; None when it can."""
    where = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return f"{where} has no inspectable signature"
    names = list(params)
    if tuple(names[: len(positional)]) != positional:
        return f"{where} takes ({', '.join(names)}), not ({', '.join(positional)}, ...)"
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if missing := [k for k in keywords if k not in params and not takes_any]:
        return f"{where} has no parameter {', '.join(missing)}"
    return None


def http_module() -> ModuleType:
    """The HTTP library huggingface_hub is built on: httpx2 from 2.0, httpx in 1.x.

    Its exceptions and Timeout are what huggingface_hub raises and accepts; importing the other
    library would classify nothing and configure nothing."""
    from huggingface_hub.utils import _http

    return getattr(_http, "httpx2", None) or _http.httpx
