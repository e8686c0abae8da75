"""Where the shim hooks into dvc-data so that one DVC operation becomes one staged commit set.

DVC hands a remote one ``put_file`` per object from a thread pool and has no notion of "end of
push". ``dvc_data.hashfile.transfer._do_transfer`` (one call per push) and
``dvc_data.hashfile.gc.gc`` (one call per ``gc -c``) are looked up as module attributes at call
time, so wrapping them brackets the whole operation: stage while DVC runs, commit after it.

Downloads from hf:// go through two more wrappers, of ``dvc_objects.fs.generic.transfer`` and
``_get`` (also looked up at call time): every object starts at once, and a failed one never lands
in the cache (see ``_wrap_generic_get``).
"""

from __future__ import annotations

import functools
import sys
import threading
from types import ModuleType
from typing import Any

from . import compat

_lock = threading.Lock()


def _hf_fs(odb: Any):
    # Only an hf:// remote can have dvc_hf.fs loaded; avoid importing it for other remotes.
    fs_module = sys.modules.get("dvc_hf.fs")
    fs = getattr(odb, "fs", None)
    return fs if fs_module is not None and isinstance(fs, fs_module.HfFileSystem) else None


def _wrap_do_transfer(original):
    @functools.wraps(original)
    def _do_transfer(src, dest, obj_ids, missing_ids, *args, **kwargs):
        fs = _hf_fs(dest)
        if fs is None:
            return original(src, dest, obj_ids, missing_ids, *args, **kwargs)
        obj_ids = list(obj_ids)
        # DVC indexes pushed .dir objects as "complete on the remote" before returning; only do
        # that once the commits have landed.
        dest_index = kwargs.pop("dest_index", None)
        with fs.staging("dvc push") as staging:
            failed = original(src, dest, obj_ids, missing_ids, *args, dest_index=None, **kwargs)
        not_committed = {dest.path_to_oid(path) for path in staging.commit_all()}
        failed = set(failed) | {h for h in obj_ids if h.value in not_committed}
        if failed:
            if src_index := kwargs.get("src_index"):
                src_index.clear()
        elif dest_index is not None:
            _index_pushed_dirs(dest_index, src, obj_ids, kwargs.get("cache_odb"))
        return failed

    return _do_transfer


def _index_pushed_dirs(dest_index, src, obj_ids, cache_odb) -> None:
    from dvc_data.hashfile.transfer import find_tree_by_obj_id

    # The local copy first: it is the object just committed, and reading it asks the Hub nothing.
    for hash_info in obj_ids:
        if hash_info.isdir and (tree := find_tree_by_obj_id([src, cache_odb], hash_info)):
            dest_index.update([hash_info.value], {oid.value for _, _, oid in tree})


def _wrap_gc(original):
    @functools.wraps(original)
    def gc(odb, *args, **kwargs):
        fs = _hf_fs(odb)
        if fs is None:
            return original(odb, *args, **kwargs)
        with fs.staging("dvc gc -c") as staging:
            removed = original(odb, *args, **kwargs)
        if failed := staging.commit_all():
            from .errors import HfRemoteError

            raise HfRemoteError(f"could not remove {len(failed)} object(s) from the Hub")
        return removed

    return gc


def _is_hf(fs: Any) -> bool:
    fs_module = sys.modules.get("dvc_hf.fs")
    return fs_module is not None and isinstance(fs, fs_module.HfFileSystem)


def _wrap_generic_transfer(original):
    """All objects of an hf:// download start at once.

    ``dvc_objects.fs.generic.transfer`` tries the link types on the first object alone and only
    batches the rest once it is down to "copy"; from the Hub to the local cache no link can work
    (``_link`` raises EXDEV between filesystems of different types), so the first object
    downloaded on its own while the others waited. Starting with "copy" changes nothing but that.
    """

    @functools.wraps(original)
    def transfer(from_fs, from_path, to_fs, to_path, hardlink=False, links=None, **kwargs):
        if links is None and _is_hf(from_fs) and not isinstance(from_fs, type(to_fs)):
            hardlink, links = False, ["copy"]
        return original(from_fs, from_path, to_fs, to_path, hardlink=hardlink, links=links,
                        **kwargs)  # fmt: skip

    return transfer


def _wrap_generic_get(original):
    """A download that fails never lands in the cache.

    ``dvc_objects.fs.generic._get`` downloads each object into a temporary name inside
    ``as_atomic``, but with an ``on_error`` handler (DVC's fetch always passes one) it reports the
    error *inside* that block, so ``as_atomic`` sees success and renames the partial or refused
    (md5-mismatched) temporary file into the cache as the object. For hf:// each object is
    fetched by the original without a handler, so the temporary file is removed, and the error is
    reported afterwards; objects still go in parallel (``jobs`` at a time).
    """

    @functools.wraps(original)
    def _get(from_fs, from_paths, to_paths, callback=None, batch_size=None, on_error=None):
        from fsspec.callbacks import DEFAULT_CALLBACK

        callback = callback if callback is not None else DEFAULT_CALLBACK
        if on_error is None or not _is_hf(from_fs):
            return original(from_fs, from_paths, to_paths, callback=callback,
                            batch_size=batch_size, on_error=on_error)  # fmt: skip

        from dvc_objects.executors import ThreadPoolExecutor

        def one(from_path, to_path) -> None:  # type: ignore[no-untyped-def]
            try:
                original(from_fs, [from_path], [to_path], callback=callback, batch_size=1)
            except Exception as exc:
                on_error(from_path, to_path, exc)

        with ThreadPoolExecutor(max_workers=batch_size or from_fs.jobs) as executor:
            list(executor.imap_unordered(one, from_paths, to_paths))
        return None

    return _get


def _mark(wrapper):
    wrapper.__dvc_hf__ = True
    return wrapper


def transfer_problem(module: ModuleType) -> str | None:
    function = getattr(module, "_do_transfer", None)
    if not callable(function):
        return f"{module.__name__} has no _do_transfer"
    return compat.signature_problem(function, compat.TRANSFER_PARAMS, compat.TRANSFER_KEYWORDS)


def gc_problem(module: ModuleType) -> str | None:
    function = getattr(module, "gc", None)
    if not callable(function):
        return f"{module.__name__} has no gc"
    return compat.signature_problem(function, compat.GC_PARAMS)


# Checked before wrapping: a wrapper around a function of another shape would push wrongly.
# inspect.signature follows functools.wraps, so an already wrapped function checks the same.
def wrap_transfer(module: ModuleType) -> None:
    if problem := transfer_problem(module):
        raise TypeError(problem)
    if not getattr(module._do_transfer, "__dvc_hf__", False):
        module._do_transfer = _mark(_wrap_do_transfer(module._do_transfer))


def wrap_generic(module: ModuleType) -> None:
    if not getattr(module.transfer, "__dvc_hf__", False):
        module.transfer = _mark(_wrap_generic_transfer(module.transfer))
    if not getattr(module._get, "__dvc_hf__", False):
        module._get = _mark(_wrap_generic_get(module._get))


def wrap_gc(module: ModuleType) -> None:
    if problem := gc_problem(module):
        raise TypeError(problem)
    if not getattr(module.gc, "__dvc_hf__", False):
        module.gc = _mark(_wrap_gc(module.gc))


def install() -> None:
    """Check the versions and wrap the dvc-data seams now (idempotent). The start-up hook
    normally wrapped them already, as the modules were imported: ``dvc gc`` binds ``gc`` to a
    local name before any remote exists, so wrapping it when the first hf:// remote is built
    would be too late for that run."""
    with _lock:
        from dvc_data.hashfile import gc, transfer

        problems = [
            *compat.dvc_problems(),
            *filter(None, [compat.version_problem("huggingface_hub")]),
            *filter(None, [transfer_problem(transfer), gc_problem(gc)]),
        ]
        if problems:
            from .errors import HfUnsupportedVersionError

            raise HfUnsupportedVersionError(compat.refusal(problems))
        wrap_transfer(transfer)
        wrap_gc(gc)
        from dvc_objects.fs import generic

        wrap_generic(generic)
