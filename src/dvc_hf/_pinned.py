"""huggingface_hub's HfFileSystem pinned to one branch, with branch-free path names.

DVC compares the paths it gets back (listings, ``find``) with the paths it asked about, so names must
not grow an ``@revision`` part: HfFileSystem adds one for any revision other than ``main``. This
module imports huggingface_hub and is only imported when an hf:// remote is used.
"""

from dataclasses import dataclass
from typing import Any

from huggingface_hub import HfFileSystem, constants, hf_hub_url
from huggingface_hub.hf_file_system import HfFileSystemResolvedRepositoryPath

from .retry import retrying


@dataclass
class _BranchFreePath(HfFileSystemResolvedRepositoryPath):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.root = constants.REPO_TYPES_URL_PREFIXES.get(self.repo_type, "") + self.repo_id


class PinnedHfFileSystem(HfFileSystem):
    """Every path resolves to ``revision`` unless it names another one with ``@``."""

    def __init__(self, *args: Any, revision: str = constants.DEFAULT_REVISION, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pinned_revision = revision

    def resolve_path(self, path: str, revision: str | None = None):
        # Asks the Hub for repo info once per repo and revision; not retried by huggingface_hub.
        resolved = retrying(
            lambda: super(PinnedHfFileSystem, self).resolve_path(
                path, revision=revision or self.pinned_revision
            ),
            f"repo info for {path}",
            endpoint=self.endpoint,
        )
        if not isinstance(resolved, HfFileSystemResolvedRepositoryPath):
            return resolved
        return _BranchFreePath(
            resolved.repo_type,
            resolved.repo_id,
            resolved.revision,
            resolved.path_in_repo,
            _raw_revision=resolved._raw_revision,
        )

    def url(self, path: str) -> str:
        # dvc_hf.fs opens only paths it has checked are files: skip HfFileSystem's isdir() probe,
        # a listing of the parent folder for every file read.
        resolved = self.resolve_path(path)
        return hf_hub_url(
            resolved.repo_id,
            resolved.path_in_repo,
            repo_type=resolved.repo_type,
            revision=resolved.revision,
            endpoint=self.endpoint,
        )
