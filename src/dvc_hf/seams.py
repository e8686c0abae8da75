"""Where the shim hooks into dvc-data so that one DVC operation becomes one staged commit set.

DVC hands a remote one ``put_file`` per object from a thread pool and has no notion of "end of
push". ``dvc_data.hashfile.transfer._do_transfer`` (one call per push) and
``dvc_data.hashfile.gc.gc`` (one call per ``gc -c``) are looked up as module attributes at call
time, so wrapping them brackets the whole operation: stage while DVC runs, commit after it.
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

    for hash_info in obj_ids:
        if hash_info.isdir and (tree := find_tree_by_obj_id([cache_odb, src], hash_info)):
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
