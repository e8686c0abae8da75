"""The ``hf://`` filesystem: DVC objects stored in a Hugging Face Hub repository.

URLs: ``hf://datasets/ORG/REPO[/PREFIX]``, ``hf://models/ORG/REPO[/PREFIX]``, ``hf://ORG/REPO``
(a model). Reads go through huggingface_hub's HfFileSystem pinned to ``revision``; the Hub-facing
part (batched ``paths-info`` existence checks, staged writes committed in few commits, error
messages) is ``dvc_hf.remote.HubRemote``, which this class adds DVC's filesystem interface to.
"""

from __future__ import annotations

import errno
import io
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

from dvc.utils.objects import cached_property
from dvc_objects.fs.base import FileSystem
from fsspec.callbacks import DEFAULT_CALLBACK
from funcy import wrap_prop

from . import seams
from .commits import DIR_SUFFIX, Staging

# Importable from here as before errors.py held them.
from .errors import (  # noqa: F401
    HfConfigError,
    HfCorruptObjectError,
    HfRemoteError,
    HfRepoNotFoundError,
    HfUnsupportedVersionError,
)
from .paths import strip_protocol
from .remote import HubRemote


class HfFileSystem(HubRemote, FileSystem):
    protocol = "hf"
    REQUIRES: ClassVar[dict[str, str]] = {"huggingface_hub": "huggingface_hub"}
    # Files imported from a Hub repo (`dvc import-url hf://...`) are tracked by their git blob id,
    # which changes with the content (see _with_etag).
    PARAM_CHECKSUM = "etag"
    # Existence checks go through exists() with the whole list (batched paths-info), never
    # through DVC's prefix-by-prefix traversal.
    CAN_TRAVERSE = False

    def __init__(self, fs=None, **config: Any):
        FileSystem.__init__(self, fs, **config)
        HubRemote.__init__(self, **config)
        self._manifests: dict[str, bytes] = {}
        seams.install()

    # --- paths -----------------------------------------------------------------------------
    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        return strip_protocol(path)

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

    def invalidate_listings(self) -> None:
        # HfFileSystem.invalidate_cache(path) keeps sibling listings; after a commit any of them
        # may be stale.
        if "fs" in self.__dict__:
            self.fs.dircache.clear()

    def exists(self, path, callback=DEFAULT_CALLBACK, batch_size=None):  # type: ignore[override]
        if isinstance(path, str):
            return self.present([path])[0]
        paths = list(path)
        callback.set_size(len(paths))
        result = self.present(paths)
        callback.relative_update(len(paths))
        return result

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
