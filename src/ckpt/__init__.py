"""Versioned, verified model checkpoints: DVC-tracked, published to the Hugging Face Hub and S3.

from ckpt import checkpoint_path, get_checkpoint, resolve_checkpoint_path
path = get_checkpoint("mp_20_vae")   # verified local path; fetched through DVC if missing
checkpoint_path("mp_20_vae")         # where it lives, without fetching: for module-level constants
resolve_checkpoint_path(arg)         # an existing file as is, else a registry name
"""

from ckpt.checkpoint_config import load_checkpoint_config
from ckpt.errors import (
    CheckpointNotFound,
    CheckpointSkipped,
    CheckpointUnavailable,
    ChecksumMismatch,
    CkptError,
    LockTimeout,
    RegistryError,
    RevisionNotFound,
    UnknownCheckpoint,
    UnsafeCheckpoint,
)
from ckpt.hashing import calculate_sha256, verify_checksum
from ckpt.loader import get_checkpoint
from ckpt.names import checkpoint_path, resolve_checkpoint_path

__all__ = [
    "CheckpointNotFound",
    "CheckpointSkipped",
    "CheckpointUnavailable",
    "ChecksumMismatch",
    "CkptError",
    "LockTimeout",
    "RegistryError",
    "RevisionNotFound",
    "UnknownCheckpoint",
    "UnsafeCheckpoint",
    "calculate_sha256",
    "checkpoint_path",
    "get_checkpoint",
    "load_checkpoint",
    "load_checkpoint_config",
    "resolve_checkpoint_path",
    "verify_checksum",
]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    # load_checkpoint pulls in the pickle scanner; only pay for it when asked.
    if name == "load_checkpoint":
        from ckpt.torch_load import load_checkpoint

        return load_checkpoint
    raise AttributeError(f"module 'ckpt' has no attribute {name!r}")
