"""One hf:// remote as the Hub sees it: where its objects are, who may write, what failed.

The part of the ``hf://`` filesystem (``dvc_hf.fs``) that talks to the Hub, free of dvc and
fsspec imports: ``ckpt push`` drives it directly (a push that does not start DVC), and
``HfFileSystem`` is this class plus what DVC's filesystem interface adds (reads, DVC's
callbacks). Existence checks are batched ``paths-info`` calls; writes are staged and committed in
few commits (``dvc_hf.commits``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import retry
from .commits import Staging
from .compat import http_module
from .download import Hub
from .paths import RepoRef, split_repo, strip_protocol

if TYPE_CHECKING:
    from .errors import HfRemoteError, HfRepoNotFoundError

# HfApi.get_paths_info answers up to 1000 paths per call (the Hub returns 413 above that).
PATHS_INFO_BATCH = 1000
DEFAULT_MAX_COMMIT_FILES = 1000  # huggingface_hub's own upload_large_folder ceiling


def _hub_error_message(exc: Exception) -> str:
    # huggingface_hub keeps the Hub's own explanation (X-Error-Message or the JSON "error").
    message = getattr(exc, "server_message", None)
    return str(message).strip() if message else str(exc).strip().splitlines()[0]


def typed_options(options: dict[str, str]) -> dict[str, Any]:
    """Options as read from DVC's config files (strings), typed as DVC's config schema types the
    ones ``HubRemote`` uses (``dvc_hf.registry.remote_options``), without importing DVC:
    ``create_repo = false`` is False, not a non-empty string. A value DVC would refuse raises
    ValueError naming the option."""
    typed: dict[str, Any] = dict(options)
    for name, value in options.items():
        try:
            if name in _BOOLS:
                if value.lower() not in ("true", "false"):
                    raise ValueError("expected true or false")
                typed[name] = value.lower() == "true"
            elif name in _INTS:
                typed[name] = int(value)
                if typed[name] < 1:
                    raise ValueError("expected a whole number of at least 1")
        except ValueError as exc:
            raise ValueError(f"option '{name}' = {value!r}: {exc}") from None
    return typed


_BOOLS = ("create_repo", "private", "verify", "version_aware", "worktree")
_INTS = ("max_commit_files", "jobs")


class HubRemote:
    """An hf:// remote's options, its Hub client, and how it explains the Hub's answers.

    ``config`` holds the options typed as DVC's config schema types them (``dvc_hf.registry``).
    """

    def __init__(self, **config: Any) -> None:
        self.hub = hub = Hub.from_options(config)
        self.endpoint, self.token, self.revision = hub.endpoint, hub.token, hub.revision
        self.max_commit_files = int(config.get("max_commit_files") or DEFAULT_MAX_COMMIT_FILES)
        self.commit_message = config.get("commit_message") or "dvc push"
        self.create_repo = bool(config.get("create_repo", False))
        self.private = config.get("private")
        # DVC's default for a remote without `jobs`: 4 per CPU (dvc_objects' FileSystem).
        self.jobs = int(config.get("jobs") or 4 * (os.cpu_count() or 1))
        for unsupported in ("version_aware", "worktree"):
            if config.get(unsupported):
                from .errors import HfConfigError

                raise HfConfigError(
                    f"hf:// remotes do not support '{unsupported}': a Hub repo versions by "
                    f"commit. Run `dvc remote modify <name> --unset {unsupported}`."
                )
        self._api = None
        self._api_lock = threading.Lock()
        self._staging: Staging | None = None
        self._staging_lock = threading.Lock()

    @classmethod
    def from_config(cls, options: dict[str, str]) -> HubRemote:
        """From options as DVC's config files hold them (strings); see ``typed_options``."""
        return cls(**typed_options(options))

    # --- paths -----------------------------------------------------------------------------
    def unstrip_protocol(self, path: str) -> str:
        return "hf://" + path.lstrip("/")

    def locate(self, path: str) -> tuple[RepoRef, str]:
        """DVC path -> (repository, path inside it)."""
        return split_repo(strip_protocol(path))

    # --- client and errors -----------------------------------------------------------------
    @property
    def api(self):  # type: ignore[no-untyped-def]
        with self._api_lock:
            if self._api is None:
                self.hub.prepare()
                from huggingface_hub import HfApi

                self._api = HfApi(endpoint=self.endpoint, token=self.token)
            return self._api

    def invalidate_listings(self) -> None:
        """After a commit: forget listings cached from before it (the filesystem keeps some)."""

    def unreachable_error(self, exc: Exception) -> HfRemoteError:
        from .errors import HfRemoteError

        return HfRemoteError(
            f"cannot reach the Hub at {self.endpoint} ({type(exc).__name__}: {exc}). "
            "Check the network, and the remote's endpoint (`dvc remote modify <name> "
            "endpoint URL`, or HF_ENDPOINT when none is set)."
        )

    def missing_repo_error(self, repo: RepoRef, exc: Exception) -> HfRepoNotFoundError:
        from .errors import HfRepoNotFoundError

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
        from .errors import HfRemoteError

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
    def present(self, paths: list[str]) -> list[bool]:
        """Whether each path exists on the Hub: one paths-info call per 1000 paths and repo."""
        by_repo: dict[RepoRef, list[str]] = {}
        for p in paths:
            repo, in_repo = self.locate(p)
            by_repo.setdefault(repo, []).append(in_repo)
        found: set[str] = set()
        for repo, in_repo in by_repo.items():
            found.add(repo.root)  # the repository root itself
            found.update(e["name"] for e in self._paths_info(repo, sorted(set(in_repo) - {""})))
        return [strip_protocol(p) in found for p in paths]

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

    # --- writes: staged, committed by commits.Staging ---------------------------------------
    @contextmanager
    def staging(self, action: str, early: bool = True) -> Iterator[Staging]:
        """Stage every write of one operation (push, gc) to commit them together after it.

        The caller commits (``Staging.commit_all``) once the operation returned; on an exception
        nothing is committed. ``early``: large objects start uploading as they are staged, which
        pays when staging is spread over a longer operation (DVC's transfer loop).
        """
        staging = Staging(self, action, early)
        with self._staging_lock:
            if self._staging is not None:
                from .errors import HfRemoteError

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
