"""One object downloaded from a Hub repository, its md5 checked while the bytes stream.

Free of dvc and fsspec imports: ``ckpt``'s cold path streams objects through it without loading
DVC (``ckpt.hub_objects``), and ``HfFileSystem.get_file`` is this same code. What a failed
download raises is huggingface_hub's or the HTTP client's own exception, or FileNotFoundError for
a 404; ``HfFileSystem.hub_error`` turns it into the remote's message.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import retry
from .paths import RepoRef, object_md5

PUBLIC_HUB = "https://huggingface.co"


class Progress(Protocol):
    """What a download reports to (fsspec's Callback has these)."""

    def set_size(self, size: int | None) -> None: ...
    def relative_update(self, inc: int = 1) -> None: ...


class _Silent:
    def set_size(self, size: int | None) -> None:
        pass

    def relative_update(self, inc: int = 1) -> None:
        pass


def hub_disables_xet(endpoint: str) -> None:
    """Keep Xet off for endpoints other than the public Hub.

    With hf_xet installed, huggingface_hub sends every LFS upload through the Xet protocol, which
    only huggingface.co speaks: a self-hosted or local Hub would fail every large push. An explicit
    HF_HUB_DISABLE_XET in the environment always wins.
    """
    if endpoint.rstrip("/") == PUBLIC_HUB or "HF_HUB_DISABLE_XET" in os.environ:
        return
    os.environ["HF_HUB_DISABLE_XET"] = "1"  # read when huggingface_hub is first imported
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # already imported: flip the flag it read at import time
        constants.HF_HUB_DISABLE_XET = True


@dataclass(frozen=True)
class Hub:
    """Where and as whom an hf:// remote talks to the Hub, from its DVC options."""

    endpoint: str
    revision: str
    token: str | None
    timeouts: tuple[float, float]  # connect, read

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Hub:
        endpoint = options.get("endpoint") or os.environ.get("HF_ENDPOINT") or PUBLIC_HUB
        return cls(
            endpoint=endpoint.rstrip("/"),
            revision=options.get("revision") or "main",
            # Empty means none (ckpt.credentials blanks a token committed to .dvc/config this way).
            token=options.get("token") or None,
            timeouts=(
                float(options.get("connect_timeout") or retry.DEFAULT_CONNECT_TIMEOUT),
                float(options.get("read_timeout") or retry.DEFAULT_READ_TIMEOUT),
            ),
        )

    def prepare(self) -> None:
        """Before any huggingface_hub call: Xet off if not the public Hub, and the timeouts."""
        hub_disables_xet(self.endpoint)
        retry.use_timeouts(*self.timeouts)

    def download(
        self, repo: RepoRef, in_repo: str, to_path: str, progress: Progress | None = None
    ) -> None:
        """GET one file of ``repo`` into ``to_path``, retrying what is transient.

        A DVC object's md5 (its name) is checked as the bytes stream, which costs no extra read.
        """
        from huggingface_hub import hf_hub_url
        from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_stream_backoff

        progress = progress or _Silent()
        # DVC names objects by their md5 (files/md5/ab/cdef...[.dir]): checking it while the bytes
        # stream costs no extra read, which is why the remote's `verify` option defaults to false.
        expected = object_md5(in_repo)
        url = hf_hub_url(
            repo.id, in_repo, repo_type=repo.type, revision=self.revision, endpoint=self.endpoint
        )
        headers = build_hf_headers(token=self.token)  # None: HF_TOKEN, then the stored login
        what = f"{repo.display}/{in_repo}"

        def attempt() -> None:
            # http_stream_backoff cannot retry a body cut mid-way (the error is thrown into its
            # generator after it yielded): retry the whole GET here instead.
            with http_stream_backoff(
                "GET", url, headers=headers, retry_on_exceptions=(), retry_on_status_codes=()
            ) as response:
                if response.status_code == 404:
                    raise FileNotFoundError(f"{what} is not on the Hub")
                hf_raise_for_status(response)
                if size := response.headers.get("Content-Length"):
                    progress.set_size(int(size))
                digest = hashlib.md5() if expected else None
                with open(to_path, "wb") as fobj:
                    for chunk in response.iter_bytes(1024 * 1024):
                        fobj.write(chunk)
                        if digest is not None:
                            digest.update(chunk)
                        progress.relative_update(len(chunk))
                if digest is not None and digest.hexdigest() != expected:
                    from .errors import HfCorruptObjectError

                    # Not retried: the Hub served these bytes under this name, and will again.
                    raise HfCorruptObjectError(
                        f"{what}: the bytes the Hub served hash to md5 {digest.hexdigest()}, "
                        "not to the object's name; the remote object is corrupt. Re-push it from "
                        "a checkout that has it (`dvc push`)."
                    )

        retry.retrying(attempt, f"download of {what}", endpoint=self.endpoint)
