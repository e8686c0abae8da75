"""``/resolve``: file downloads with the headers hf_hub_download needs, and byte ranges."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hubsim.api import open_repo, resolve
from hubsim.errors import HubHTTPError, entry_not_found

if TYPE_CHECKING:
    from hubsim.server import Handler

RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``Range`` -> (start, end inclusive); None to send everything; 416 if unsatisfiable."""
    m = RANGE_RE.fullmatch(value.strip())
    if not m or (not m[1] and not m[2]):
        return None  # malformed or multi-range: RFC 9110 lets a server ignore it
    if not m[1]:  # suffix: the last N bytes
        n = int(m[2])
        if n == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - n), size - 1
    start = int(m[1])
    end = min(int(m[2]), size - 1) if m[2] else size - 1
    if start >= size or end < start:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> HubHTTPError:
    return HubHTTPError(
        416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"}
    )


def resolve_file(h: Handler, prefix: str | None, repo_id: str, rev: str, path: str) -> None:
    repo_type = {"datasets/": "dataset", "spaces/": "space"}.get(prefix or "", "model")
    repo = open_repo(h, repo_type, repo_id)
    commit = resolve(repo, rev)
    entry = commit.files.get(path)
    if entry is None:
        raise entry_not_found(path)
    # ETag doubles as the client's cache blob name: git sha1 for regular files, sha256 for LFS.
    headers = {
        "Content-Type": "application/octet-stream",
        "ETag": f'"{entry.etag}"',
        "X-Repo-Commit": commit.id,
        "Accept-Ranges": "bytes",
    }
    if entry.lfs:
        headers |= {"X-Linked-Etag": f'"{entry.etag}"', "X-Linked-Size": str(entry.size)}
    blob = h.server.store.blobs.path(entry.sha256)
    span = parse_range(h.headers["Range"], entry.size) if h.headers.get("Range") else None
    if span is None:
        h.send_file(blob, 0, entry.size, 200, headers)
        return
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
    h.send_file(blob, start, end - start + 1, 206, headers)
