"""Staging DVC objects and committing them to a Hub repo in as few commits as the Hub allows.

A whole ``dvc push`` (or ``dvc gc -c``) is one ``Staging``: ``put_file``/``rm`` only record what to
do, ``commit_all`` then writes it in chunks of at most ``max_commit_files`` files, files before
``.dir`` objects. A ``.dir`` tells DVC "the whole directory is there", so it is committed only once
every earlier chunk landed; after a failed chunk nothing more is committed and the remote stays
consistent (objects without their ``.dir``), which the next push completes.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tqdm import tqdm

from .retry import RETRY_STATUS, retry_after, retrying

if TYPE_CHECKING:
    from .fs import HfFileSystem, RepoRef

logger = logging.getLogger("dvc").getChild("dvc_hf")

DIR_SUFFIX = ".dir"
# The Hub inlines "regular" (small, non-LFS) files in the commit payload, which it caps at about
# 1 GB; files of 10 MiB and more always go through LFS and cost the payload nothing.
LFS_THRESHOLD = 10 * 1024 * 1024
MAX_INLINE_BYTES = 256 * 1024 * 1024
# 429 on a commit means "not committed", so retrying is safe (each wait is capped by
# retry.MAX_RATE_LIMIT_WAIT).
MAX_RATE_LIMIT_RETRIES = 5


@dataclass
class _Add:
    path: str  # DVC path (repo root included)
    local: str
    size: int


@dataclass
class _RepoWork:
    adds: dict[str, _Add] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)


class Staging:
    """What one DVC operation wants written to the Hub; thread-safe (DVC stages from a pool)."""

    def __init__(self, fs: HfFileSystem, action: str) -> None:
        self.fs = fs
        self.action = action
        self._lock = threading.Lock()
        self._work: dict[RepoRef, _RepoWork] = {}
        self._tmpdir: str | None = None

    def add(self, from_file, path: str) -> None:
        local = self._spool(from_file) if hasattr(from_file, "read") else os.fspath(from_file)
        size = os.path.getsize(local)
        repo, _ = self.fs.locate(path)
        with self._lock:
            self._work.setdefault(repo, _RepoWork()).adds[path] = _Add(path, local, size)

    def delete(self, path: str) -> None:
        repo, _ = self.fs.locate(path)
        with self._lock:
            self._work.setdefault(repo, _RepoWork()).deletes.append(path)

    def _spool(self, fobj) -> str:
        # Objects copied from another remote arrive as streams: keep them on disk, not in memory.
        with self._lock:
            if self._tmpdir is None:
                self._tmpdir = tempfile.mkdtemp(prefix="dvc-hf-")
        fd, local = tempfile.mkstemp(dir=self._tmpdir)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(fobj, out, 1024 * 1024)
        return local

    def discard(self) -> None:
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        self._work.clear()

    def commit_all(self) -> set[str]:
        """Commit everything staged; return the DVC paths that did not reach the Hub."""
        failed: set[str] = set()
        try:
            for repo, work in self._work.items():
                failed |= _Committer(self.fs, repo, self.action).run(work)
        finally:
            self.discard()
        return failed


def plan_chunks(adds: list[_Add], max_files: int) -> list[list[_Add]]:
    """Split additions into commits: files first, `.dir` objects last, within the Hub's limits."""
    files = sorted((a for a in adds if not a.path.endswith(DIR_SUFFIX)), key=lambda a: a.path)
    dirs = sorted((a for a in adds if a.path.endswith(DIR_SUFFIX)), key=lambda a: a.path)
    chunks: list[list[_Add]] = []
    current: list[_Add] = []
    inline = 0
    for add in files + dirs:
        small = add.size < LFS_THRESHOLD
        if current and (
            len(current) >= max_files or (small and inline + add.size > MAX_INLINE_BYTES)
        ):
            chunks.append(current)
            current, inline = [], 0
        current.append(add)
        inline += add.size if small else 0
    if current:
        chunks.append(current)
    return chunks


def _describe(paths: list[str], limit: int = 100) -> str:
    lines = paths[:limit]
    if len(paths) > limit:
        lines.append(f"... and {len(paths) - limit} more")
    return "\n".join(lines)


class _Committer:
    def __init__(self, fs: HfFileSystem, repo: RepoRef, action: str) -> None:
        self.fs = fs
        self.repo = repo
        self.action = action
        self.created = False

    def run(self, work: _RepoWork) -> set[str]:
        chunks = plan_chunks(list(work.adds.values()), self.fs.max_commit_files)
        for index, chunk in enumerate(chunks, start=1):
            try:
                self._commit_adds(chunk, index, len(chunks))
            except Exception as exc:
                not_pushed = [a.path for later in chunks[index - 1 :] for a in later]
                logger.error(
                    "hf: commit %d/%d to %s failed, %d object(s) not pushed; the remote is "
                    "consistent, run the push again to complete it: %s",
                    index,
                    len(chunks),
                    self.repo.display,
                    len(not_pushed),
                    exc,
                )
                return set(not_pushed) | set(work.deletes)
        if work.deletes:
            return self._commit_deletes(work.deletes)
        return set()

    def _commit_adds(self, chunk: list[_Add], index: int, total: int) -> None:
        from huggingface_hub import CommitOperationAdd

        ndirs = sum(a.path.endswith(DIR_SUFFIX) for a in chunk)
        summary = (
            f"{self.fs.commit_message}: {len(chunk) - ndirs} object(s)"
            + (f" + {ndirs} .dir" if ndirs else "")
            + f", {tqdm.format_sizeof(sum(a.size for a in chunk), 'B')}"
            + (f" (part {index}/{total})" if total > 1 else "")
        )
        paths = [self.fs.locate(a.path)[1] for a in chunk]
        description = f"Pushed by dvc-hf ({self.action}).\n\n" + _describe(
            [p for p in paths if p.endswith(DIR_SUFFIX)]
            + [p for p in paths if not p.endswith(DIR_SUFFIX)]
        )
        operations = [
            CommitOperationAdd(path_in_repo=path, path_or_fileobj=add.local)
            for path, add in zip(paths, chunk, strict=True)
        ]
        self._commit(operations, summary, description)
        logger.debug("hf: committed %s to %s", summary, self.repo.display)

    def _commit_deletes(self, deletes: list[str]) -> set[str]:
        from huggingface_hub import CommitOperationDelete

        paths = sorted({self.fs.locate(p)[1] for p in deletes})
        operations = [CommitOperationDelete(path_in_repo=p, is_folder=False) for p in paths]
        summary = f"{self.action}: remove {len(paths)} unreferenced object(s)"
        try:
            self._commit(operations, summary, _describe(paths))
        except Exception as exc:
            logger.error("hf: delete commit to %s failed: %s", self.repo.display, exc)
            return set(deletes)
        return set()

    def _commit(self, operations: list, summary: str, description: str) -> None:
        from huggingface_hub.errors import (
            HfHubHTTPError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        api = self.fs.api
        waits = 0
        while True:
            try:
                # 429 (the commit rate limit) is waited out below, for as long as the Hub asks.
                retrying(
                    lambda: api.create_commit(
                        self.repo.id,
                        operations,
                        commit_message=summary,
                        commit_description=description,
                        repo_type=self.repo.type,
                        revision=self.fs.revision,
                        num_threads=self.fs.jobs,
                    ),
                    f"commit to {self.repo.display}",
                    endpoint=self.fs.endpoint,
                    status=RETRY_STATUS - {429},
                )
                break
            except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
                if not self.fs.create_repo or self.created:
                    raise self.fs.missing_repo_error(self.repo, exc) from None
                self._create()
            except HfHubHTTPError as exc:
                wait = retry_after(exc)
                if wait is None or waits >= MAX_RATE_LIMIT_RETRIES:
                    raise (self.fs.http_error(exc) or exc) from exc
                waits += 1
                logger.warning(
                    "hf: the Hub rate-limited commits to %s; waiting %.0f s as it asks "
                    "(Retry-After), then retrying",
                    self.repo.display,
                    wait,
                )
                time.sleep(wait)
        self.fs.invalidate_listings()

    def _create(self) -> None:
        api = self.fs.api
        api.create_repo(
            self.repo.id, repo_type=self.repo.type, private=self.fs.private, exist_ok=True
        )
        if self.fs.revision != "main":
            api.create_branch(
                self.repo.id, branch=self.fs.revision, repo_type=self.repo.type, exist_ok=True
            )
        self.created = True
        logger.info("hf: created %s", self.repo.display)
