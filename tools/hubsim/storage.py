"""Repositories on disk: a content-addressed blob store plus small JSON files for commits and refs.

Layout under the data directory::

    blobs/ab/cdef...            file contents, named by sha256 (identical bytes are stored once)
    tmp/                        uploads in flight; renamed into blobs/ once their hash is checked
    repos/<type>s/<ns>/<name>/  repo.json (visibility, dates), refs.json, commits/<id>.json

A commit records the whole file map of its tree (path -> size, sha256, git oid, lfs flag), so any
revision is answered from one small file, and commits are immutable, so they are cached in memory.
Every write is a temp file plus ``os.replace``: a killed server never leaves a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from hubsim.hashing import git_blob_sha1, is_commit_id, is_commit_prefix, lfs_pointer

REPO_TYPES = ("model", "dataset", "space")

# The .gitattributes the Hub puts in every new repo (trimmed to the common large-file types).
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
        "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
        "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
        "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip",
        "*.zst", "*tfevents*",
    )
)  # fmt: skip

COPY_CHUNK = 4 * 1024 * 1024


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(obj, separators=(",", ":")))
    os.replace(tmp, path)


class BlobStore:
    """File contents named by their sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root / "blobs"
        self.tmp = root / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except OSError:
            return None

    def temp_path(self) -> Path:
        return self.tmp / uuid.uuid4().hex

    def adopt(self, tmp: Path, sha256: str) -> None:
        """Move a fully written, hash-checked temp file into the store (or drop it if present)."""
        dest = self.path(sha256)
        if dest.exists():
            tmp.unlink(missing_ok=True)
            return
        dest.parent.mkdir(exist_ok=True)
        os.replace(tmp, dest)

    def put_bytes(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        if not self.path(sha256).exists():
            tmp = self.temp_path()
            tmp.write_bytes(data)
            self.adopt(tmp, sha256)
        return sha256

    def put_stream(self, read: Callable[[memoryview], int], size: int) -> tuple[str, Path]:
        """Copy exactly ``size`` bytes from ``read`` (a readinto) to a temp file, hashing as it goes.

        Returns the sha256 and the temp path; the caller checks the hash, then ``adopt``s the file.
        Raises ``EOFError`` (temp file removed) when the stream ends early.
        """
        tmp = self.temp_path()
        h = hashlib.sha256()
        buf = memoryview(bytearray(min(COPY_CHUNK, max(size, 1))))
        left = size
        try:
            with open(tmp, "wb") as out:
                while left:
                    n = read(buf[: min(left, len(buf))])
                    if not n:
                        raise EOFError(f"body ended {left} bytes early")
                    h.update(buf[:n])
                    out.write(buf[:n])
                    left -= n
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return h.hexdigest(), tmp


@dataclass(frozen=True)
class Entry:
    """One file in a tree. ``oid`` is the git blob id (of the pointer file for LFS)."""

    size: int
    sha256: str
    oid: str
    lfs: bool

    @classmethod
    def regular(cls, data: bytes, sha256: str) -> Entry:
        return cls(len(data), sha256, git_blob_sha1(data), False)

    @classmethod
    def large(cls, sha256: str, size: int) -> Entry:
        return cls(size, sha256, git_blob_sha1(lfs_pointer(sha256, size)), True)

    @property
    def pointer_size(self) -> int:
        return len(lfs_pointer(self.sha256, self.size))

    @property
    def etag(self) -> str:
        """What the Hub sends as ETag on resolve, and the client uses as its cache blob name."""
        return self.sha256 if self.lfs else self.oid


@dataclass
class Commit:
    id: str
    parents: list[str]
    title: str
    message: str
    date: str
    author: str
    files: dict[str, Entry]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parents": self.parents,
            "title": self.title,
            "message": self.message,
            "date": self.date,
            "author": self.author,
            "files": {p: [e.size, e.sha256, e.oid, e.lfs] for p, e in self.files.items()},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Commit:
        files = {p: Entry(*v) for p, v in d["files"].items()}
        return cls(d["id"], d["parents"], d["title"], d["message"], d["date"], d["author"], files)

    @cached_property
    def paths(self) -> list[str]:
        return sorted(self.files)

    @cached_property
    def dirs(self) -> dict[str, str]:
        """Every directory of the tree -> a stable id derived from everything below it."""
        hashers: dict[str, Any] = {}
        for path in self.paths:
            parts = path.split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                hashers.setdefault(d, hashlib.sha1(b"tree\0")).update(
                    f"{path}\0{self.files[path].oid}\n".encode()
                )
        return {d: h.hexdigest() for d, h in hashers.items()}


class RevisionError(LookupError):
    """The revision names no branch, tag or commit of the repo."""


@dataclass
class Repo:
    """One repository. Writers hold ``lock``; readers see refs.json swapped atomically."""

    root: Path
    type: str
    id: str
    lock: threading.RLock = field(default_factory=threading.RLock)

    _cache: OrderedDict[str, Commit] = field(default_factory=OrderedDict)

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads((self.root / "repo.json").read_text())

    def set_meta(self, **changes: Any) -> None:
        with self.lock:
            write_json(self.root / "repo.json", {**self.meta, **changes})

    @property
    def private(self) -> bool:
        return bool(self.meta.get("private"))

    def refs(self) -> dict[str, dict[str, str]]:
        return json.loads((self.root / "refs.json").read_text())

    def _set_refs(self, refs: dict[str, dict[str, str]]) -> None:
        write_json(self.root / "refs.json", refs)

    def resolve(self, revision: str) -> str:
        """Branch, tag, ``refs/heads/x``, ``refs/tags/x``, a full commit id or a unique prefix of
        one (4 hex digits or more, as git abbreviates) -> commit id."""
        refs = self.refs()
        for kind, prefix in (("branches", "refs/heads/"), ("tags", "refs/tags/")):
            name = revision.removeprefix(prefix)
            if name in refs[kind]:
                return refs[kind][name]
        commits = self.root / "commits"
        if is_commit_id(revision) and (commits / f"{revision}.json").exists():
            return revision
        if is_commit_prefix(revision):
            # The Hub resolves an abbreviated sha like git does: one match, or no answer at all.
            matches = [f.stem for f in commits.glob(f"{revision}*.json")]
            if len(matches) == 1:
                return matches[0]
        raise RevisionError(revision)

    def commit(self, commit_id: str) -> Commit:
        with self.lock:
            if commit_id in self._cache:
                self._cache.move_to_end(commit_id)
                return self._cache[commit_id]
        data = json.loads((self.root / "commits" / f"{commit_id}.json").read_text())
        commit = Commit.from_json(data)
        with self.lock:
            self._cache[commit_id] = commit
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return commit

    def history(self, commit_id: str) -> Iterator[Commit]:
        """First-parent history, newest first."""
        while True:
            commit = self.commit(commit_id)
            yield commit
            if not commit.parents:
                return
            commit_id = commit.parents[0]

    def write_commit(
        self,
        parent: str | None,
        files: dict[str, Entry],
        title: str,
        message: str,
        author: str,
    ) -> Commit:
        date = now_iso()
        seed = json.dumps([parent, title, message, date, time.time_ns(), sorted(files)])
        commit = Commit(
            id=hashlib.sha1(seed.encode()).hexdigest(),
            parents=[parent] if parent else [],
            title=title,
            message=message,
            date=date,
            author=author,
            files=files,
        )
        write_json(self.root / "commits" / f"{commit.id}.json", commit.to_json())
        return commit

    def set_ref(self, kind: str, name: str, commit_id: str | None) -> None:
        with self.lock:
            refs = self.refs()
            if commit_id is None:
                refs[kind].pop(name, None)
            else:
                refs[kind][name] = commit_id
            self._set_refs(refs)
            self.set_meta(lastModified=now_iso())


class RepoStore:
    """All repositories under ``<data>/repos`` plus the shared blob store."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.blobs = BlobStore(data_dir)
        self.repos_dir = data_dir / "repos"
        self.repos_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str], Repo] = {}

    def _root(self, repo_type: str, repo_id: str) -> Path:
        return self.repos_dir / f"{repo_type}s" / repo_id

    def get(self, repo_type: str, repo_id: str) -> Repo | None:
        with self._lock:
            repo = self._open.get((repo_type, repo_id))
            if repo is None:
                root = self._root(repo_type, repo_id)
                if not (root / "refs.json").exists():
                    return None
                repo = self._open[(repo_type, repo_id)] = Repo(root, repo_type, repo_id)
            return repo

    def create(self, repo_type: str, repo_id: str, *, private: bool, author: str) -> bool:
        """Create the repo with the Hub's initial commit; False if it already exists."""
        with self._lock:
            root = self._root(repo_type, repo_id)
            if (root / "refs.json").exists():
                return False
            tmp = root.with_name(f".{root.name}.{uuid.uuid4().hex}.creating")
            (tmp / "commits").mkdir(parents=True)
            created = now_iso()
            write_json(tmp / "repo.json", {"private": private, "createdAt": created})
            repo = Repo(tmp, repo_type, repo_id)
            files: dict[str, Entry] = {}
            if repo_type != "space":
                data = DEFAULT_GITATTRIBUTES.encode()
                files[".gitattributes"] = Entry.regular(data, self.blobs.put_bytes(data))
            first = repo.write_commit(None, files, "initial commit", "", author)
            write_json(tmp / "refs.json", {"branches": {"main": first.id}, "tags": {}})
            repo.set_meta(lastModified=created)
            if root.exists():  # leftovers of a crash half-way through a delete
                shutil.rmtree(root)
            os.replace(tmp, root)
            self._open.pop((repo_type, repo_id), None)
            return True

    def delete(self, repo_type: str, repo_id: str) -> bool:
        with self._lock:
            root = self._root(repo_type, repo_id)
            if not (root / "refs.json").exists():
                return False
            # Rename first so the repo vanishes atomically; the blobs stay (other repos share them).
            trash = root.with_name(f".{root.name}.{uuid.uuid4().hex}.deleted")
            os.replace(root, trash)
            self._open.pop((repo_type, repo_id), None)
        shutil.rmtree(trash, ignore_errors=True)
        return True
