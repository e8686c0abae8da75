"""What the environment tells the loader (read on each call, so tests and users can change it)."""

from __future__ import annotations

import os

_TRUE = {"1", "true", "yes", "on"}


def skip_downloads() -> bool:
    """SKIP_CHECKPOINT_DOWNLOAD=true: never fetch; a missing checkpoint raises CheckpointSkipped."""
    return os.environ.get("SKIP_CHECKPOINT_DOWNLOAD", "").strip().lower() in _TRUE
