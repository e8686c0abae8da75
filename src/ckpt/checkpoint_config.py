"""The registry and DVC's remotes in one dict, the shape the original plan gave the config.

It joins ``ckpt.registry`` (the names) and ``ckpt.dvcfiles`` (what DVC recorded, which builds on
the registry's types), so it sits above both and the registry imports nothing from dvcfiles.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ckpt import dvcfiles
from ckpt.registry import find_repo_root, load_registry

TYPE_CHECKING = False  # typing stays off the warm path (see ckpt.memo)
if TYPE_CHECKING:
    from typing import Any


def load_checkpoint_config(root: Path | None = None) -> dict[str, Any]:
    """The registry in the original plan's shape: ``{"checkpoints": {...}, "config": {...}}``."""
    root = root or find_repo_root()
    return {
        "checkpoints": {
            a.name: {
                "filename": PurePosixPath(a.path).name,
                "path": a.path,
                "description": a.desc,
                "type": a.type,
                "labels": list(a.labels),
                "meta": dict(a.meta),
            }
            for a in load_registry(root).values()
        },
        "config": {
            "repo_root": str(root),
            "dvc_file": str(root / dvcfiles.DVC_FILE),
            "remotes": {r.name: r.url for r in dvcfiles.remotes(root)},
        },
    }
