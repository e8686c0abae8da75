"""What a checkpoint name (or a path given in its place) stands for, in the shapes callers want.

``checkpoint_path(name)``: where the name's file lives, fetched or not; cheap enough for
module-level constants. ``resolve_checkpoint_path(name_or_path)``: for command-line and config
values that may be either a file or a registry name (``ckpt_path=mp_20_vae`` or
``ckpt_path=runs/last.ckpt``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ckpt.errors import RegistryError, UnknownCheckpoint
from ckpt.registry import REGISTRY_FILE, find_repo_root, load_registry, lookup


def checkpoint_path(name: str, *, rev: str | None = None) -> Path:
    """Absolute local path of the checkpoint ``name``, whether or not the file is there yet.

    Nothing is fetched, hashed or verified, so it never raises CheckpointSkipped: use it for
    module-level constants, and ``get_checkpoint`` (or ``ckpt pull``) where the bytes are needed.
    With ``rev``, the path ``get_checkpoint(name, rev=rev)`` returns (read from git, no checkout).
    Raises CheckpointNotFound (a KeyError) for a name that is not in the registry (at ``rev``).
    """
    root = find_repo_root()
    if rev is not None:
        from ckpt import versions

        return versions.path_at(root, name, rev)
    return root / lookup(load_registry(root), name).path


def resolve_checkpoint_path(
    name_or_path: str | os.PathLike[str], *, rev: str | None = None
) -> Path:
    """An existing file, returned as given; else the registry checkpoint of that exact name,
    through ``get_checkpoint`` (fetched and verified; ``rev`` as there); else UnknownCheckpoint
    (a ValueError) naming the closest registry name and listing them all.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    text = os.fspath(name_or_path)
    where = _describe_missing(path)
    try:
        root = find_repo_root()
    except RegistryError as exc:
        raise UnknownCheckpoint(
            f"'{text}' is not a checkpoint file ({where}), and it cannot be looked up as a "
            f"checkpoint name: {exc}"
        ) from None
    if rev is None:
        registry, at = load_registry(root), ""
    else:
        from ckpt.revisions import read_revision

        revision = read_revision(root, rev)
        registry, at = revision.registry, f" at revision {revision.label}"
    if text not in registry:
        import difflib

        close = difflib.get_close_matches(text, list(registry), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise UnknownCheckpoint(
            f"'{text}' is neither a checkpoint file ({where}) nor a checkpoint name in "
            f"{root / REGISTRY_FILE}{at}.{hint} Available: {', '.join(sorted(registry)) or '(none)'}. "
            "Pass the path of a checkpoint file or one of those names."
        )
    from ckpt.loader import get_checkpoint

    return get_checkpoint(text, rev=rev)


def _describe_missing(path: Path) -> str:
    if path.is_dir():
        return f"{path.absolute()} is a directory"
    return f"no file at {path.absolute()}"
