"""Open a checkpoint safely: scan it, then ``torch.load(weights_only=True)`` with a narrow allowlist.

Two independent guards: the picklescan scan (``ckpt.scan``) refuses known-dangerous globals before
torch sees the file, and torch's weights-only unpickler refuses every global outside its allowlist
while loading. The only globals added to that allowlist are the Lightning/omegaconf ones named in
``ckpt.scan.LIGHTNING_GLOBALS``, and only those the scan found in this very file, so opening a
plain checkpoint never imports Lightning or omegaconf.
"""

from __future__ import annotations

import importlib
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ckpt.errors import UnsafeCheckpoint
from ckpt.scan import LIGHTNING_GLOBALS, scan_checkpoint


def load_checkpoint(
    name_or_path: str | os.PathLike[str], *, map_location: str = "cpu", rev: str | None = None
) -> Any:
    """The unpickled checkpoint (a dict for Lightning checkpoints) of a registry name or a file.

    A ``str`` is a registry name (fetched if needed through ``get_checkpoint``) unless it contains
    a '.' or starts with '/', which registry names never do; pass a ``Path`` to mean a file.
    ``rev`` (a git tag, branch, commit or NAME@vX.Y.Z) loads a name as that revision pinned it.
    Raises UnsafeCheckpoint when the scan or torch's weights-only unpickler refuses the file, and
    ImportError when torch is not installed.
    """
    path = _resolve(name_or_path, rev)
    report = scan_checkpoint(path)
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"torch is needed to load {path} and is not installed. Install it "
            "(pip install 'chemeleon2-ckpt[torch]'); get_checkpoint() gives the path without it."
        ) from None
    # mmap maps tensor storages instead of reading them, but only the zip format supports it;
    # torch tells the formats apart by the first four bytes, and so do we.
    with open(path, "rb") as f:
        mmap = f.read(4) == b"PK\x03\x04"
    try:
        with torch.serialization.safe_globals(_importable(report.allowed)):
            return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        raise UnsafeCheckpoint(
            f"torch refused to unpickle {path} with weights_only=True: {_reason(exc)} "
            "Nothing from it was used. The globals allowed beyond torch's own are "
            "ckpt.scan.LIGHTNING_GLOBALS (only those importable here). Do not fall back to "
            "weights_only=False for a file you did not produce yourself."
        ) from exc


def _resolve(name_or_path: str | os.PathLike[str], rev: str | None = None) -> Path:
    if (
        isinstance(name_or_path, str)
        and "." not in name_or_path
        and not name_or_path.startswith("/")
    ):
        from ckpt.loader import get_checkpoint

        return Path(get_checkpoint(name_or_path, rev=rev))
    if rev is not None:
        raise TypeError(
            f"rev={rev!r} selects a registry name's version, but {name_or_path!r} is a file path. "
            "Pass the checkpoint's registry name, or drop rev=."
        )
    return Path(name_or_path)


def _importable(names: Iterable[str]) -> list[Any]:
    """The objects behind the Lightning/omegaconf globals in ``names`` that can be imported here.

    A class that cannot be imported could not be unpickled either; torch then names it.
    """
    objects = []
    for dotted in sorted(set(names).intersection(LIGHTNING_GLOBALS)):
        module, _, attr = dotted.rpartition(".")
        try:
            objects.append(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError):
            continue
    return objects


def _reason(exc: BaseException) -> str:
    # torch wraps the unpickler's own message (which names the global) in a long tutorial that
    # suggests weights_only=False; the original survives as the suppressed __context__.
    return " ".join(str(exc.__context__ or exc).split())
