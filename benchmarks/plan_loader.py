"""The original plan's loader, the baseline of #1: read the YAML config, and on every call check the
file's sha256, read in 4 KiB blocks, before returning its path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml


def calculate_sha256(file_path: Path) -> str:
    sha256_hash = hashlib.sha256()
    with open(file_path, "rb") as f:
        for byte_block in iter(lambda: f.read(4096), b""):
            sha256_hash.update(byte_block)
    return sha256_hash.hexdigest()


def get_checkpoint(name: str, config_path: Path) -> Path:
    config = yaml.safe_load(config_path.read_text())
    entry = config["checkpoints"][name]
    path = config_path.parent / entry["path"]
    if path.exists() and calculate_sha256(path) == entry["sha256"]:
        return path
    raise FileNotFoundError(f"{path} is missing or corrupt; the plan's loader would download it")


def write_config(config_path: Path, name: str, path: str, sha256: str) -> None:
    config = {"checkpoints": {name: {"path": path, "sha256": sha256}}}
    config_path.write_text(yaml.safe_dump(config))
