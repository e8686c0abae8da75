"""The ``hf://`` filesystem: DVC objects stored in a Hugging Face Hub repository.

URLs: ``hf://datasets/ORG/REPO[/PREFIX]``, ``hf://models/ORG/REPO[/PREFIX]``, ``hf://ORG/REPO``
(a model). Reads go through huggingface_hub's HfFileSystem pinned to ``revision``; writes are
staged and committed in few commits (see ``dvc_hf.commits``); existence checks use batched
``paths-info`` calls instead of one listing per folder.
"""

from __future__ import annotations

import errno
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from dvc.utils.objects import cached_property
from dvc_objects.fs.base import FileSystem
from fsspec.callbacks import DEFAULT_CALLBACK
from funcy import wrap_prop

from . import retry, seams
from .commits import DIR_SUFFIX, Staging
from .compat import http_module
from .download import Hub

# Importable from here as before errors.py held them.
from .errors import (  # noqa: F401
    HfConfigError,
    HfCorruptObjectError,
    HfRemoteError,
    HfRepoNotFoundError,
    HfUnsupportedVersionError,
)
from .paths import RepoRef, split_repo, strip_protocol

# HfApi.get_paths_info answers up to 1000 paths per call (the Hub returns 413 above that).
PATHS_INFO_BATCH = 1000
DEFAULT_MAX_COMMIT_FILES = 1000  # huggingface_hub's own upload_large_folder ceiling


def _hub_error_message(exc: Exception) -> str:
    # huggingface_hub keeps the Hub's own explanation (X-Error-Message or the JSON "error").
    message = getattr(exc, "server_message", None)
    return str(message).strip() if message else str(exc).strip().splitlines()[0]


class HfFileSystem(FileSystem):
    protocol = "hf"
    REQUIRES: ClassVar[dict[str, str]] = {"huggingface_hub": "huggingface_hub"}
    # Files imported from a Hub repo (`dvc import-url hf://...`) are tracked by their git blob id,
    # which changes with the content (see _with_etag).
    PARAM_CHECKSUM = "etag"
    # Existence checks go through exists() with the whole list (batched paths-info), never
    # through DVC's prefix-by-prefix traversal.
    CAN_TRAVERSE = False

    def __init__(self, fs=None, **config: Any):
        super().__init__(fs, **config)
        self.hub = hub = Hub.from_options(config)
        self.endpoint, self.token, self.revision = hub.endpoint, hub.token, hub.revision
        self.max_commit_files = int(config.get("max_commit_files") or DEFAULT_MAX_COMMIT_FILES)
        self.commit_message = config.get("commit_message") or "dvc push"
        self.create_repo = bool(config.get("create_repo", False))
        self.private = config.get("private")
        for unsupported in ("version_aware", "worktree"):
            if config.get(unsupported):
                raise HfConfigError(
                    f"hf:// remotes do not support '{unsupported}': a Hub repo versions by "
                    f"commit. Run `dvc remote modify <name> --unset {unsupported}`."
                )
        self._staging: Staging | None = None
        self._manifests: dict[str, bytes] = {}
        self._staging_lock = threading.Lock()
        seams.install()

    # --- paths -----------------------------------------------------------------------------
    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        return strip_protocol(path)

    def unstrip_protocol(self, path: str) -> str:
        return "hf://" + path.lstrip("/")

    def locate(self, path: str) -> tuple[RepoRef, str]:
        """DVC path -> (repository, path inside it)."""
        return split_repo(strip_protocol(path))

    # --- clients ---------------------------------------------------------------------------
    def _prepare_credentials(self, **config: Any) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "token": self.token,
            "revision": self.revision,
            # One paginated listing for find(), not HfFileSystem's listing per sub-folder.
            "max_workers": 1,
        }

    @wrap_prop(threading.Lock())
    @cached_property
    def fs(self):
        self.hub.prepare()
        from ._pinned import PinnedHfFileSystem

        return PinnedHfFileSystem(**self.fs_args)

    @wrap_prop(threading.Lock())
    @cached_property
    def api(self):
        self.hub.prepare()
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint, token=self.token)

    def invalidate_listings(self) -> None:
        # HfFileSystem.invalidate_cache(path) keeps sibling listings; after a commit any of them
        # may be stale.
        if "fs" in self.__dict__:
            self.fs.dircache.clear()

    def unreachable_error(self, exc: Exception) -> HfRemoteError:
        return HfRemoteError(
            f"cannot reach the Hub at {self.endpoint} ({type(exc).__name__}: {exc}). "
            "Check the network, and the remote's endpoint (`dvc remote modify <name> "
            "endpoint URL`, or HF_ENDPOINT when none is set)."
        )

    def missing_repo_error(self, repo: RepoRef, exc: Exception) -> HfRepoNotFoundError:
        if not self.has_token():
            # Private repos look missing to anonymous callers: the likely fix is a token.
            return HfRepoNotFoundError(
                f"{repo.display} (branch '{self.revision}') was not found on {self.endpoint}, and "
                "no Hugging Face token is set: a private repo is invisible without one. Set "
                "HF_TOKEN, run `hf auth login`, or store one for this checkout with `dvc remote "
                "modify --local <name> token hf_...`; if the repo does not exist yet, create it "
                "or let the first push create it (`dvc remote modify <name> create_repo true`). "
                f"({type(exc).__name__})"
            )
        return HfRepoNotFoundError(
            f"{repo.display} (branch '{self.revision}') was not found on {self.endpoint}, or the "
            "token cannot see it. Create it on the Hub, or let the first push create it with "
            "`dvc remote modify <name> create_repo true` (and `private true` if wanted); check "
            f"the token (HF_TOKEN, `hf auth login` or `dvc remote modify --local <name> token`). "
            f"({type(exc).__name__})"
        )

    def hub_error(self, exc: Exception, repo: RepoRef) -> Exception:
        """A failed Hub call's exception as this remote reports it, to raise in its place;
        ``exc`` itself if it is not the Hub's."""
        from huggingface_hub.errors import (
            HfHubHTTPError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        mapped: Exception | None = None
        if isinstance(exc, (RepositoryNotFoundError, RevisionNotFoundError)):
            mapped = self.missing_repo_error(repo, exc)
        elif isinstance(exc, http_module().TransportError):
            mapped = self.unreachable_error(exc)
        elif isinstance(exc, HfHubHTTPError) and (mapped := self.http_error(exc)):
            mapped.__cause__ = exc  # the Hub's own answer, in DVC's "ERROR: ... - cause" line
        if mapped is None:
            return exc
        # Raised in an except block, it would also show ``exc`` as its context: the message (and,
        # for an HTTP answer, the cause set above) already says what that would.
        mapped.__suppress_context__ = True
        return mapped

    def has_token(self) -> bool:
        from huggingface_hub import get_token

        return bool(self.token or get_token())  # get_token: HF_TOKEN, then the stored login

    def http_error(self, exc: Exception) -> HfRemoteError | None:
        """One line for a Hub answer that retrying did not (or cannot) fix; None for others."""
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        hub = f"the Hub at {self.endpoint}"
        detail = str(exc).strip().splitlines()[-1].strip() if str(exc).strip() else ""
        if status == 401:
            return HfRemoteError(
                f"{hub} refused the token (401 {detail}). Set a valid one: HF_TOKEN, `hf auth "
                "login`, or `dvc remote modify --local <name> token hf_...`."
            )
        if status == 403:
            return HfRemoteError(
                f"{hub} denied access (403: {_hub_error_message(exc)}). Use a token with access "
                "(a write token to push): HF_TOKEN or `dvc remote modify --local <name> token`."
            )
        if isinstance(status, int) and status >= 500:
            return HfRemoteError(
                f"{hub} kept failing ({status}, after {retry.MAX_TRIES} tries): the Hub has "
                "trouble; try again later."
            )
        return None

    # --- existence: batched paths-info -----------------------------------------------------
    def exists(self, path, callback=DEFAULT_CALLBACK, batch_size=None):  # type: ignore[override]
        if isinstance(path, str):
            return self._exists([path])[0]
        paths = list(path)
        callback.set_size(len(paths))
        result = self._exists(paths)
        callback.relative_update(len(paths))
        return result

    def _exists(self, paths: list[str]) -> list[bool]:
        by_repo: dict[RepoRef, list[str]] = {}
        for p in paths:
            repo, in_repo = self.locate(p)
            by_repo.setdefault(repo, []).append(in_repo)
        found: set[str] = set()
        for repo, in_repo in by_repo.items():
            found.add(repo.root)  # the repository root itself
            found.update(e["name"] for e in self._paths_info(repo, sorted(set(in_repo) - {""})))
        return [self._strip_protocol(p) in found for p in paths]

    def _paths_info(self, repo: RepoRef, in_repo: list[str]) -> list[dict[str, Any]]:
        """Entries (HfFileSystem's dict shape) for the paths that exist, in batches of 1000."""
        from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

        entries = []
        for start in range(0, len(in_repo), PATHS_INFO_BATCH):
            batch = in_repo[start : start + PATHS_INFO_BATCH]
            try:
                infos = retry.retrying(
                    lambda batch=batch: self.api.get_paths_info(
                        repo.id, batch, repo_type=repo.type, revision=self.revision
                    ),
                    f"paths-info on {repo.display}",
                    endpoint=self.endpoint,
                )
            except Exception as exc:
                missing = isinstance(exc, (RepositoryNotFoundError, RevisionNotFoundError))
                if missing and self.create_repo:  # the first push will create it: nothing yet
                    return []
                raise self.hub_error(exc, repo)  # noqa: B904 - hub_error sets the chain
            for info in infos:
                name = f"{repo.root}/{info.path}"
                if getattr(info, "blob_id", None) is None:  # a folder
                    entries.append({"name": name, "size": 0, "type": "directory"})
                else:
                    entries.append({"name": name, "size": info.size, "type": "file",
                                    "blob_id": info.blob_id, "etag": info.blob_id})  # fmt: skip
        return entries

    # --- reads -----------------------------------------------------------------------------
    def get_file(self, from_info: str, to_info: str, callback=DEFAULT_CALLBACK, **kwargs) -> None:
        # One streamed GET per object: HfFileSystem.get_file would first list the parent
        # folder to learn the size.
        self.hub.prepare()
        repo, in_repo = self.locate(from_info)
        try:
            self.hub.download(repo, in_repo, to_info, progress=callback)
        except Exception as exc:
            raise self.hub_error(exc, repo)  # noqa: B904 - hub_error sets the chain

    @staticmethod
    def _with_etag(entry: Any) -> Any:
        if isinstance(entry, dict) and entry.get("type") == "file" and entry.get("blob_id"):
            return {**entry, "etag": entry["blob_id"]}
        return entry

    def info(self, path, *args: Any, **kwargs: Any):  # type: ignore[override]
        if not isinstance(path, str):
            return [self._with_etag(e) for e in super().info(path, *args, **kwargs)]
        # One paths-info call; HfFileSystem.info lists the parent folder (and its parents when
        # the object is missing).
        repo, in_repo = self.locate(path)
        if not in_repo:
            return {"name": path, "size": 0, "type": "directory"}
        [entry] = self._paths_info(repo, [in_repo]) or [None]
        if entry is None:
            raise FileNotFoundError(errno.ENOENT, "not on the Hub", self.unstrip_protocol(path))
        return entry

    def open(self, path, mode: str = "r", **kwargs: Any):  # type: ignore[override]
        if "r" not in mode:
            return super().open(path, mode, **kwargs)
        if not path.endswith(DIR_SUFFIX):
            # Known size = HfFileSystemFile skips its own info() (a listing of the parent).
            kwargs.setdefault("size", self.info(path)["size"])
            return super().open(path, mode, **kwargs)
        # DVC reads a remote .dir manifest several times per command; it is named by its md5,
        # so one download per filesystem instance is enough.
        with self._staging_lock:
            data = self._manifests.get(path)
        if data is None:
            with super().open(path, "rb", size=self.info(path)["size"]) as fobj:
                data = fobj.read()
            with self._staging_lock:
                self._manifests[path] = data
        fobj = io.BytesIO(data)
        return fobj if "b" in mode else io.TextIOWrapper(fobj, kwargs.get("encoding"))

    def isfile(self, path) -> bool:
        try:
            return self.info(path)["type"] == "file"
        except FileNotFoundError:
            return False

    def isdir(self, path) -> bool:
        try:
            return self.info(path)["type"] == "directory"
        except FileNotFoundError:
            return False

    def ls(self, path, detail=False, **kwargs):  # type: ignore[override]
        entries = self.fs.ls(path, detail=detail, **kwargs)
        return [self._with_etag(e) for e in entries] if detail else entries

    def walk(self, path, detail=False, **kwargs):  # type: ignore[override]
        for root, dirs, files in self.fs.walk(path, detail=detail, **kwargs):
            if detail:
                files = {name: self._with_etag(entry) for name, entry in files.items()}
            yield root, dirs, files

    def find(self, path, prefix: bool = False, batch_size=None, **kwargs) -> Iterator[str]:
        paths = [path] if isinstance(path, str) else path
        for p in paths:
            try:
                yield from self.fs.find(p)
            except FileNotFoundError:
                continue

    # --- writes: staged, committed by commits.Staging ---------------------------------------
    @contextmanager
    def staging(self, action: str) -> Iterator[Staging]:
        """Stage every write of one DVC operation (push, gc) to commit them together after it.

        The caller commits (``Staging.commit_all``) once the operation returned; on an exception
        nothing is committed.
        """
        staging = Staging(self, action)
        with self._staging_lock:
            if self._staging is not None:
                raise HfRemoteError(f"another transfer to {self.unstrip_protocol('')} is running")
            self._staging = staging
        try:
            yield staging
        except BaseException:
            staging.discard(wait=False)
            raise
        finally:
            with self._staging_lock:
                self._staging = None

    def put_file(self, from_file, to_info, callback=DEFAULT_CALLBACK, size=None, **kwargs):
        if (staging := self._staging) is not None:
            staging.add(from_file, to_info)
        else:  # a write outside push (run cache, --to-remote): commit it on its own
            single = Staging(self, "put")
            single.add(from_file, to_info)
            if failed := single.commit_all():
                raise HfRemoteError(f"could not upload {', '.join(sorted(failed))} to the Hub")
        if size:
            callback.set_size(size)
            callback.relative_update(size)

    def rm(self, path, recursive: bool = False, **kwargs) -> None:  # type: ignore[override]
        paths = [path] if isinstance(path, str) else list(path)
        staging = self._staging or Staging(self, "dvc gc")
        for p in paths:
            staging.delete(p)
        if staging is self._staging:
            return
        if failed := staging.commit_all():
            raise HfRemoteError(f"could not delete {', '.join(sorted(failed))} from the Hub")

    remove = rm
    rm_file = rm

    def makedirs(self, path: str, **kwargs: Any) -> None:
        """Folders exist implicitly on the Hub."""

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Folders exist implicitly on the Hub."""
