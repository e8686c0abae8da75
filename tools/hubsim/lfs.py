"""The git-LFS batch API and the upload URLs it hands out (basic and multipart), plus verify.

The client sends no token on upload PUTs and multipart completions (as with S3 on the Hub), so the
hrefs carry an HMAC signature over what they allow (``auth.Auth.sign``). Uploads stream to a temp
file while being hashed and are renamed into the blob store only once their sha256 matches.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubsim.api import TYPE_PREFIX, open_repo
from hubsim.errors import DroppedConnection, HubHTTPError, bad_request
from hubsim.hashing import is_sha256

if TYPE_CHECKING:
    from hubsim.server import Handler

LFS_JSON = "application/vnd.git-lfs+json"
MAX_BATCH_OBJECTS = 1000


def _prefix_type(prefix: str | None) -> str:
    return {"datasets/": "dataset", "spaces/": "space"}.get(prefix or "", "model")


def batch(h: Handler, prefix: str | None, repo_id: str) -> None:
    repo_type = _prefix_type(prefix)
    body = h.body.json()
    write = body.get("operation") == "upload"
    open_repo(h, repo_type, repo_id, write=write)
    if not write:
        raise bad_request("The local hub serves downloads through /resolve, not the LFS batch API")
    objects = body.get("objects")
    if not isinstance(objects, list) or len(objects) > MAX_BATCH_OBJECTS:
        raise bad_request(f"'objects' must be a list of at most {MAX_BATCH_OBJECTS} items")
    limits, auth, blobs = h.server.limits, h.server.auth, h.server.store.blobs
    verify_href = f"{h.base_url}/{TYPE_PREFIX[repo_type]}{repo_id}.git/info/lfs/objects/verify"
    out: list[dict[str, Any]] = []
    multipart = False
    for obj in objects:
        oid, size = obj.get("oid"), obj.get("size")
        if not is_sha256(oid) or not isinstance(size, int) or size < 0:
            out.append(
                {
                    "oid": str(oid),
                    "size": size if isinstance(size, int) else 0,
                    "error": {"code": 422, "message": "oid must be a sha256 hex digest, size >= 0"},
                }
            )
            continue
        if blobs.size(oid) == size:
            out.append({"oid": oid, "size": size})  # no actions: already stored
            continue
        if limits.multipart_threshold and size > limits.multipart_threshold:
            multipart = True
            chunk = limits.multipart_chunk_size
            sig = auth.sign("multipart", oid, size, chunk)
            q = f"size={size}&chunk={chunk}&{sig}"
            upload: dict[str, Any] = {
                "href": f"{h.base_url}/_lfs/complete/{oid}?{q}",
                "header": {"chunk_size": str(chunk)}
                | {
                    str(n): f"{h.base_url}/_lfs/part/{oid}/{n}?{q}"
                    for n in range(1, math.ceil(size / chunk) + 1)
                },
            }
        else:
            sig = auth.sign("basic", oid, size)
            upload = {"href": f"{h.base_url}/_lfs/upload/{oid}?size={size}&{sig}"}
        actions = {"upload": upload, "verify": {"href": verify_href}}
        out.append({"oid": oid, "size": size, "authenticated": True, "actions": actions})
    answer = {"transfer": "multipart" if multipart else "basic", "objects": out}
    h.send_bytes(json.dumps(answer).encode(), content_type=LFS_JSON)


def _signed_int(h: Handler, name: str) -> int:
    try:
        return int(h.q(name) or "")
    except ValueError:
        raise HubHTTPError(403, f"Upload URL lacks a valid {name!r}") from None


def upload(h: Handler, oid: str) -> None:
    """Basic transfer: the whole object in one PUT."""
    size = _signed_int(h, "size")
    h.server.auth.verify(("basic", oid, size), h.q("exp") or "", h.q("sig") or "")
    if h.body.length is not None and h.body.length != size:
        raise bad_request(f"Expected {size} bytes, got Content-Length {h.body.length}")
    blobs = h.server.store.blobs
    sha256, tmp = blobs.put_stream(h.body.readinto, size)
    if h.body.chunked:
        h.body.read(0)  # the terminating chunk; anything more is an error
    if sha256 != oid:
        tmp.unlink(missing_ok=True)
        raise bad_request(f"sha256 mismatch: the URL is for {oid}, the body hashes to {sha256}")
    blobs.adopt(tmp, oid)
    h.send_bytes(b"", content_type="text/plain")


@dataclass
class _Multipart:
    """One multipart upload: parts written in place into one file, hashed while they arrive
    in order (the client sends them in order), so completion rarely re-reads the file."""

    path: Path
    size: int
    chunk: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: set[int] = field(default_factory=set)
    hasher: Any = field(default_factory=hashlib.sha256)
    hashed: int = 0  # bytes fed to ``hasher``; -1 once parts arrived out of order

    @property
    def parts(self) -> int:
        return math.ceil(self.size / self.chunk)


class MultipartUploads:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uploads: dict[tuple[str, int, int], _Multipart] = {}

    def get(self, h: Handler, oid: str, size: int, chunk: int) -> _Multipart:
        with self._lock:
            key = (oid, size, chunk)
            if key not in self._uploads:
                path = h.server.store.blobs.tmp / f"multipart-{oid}-{size}-{chunk}"
                path.touch()
                self._uploads[key] = _Multipart(path, size, chunk)
            return self._uploads[key]

    def pop(self, oid: str, size: int, chunk: int) -> None:
        with self._lock:
            self._uploads.pop((oid, size, chunk), None)


def _multipart_args(h: Handler, oid: str) -> tuple[int, int]:
    size, chunk = _signed_int(h, "size"), _signed_int(h, "chunk")
    h.server.auth.verify(("multipart", oid, size, chunk), h.q("exp") or "", h.q("sig") or "")
    if chunk <= 0:
        raise bad_request("chunk must be positive")
    return size, chunk


def upload_part(h: Handler, oid: str, part: str) -> None:
    size, chunk = _multipart_args(h, oid)
    mp = h.server.multipart.get(h, oid, size, chunk)
    n = int(part)
    if not 1 <= n <= mp.parts:
        raise bad_request(f"Part {n} out of range 1..{mp.parts}")
    offset = (n - 1) * chunk
    length = min(chunk, size - offset)
    if h.body.length is not None and h.body.length != length:
        raise bad_request(f"Part {n} must be {length} bytes, got {h.body.length}")
    buf = memoryview(bytearray(min(length, 4 * 1024 * 1024) or 1))
    with mp.lock:
        in_order = mp.hashed == offset
        fd = os.open(mp.path, os.O_WRONLY)
        try:
            done = 0
            while done < length:
                k = h.body.readinto(buf[: min(len(buf), length - done)])
                if not k:
                    raise bad_request(f"Part {n} ended after {done} of {length} bytes")
                os.pwrite(fd, buf[:k], offset + done)
                if in_order:
                    mp.hasher.update(buf[:k])
                done += k
        except (HubHTTPError, DroppedConnection, OSError):
            if in_order:
                mp.hashed = -1  # fed a partial part: rehash at completion
            raise
        finally:
            os.close(fd)
        # Out of order (a gap, or a part sent again): the running hash cannot be trusted.
        mp.hashed = mp.hashed + length if in_order else -1
        mp.received.add(n)
    h.send_bytes(b"", content_type="text/plain", headers={"ETag": f'"{oid[:16]}-{n}-{length}"'})


def complete(h: Handler, oid: str) -> None:
    size, chunk = _multipart_args(h, oid)
    h.body.json()  # the parts list: our ETags carry nothing the server does not already know
    blobs = h.server.store.blobs
    if blobs.size(oid) == size:
        h.server.multipart.pop(oid, size, chunk)
        h.send_json({})
        return
    mp = h.server.multipart.get(h, oid, size, chunk)
    with mp.lock:
        missing = sorted(set(range(1, mp.parts + 1)) - mp.received)
        if missing:
            raise bad_request(f"Multipart upload of {oid} lacks parts {missing[:10]}")
        os.truncate(mp.path, size)
        if mp.hashed == size:
            digest = mp.hasher.hexdigest()
        else:
            with open(mp.path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        h.server.multipart.pop(oid, size, chunk)
        if digest != oid:
            mp.path.unlink(missing_ok=True)
            raise bad_request(f"sha256 mismatch: parts of {oid} hash to {digest}")
        blobs.adopt(mp.path, oid)
    h.send_json({})


def verify(h: Handler, prefix: str | None, repo_id: str) -> None:
    open_repo(h, _prefix_type(prefix), repo_id, write=True)
    body = h.body.json()
    oid, size = body.get("oid"), body.get("size")
    if not is_sha256(oid) or h.server.store.blobs.size(oid) != size:
        raise HubHTTPError(404, f"LFS object {oid} of size {size} not found")
    h.send_json({})
