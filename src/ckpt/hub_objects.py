"""Objects of an hf:// remote streamed straight into the DVC cache, without ``dvc.repo.Repo``.

Through DVC's data cloud, a pull from the Hub pays more than the transfer on a fast link:
importing and constructing ``Repo``, a ``paths-info`` existence query before each transfer, and
for a ``.dir`` a second GET (dvc-data loads the tree from the remote, then transfers it). The
hf:// remote is ours (``dvc_hf``): objects sit at DVC's layout (``files/md5/ab/cdef...``), and
``dvc_hf.download``, which its filesystem's ``get_file`` uses too, checks each object's md5 while
the bytes stream, without importing DVC. So each wanted object is one GET, all of them in flight
from the start, written under a temporary name beside its cache path and renamed into place
read-only, as DVC's cache does. A GET answered 404 means the object is absent (one
``paths-info`` question then tells a missing repo or revision from a missing object); any other
failure is the remote's error and stops the objects not yet started.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ckpt import dvcfiles


class HubObjects:
    """One hf:// remote as one cold call sees it: where its objects are and how to ask for them."""

    def __init__(self, url: str, options: dict[str, str], cache: Path, shared: bool) -> None:
        from dvc_hf.download import Hub
        from dvc_hf.paths import split_repo, strip_protocol

        self.url = url
        self.options = options
        self.cache = cache
        self.shared = shared  # DVC's `cache.shared`: group-writable folders
        # What dvc_hf's hf:// filesystem makes of the same options (its DVC-free half,
        # dvc_hf.remote.HubRemote, is built only to explain a failure).
        self.hub = Hub.from_options(options)
        self.repo, prefix = split_repo(strip_protocol(url))
        self.prefix = f"{prefix}/" if prefix else ""
        # DVC's default for a remote without `jobs`: 4 per CPU (dvc_objects' FileSystem).
        self.jobs = int(options.get("jobs") or 4 * (os.cpu_count() or 1))

    def in_repo(self, md5: str) -> str:
        return f"{self.prefix}files/md5/{md5[:2]}/{md5[2:]}"

    def fetch(self, md5s: Iterable[str], errors: list[BaseException]) -> None:
        """Download each object into the cache; the remote's errors are appended to ``errors``.

        Objects the remote lacks are left absent without an error, unless the repository or
        revision itself is missing, which the existence query then raises.
        """
        wanted = sorted(md5s)
        if not wanted:
            return
        self.hub.prepare()
        stop = threading.Event()
        absent: list[str] = []

        def one(md5: str, bar: _Bar) -> None:
            if stop.is_set():
                return
            try:
                self._download(md5, bar)
            except FileNotFoundError:
                absent.append(md5)
            except Exception as exc:
                # The first failure is enough to explain; the objects not yet started stay put.
                stop.set()
                errors.append(self._explained(exc))

        with _Bar(f"Fetching from {self.url}") as bar:
            workers = min(len(wanted), self.jobs)
            with ThreadPoolExecutor(workers, thread_name_prefix="ckpt-fetch") as pool:
                try:
                    for future in [pool.submit(one, md5, bar) for md5 in wanted]:
                        future.result()
                except BaseException:  # Ctrl-C: let the running downloads end, start no more
                    stop.set()
                    raise
        if absent and not errors:
            try:
                # Raises HfRepoNotFoundError when the repo or revision is what is missing.
                self._remote().present([f"{self.repo.root}/{self.in_repo(md5)}" for md5 in absent])
            except Exception as exc:
                errors.append(exc)

    def _download(self, md5: str, bar: _Bar) -> None:
        dest = dvcfiles.object_path(self.cache, md5)
        if self.shared:
            os.makedirs(dest.parent, mode=0o2775, exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
        # DVC's own name for a partial download (dvc_objects.fs.utils.tmp_fname).
        tmp = dest.with_name(f"{dest.name}.{secrets.token_urlsafe(16)}.tmp")
        try:
            self.hub.download(self.repo, self.in_repo(md5), os.fspath(tmp), progress=bar)
            os.chmod(tmp, 0o444)  # a verified cache object, as DVC protects one
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def _remote(self):  # type: ignore[no-untyped-def]
        from dvc_hf.remote import HubRemote

        # Typed as DVC types them: `create_repo = false` from a config file is not truthy.
        return HubRemote.from_config(self.options)

    def _explained(self, exc: Exception) -> Exception:
        """The remote's message for a failed download, as `dvc pull` would give it."""
        try:
            return self._remote().hub_error(exc, self.repo)
        except Exception:  # the original error says more than a failed explanation
            return exc


class _Bar:
    """One byte-counting bar for all the objects of a fetch, on a terminal only (as DVC's own
    transfer bars: DVC_IGNORE_ISATTY draws it anyway). Each download reports to it."""

    def __init__(self, desc: str) -> None:
        import sys

        self.lock = threading.Lock()
        self.tqdm = None
        if sys.stderr.isatty() or os.environ.get("DVC_IGNORE_ISATTY", "").lower() in ("1", "true"):
            from tqdm import tqdm

            self.tqdm = tqdm(desc=desc, total=0, unit="B", unit_scale=True, unit_divisor=1024)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tqdm is not None:
            self.tqdm.close()

    def set_size(self, size: int | None) -> None:
        if self.tqdm is not None and size:
            with self.lock:
                self.tqdm.total += size
                self.tqdm.refresh()

    def relative_update(self, inc: int = 1) -> None:
        if self.tqdm is not None:
            with self.lock:
                self.tqdm.update(inc)
