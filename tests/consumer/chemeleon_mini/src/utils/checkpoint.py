"""Checkpoints by name, from the DVC registry (``dvc.yaml``) through ckpt.

This module used to hold a hand-rolled ``hf_hub_download`` wrapper; callers keep importing from it
and only the import below changed.
"""

from ckpt import checkpoint_path, get_checkpoint, load_checkpoint_config, resolve_checkpoint_path

__all__ = ["checkpoint_path", "get_checkpoint", "load_checkpoint_config", "resolve_checkpoint_path"]
