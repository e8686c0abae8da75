"""Registration of the ``hf`` scheme with dvc-objects and DVC's config schema.

Called by the start-up hook right after ``dvc_objects.fs`` / ``dvc.config_schema`` are imported;
``register()`` does the same by hand (e.g. for ``python -S`` or a frozen dvc build).
"""

import sys
from types import ModuleType

from . import compat

SCHEME = "hf"
FS_CLASS = "dvc_hf.fs.HfFileSystem"


def remote_options(schema: ModuleType) -> dict:
    """The options `dvc remote modify` accepts for hf:// remotes (voluptuous schema)."""
    from voluptuous import All, Coerce, Optional, Range

    return {
        "endpoint": str,
        "token": str,
        "revision": str,
        "max_commit_files": All(Coerce(int), Range(min=1)),
        "commit_message": str,
        "create_repo": schema.Bool,
        "private": schema.Bool,
        # Named as for DVC's http remotes; seconds.
        "connect_timeout": All(Coerce(float), Range(min=0)),
        "read_timeout": All(Coerce(float), Range(min=0)),
        # Off: HfFileSystem.get_file checks each object's md5 against its name as it streams.
        Optional("verify", default=False): schema.Bool,
        **schema.REMOTE_COMMON,
    }


def _patch_fs(module: ModuleType) -> None:
    module.known_implementations[SCHEME] = {
        "class": FS_CLASS,
        "err": "hf is supported, but requires 'huggingface_hub' (pip install chemeleon2-ckpt)",
    }


def _patch_schema(module: ModuleType) -> None:
    options = remote_options(module)
    remote_schemas = getattr(module, "REMOTE_SCHEMAS", None)
    if remote_schemas is not None:  # dvc >= 3.64
        remote_schemas[SCHEME] = options
        # ByUrl() copied REMOTE_SCHEMAS when the module was executed: rebuild it.
        module.SCHEMA["remote"] = {str: module.ByUrl(remote_schemas)}
    else:
        from voluptuous import Schema

        # Before 3.64 the per-scheme schemas exist only inside ByUrl()'s closure.
        _by_url_schemas(module)[SCHEME] = Schema(options)
    # dvc.config memoizes the compiled schema (funcy.memoize keeps it in `.memory`).
    compiled = getattr(sys.modules.get("dvc.config"), "get_compiled_schema", None)
    if compiled is not None and hasattr(compiled, "memory"):
        compiled.memory.clear()


def _by_url_schemas(module: ModuleType) -> dict:
    """The scheme -> Schema dict that ``SCHEMA["remote"][str]`` (a ByUrl validator) looks up."""
    validate = module.SCHEMA["remote"][str]
    code, cells = getattr(validate, "__code__", None), getattr(validate, "__closure__", None)
    if code is None or not cells or "schemas" not in code.co_freevars:
        raise TypeError(f"dvc.config_schema's remote validator is not ByUrl's: {validate!r}")
    schemas = cells[code.co_freevars.index("schemas")].cell_contents
    if not isinstance(schemas, dict):
        raise TypeError(f"ByUrl's schemas are a {type(schemas).__name__}, not a dict")
    return schemas


def _wrap_transfer(module: ModuleType) -> None:
    from dvc_objects.fs import generic

    from .seams import wrap_generic, wrap_transfer

    wrap_transfer(module)
    wrap_generic(generic)


def _wrap_gc(module: ModuleType) -> None:
    from .seams import wrap_gc

    wrap_gc(module)


_PATCHERS = {
    "dvc_objects.fs": _patch_fs,
    "dvc.config_schema": _patch_schema,
    "dvc_data.hashfile.transfer": _wrap_transfer,
    "dvc_data.hashfile.gc": _wrap_gc,
}


def patch(fullname: str, module: ModuleType) -> None:
    """Patch one freshly imported target, unless the installed versions are not supported.

    Refusing prints the reason once and leaves dvc as it is: its other remotes keep working,
    and `dvc remote add` of an hf:// URL fails after that line. Nothing heavier than the
    metadata is imported here: a parent package may still be half-imported."""
    global _refused
    if problems := compat.dvc_problems():
        if not _refused:
            _refused = True
            sys.stderr.write(compat.refusal(problems) + "\n")
        return
    _PATCHERS[fullname](module)


_refused = False


def register() -> None:
    """Register ``hf://`` and wrap the dvc-data seams explicitly (the .pth hook normally does it
    on first import of dvc, e.g. not under ``python -S`` or in a frozen dvc build)."""
    from .errors import HfUnsupportedVersionError

    if problems := compat.dvc_problems():
        raise HfUnsupportedVersionError(compat.refusal(problems))
    import dvc.config_schema
    import dvc_objects.fs

    from . import seams

    for name, module in (
        ("dvc_objects.fs", dvc_objects.fs),
        ("dvc.config_schema", dvc.config_schema),
    ):
        _PATCHERS[name](module)
    seams.install()
