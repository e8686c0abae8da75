"""Staging DVC objects and committing them to a Hub repo in as few commits as the Hub allows.

A whole ``dvc push`` (or ``dvc gc -c``) is one ``Staging``: ``put_file``/``rm`` only record what to
do, ``commit_all`` then writes it in chunks of at most ``max_commit_files`` files, files before
``.dir`` objects. A ``.dir`` tells DVC "the whole directory is there", so it is committed only once
every earlier chunk landed; after a failed chunk nothing more is committed and the remote stays
consistent (objects without their ``.dir``), which the next push completes.

Large objects do not wait for the commit: each is hashed and its LFS content uploaded as soon as
DVC stages it, while DVC is still walking the rest of the push (``preupload_lfs_files``). An
upload is not a commit, so this changes nothing of the above; an early upload that fails is simply
done again by the commit, with its retries and its error messages. A caller that stages
everything at once (``ckpt push``) turns early uploads off: the commit then hashes and uploads
all of them together.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from .retry import RETRY_STATUS, retry_after, retrying

if TYPE_CHECKING:
    from .paths import RepoRef
    from .remote import HubRemote

logger = logging.getLogger("dvc").getChild("dvc_hf")

DIR_SUFFIX = ".dir"
# The Hub inlines "regular" (small, non-LFS) files in the commit payload, which it caps at about
# 1 GB; files of 10 MiB and more always go through LFS and cost the payload nothing.
LFS_THRESHOLD = 10 * 1024 * 1024
MAX_INLINE_BYTES = 256 * 1024 * 1024
# 429 on a commit means "not committed", so retrying is safe (each wait is capped by
# retry.MAX_RATE_LIMIT_WAIT).
MAX_RATE_LIMIT_RETRIES = 5


# Early uploads at a time: enough to keep the link busy, few enough to leave DVC its CPU.
EARLY_UPLOADS = 4


@dataclass
class _Add:
    path: str  # DVC path (repo root included)
    local: str
    size: int
    # A large object's upload started when it was staged: its CommitOperationAdd (uploaded, or
    # None if the early upload failed and the commit must do it).
    early: Future | None = None


@dataclass
class _RepoWork:
    adds: dict[str, _Add] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)


class Staging:
    """What one DVC operation wants written to the Hub; thread-safe (DVC stages from a pool)."""

    def __init__(self, fs: HubRemote, action: str, early: bool = True) -> None:
        self.fs = fs
        self.action = action
        self.early = early  # start large uploads as they are staged (see the module's docstring)
        self._lock = threading.Lock()
        self._work: dict[RepoRef, _RepoWork] = {}
        self._tmpdir: str | None = None
        self._early: ThreadPoolExecutor | None = None
        self._created: set[RepoRef] = set()

    def add(self, from_file, path: str) -> None:
        local = self._spool(from_file) if hasattr(from_file, "read") else os.fspath(from_file)
        add = _Add(path, local, os.path.getsize(local))
        repo, in_repo = self.fs.locate(path)
        if self.early and add.size >= LFS_THRESHOLD:  # always LFS on the Hub
            add.early = self._early_pool().submit(self._upload_early, repo, in_repo, local)
        with self._lock:
            self._work.setdefault(repo, _RepoWork()).adds[path] = add

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

    def create(self, repo: RepoRef) -> bool:
        """Create the repository (and the remote's branch) if ``create_repo`` allows, once per
        operation; whether it was created (now, or by another thread of this operation)."""
        if not self.fs.create_repo:
            return False
        with self._lock:  # the early uploads and the commit may all find it missing at once
            if repo in self._created:
                return True
            api = self.fs.api
            api.create_repo(repo.id, repo_type=repo.type, private=self.fs.private, exist_ok=True)
            if self.fs.revision != "main":
                api.create_branch(
                    repo.id, branch=self.fs.revision, repo_type=repo.type, exist_ok=True
                )
            self._created.add(repo)
        logger.info("hf: created %s", repo.display)
        return True

    def _upload_early(self, repo: RepoRef, in_repo: str, local: str) -> Any:
        """Hash and upload one large object's LFS content now; its operation, None on failure.

        Best effort by design: the Hub may refuse or fail, and the commit then uploads the object
        itself and reports what went wrong."""
        from huggingface_hub import CommitOperationAdd
        from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

        fs = self.fs

        def upload() -> None:
            fs.api.preupload_lfs_files(
                repo.id,
                [operation],
                repo_type=repo.type,
                revision=fs.revision,
                num_threads=1,
                free_memory=False,
            )

        try:
            operation = CommitOperationAdd(path_in_repo=in_repo, path_or_fileobj=local)
            try:
                upload()
            except (RepositoryNotFoundError, RevisionNotFoundError):
                if not self.create(repo):
                    raise
                upload()
        except Exception as exc:  # any: the commit retries the upload and reports
            logger.debug("hf: early upload of %s failed, the commit will do it: %s", in_repo, exc)
            return None
        return operation

    def _early_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._early is None:
                self._early = ThreadPoolExecutor(EARLY_UPLOADS, thread_name_prefix="dvc-hf-lfs")
            return self._early

    def discard(self, wait: bool = True) -> None:
        """Drop what is staged. ``wait``: let early uploads still running finish first (they may
        read spooled files); an interrupted push does not wait for them."""
        if self._early is not None:
            self._early.shutdown(wait=wait, cancel_futures=True)
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        self._work.clear()

    def commit_all(self) -> set[str]:
        """Commit everything staged; return the DVC paths that did not reach the Hub."""
        failed: set[str] = set()
        try:
            for repo, work in self._work.items():
                failed |= _Committer(self, repo).run(work)
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
    def __init__(self, staging: Staging, repo: RepoRef) -> None:
        self.staging = staging
        self.fs = staging.fs
        self.repo = repo
        self.action = staging.action

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
        self._commit(self._operations(paths, chunk), summary, description)
        logger.debug("hf: committed %s to %s", summary, self.repo.display)

    def _operations(self, paths: list[str], chunk: list[_Add]) -> Callable[[], list]:
        """The chunk's operations, ready to commit (their LFS content on the Hub), when called."""
        from huggingface_hub import CommitOperationAdd

        pairs = list(zip(paths, chunk, strict=True))
        operations = {path: CommitOperationAdd(path_in_repo=path, path_or_fileobj=add.local)
                      for path, add in pairs if add.early is None}  # fmt: skip
        early = {path: add for path, add in pairs if add.early is not None}

        def ready() -> list:
            if operations:
                # Uploaded while the early uploads are still going (the commit would only start
                # after them): create_commit then finds every LFS file uploaded.
                self.fs.api.preupload_lfs_files(
                    self.repo.id,
                    list(operations.values()),
                    repo_type=self.repo.type,
                    revision=self.fs.revision,
                    num_threads=self.fs.jobs,
                    free_memory=False,
                )
            for path, add in early.items():
                if path not in operations:  # once; an early upload that failed: the commit does it
                    assert add.early is not None
                    operations[path] = add.early.result() or CommitOperationAdd(
                        path_in_repo=path, path_or_fileobj=add.local
                    )
            return [operations[path] for path in paths]

        return ready

    def _commit_deletes(self, deletes: list[str]) -> set[str]:
        from huggingface_hub import CommitOperationDelete

        paths = sorted({self.fs.locate(p)[1] for p in deletes})
        operations = [CommitOperationDelete(path_in_repo=p, is_folder=False) for p in paths]
        summary = f"{self.action}: remove {len(paths)} unreferenced object(s)"
        try:
            self._commit(lambda: operations, summary, _describe(paths))
        except Exception as exc:
            logger.error("hf: delete commit to %s failed: %s", self.repo.display, exc)
            return set(deletes)
        return set()

    def _commit(self, operations: Callable[[], list], summary: str, description: str) -> None:
        from huggingface_hub.errors import (
            HfHubHTTPError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        api = self.fs.api
        waits = 0
        created = False
        while True:
            try:
                # 429 (the commit rate limit) is waited out below, for as long as the Hub asks.
                retrying(
                    lambda: api.create_commit(
                        self.repo.id,
                        operations(),
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
                if created or not self.staging.create(self.repo):
                    raise self.fs.missing_repo_error(self.repo, exc) from None
                created = True
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
