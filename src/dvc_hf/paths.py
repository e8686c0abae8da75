"""hf:// paths: which Hub repository a DVC path is in, and where in it.

Free of dvc and huggingface_hub imports (the errors module, which imports dvc, is loaded only to
raise): ``ckpt``'s cold path addresses objects with it without loading DVC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

URL_FORMS = "hf://datasets/ORG/REPO[/PREFIX], hf://models/ORG/REPO[/PREFIX] or hf://ORG/REPO"
_REPO_TYPES = {"datasets": "dataset", "spaces": "space"}
_OBJECT = re.compile(r"(?:^|/)files/md5/([0-9a-f]{2})/([0-9a-f]{30})(?:\.dir)?$")


@dataclass(frozen=True)
class RepoRef:
    type: str  # "model" | "dataset" | "space"
    id: str  # ORG/REPO
    root: str  # the DVC path of the repo root, e.g. "datasets/ORG/REPO"

    @property
    def display(self) -> str:
        return f"hf://{self.root}"


def strip_protocol(path: str) -> str:
    """A URL or DVC path -> the DVC path (``datasets/ORG/REPO/...``); a URL is checked."""
    url = path.startswith("hf://")
    path = path[len("hf://") :] if url else path
    path = path.strip("/")
    # "models/" is the default repo type: drop it so names match HfFileSystem's listings.
    if path.startswith("models/"):
        path = path[len("models/") :]
    if url:  # DVC strips the remote URL once, when it builds the remote: check it there
        split_repo(path)
    return path


def split_repo(path: str) -> tuple[RepoRef, str]:
    """DVC path -> (repository, path inside it)."""
    parts = path.split("/")
    url = "hf://" + path
    if parts[0] == "buckets":
        _config_error(
            f"'{url}': Hugging Face Storage Buckets need the Xet protocol, which dvc-hf does not "
            "speak. Use the buckets' S3 gateway with dvc-s3 (url s3://BUCKET, endpointurl "
            "https://s3.hf.co); see docs/DVC_HF.md."
        )
    size = 3 if parts[0] in _REPO_TYPES else 2
    if len(parts) < size or not all(parts[:size]):
        _config_error(f"'{url}' does not name a Hub repository; use {URL_FORMS}")
    if "@" in parts[size - 1]:
        _config_error(
            f"'{url}': give the branch with `dvc remote modify <name> revision <branch>`, "
            "not with '@' in the URL"
        )
    repo = RepoRef(_REPO_TYPES.get(parts[0], "model"), "/".join(parts[size - 2 : size]),
                   "/".join(parts[:size]))  # fmt: skip
    return repo, "/".join(parts[size:])


def object_md5(in_repo: str) -> str | None:
    """The md5 a DVC object's path names (``files/md5/ab/cdef...[.dir]``), else None."""
    match = _OBJECT.search(in_repo)
    return match[1] + match[2] if match else None


def _config_error(message: str) -> None:
    from .errors import HfConfigError

    raise HfConfigError(message)
