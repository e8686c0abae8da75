"""Registration of the ``hf`` scheme with dvc-objects and DVC's config schema.

Called by the start-up hook right after ``dvc_objects.fs`` / ``dvc.config_schema`` are imported;
``register()`` does the same by hand (e.g. for ``python -S`` or a frozen dvc build).
"""

import sys
from types import ModuleType

SCHEME = "hf"
FS_CLASS = "dvc_hf.fs.HfFileSystem"
# Tested with dvc 3.67.1 (dvc-objects 5.2.0, dvc-data 3.18.3). The shim hooks dvc-data's
# transfer and gc functions, whose shape has been stable across dvc 3.x releases.
SUPPORTED_DVC = ((3, 50), (4, 0))


def dvc_version_problem() -> str | None:
    """Return why the installed dvc is not supported, or None when it is (or is absent)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("dvc")
    except PackageNotFoundError:
        return None
    parts = tuple(int(p) for p in installed.split(".")[:2] if p.isdigit())
    low, high = SUPPORTED_DVC
    if low <= parts < high:
        return None
    return (
        f"dvc-hf supports dvc >={'.'.join(map(str, low))},<{'.'.join(map(str, high))} but dvc "
        f"{installed} is installed; install a supported version, e.g. pip install 'dvc>=3.50,<4'"
    )


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
    module.REMOTE_SCHEMAS[SCHEME] = remote_options(module)
    # ByUrl() copied REMOTE_SCHEMAS when the module was executed: rebuild it.
    module.SCHEMA["remote"] = {str: module.ByUrl(module.REMOTE_SCHEMAS)}
    # dvc.config memoizes the compiled schema (funcy.memoize keeps it in `.memory`).
    compiled = getattr(sys.modules.get("dvc.config"), "get_compiled_schema", None)
    if compiled is not None and hasattr(compiled, "memory"):
        compiled.memory.clear()


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
    _PATCHERS[fullname](module)
    if fullname == "dvc.config_schema" and (problem := dvc_version_problem()):
        sys.stderr.write(f"WARNING: {problem}\n")


def register() -> None:
    """Register ``hf://`` explicitly (the .pth hook normally does it on first import of dvc)."""
    import dvc.config_schema
    import dvc_objects.fs

    for name, module in (
        ("dvc_objects.fs", dvc_objects.fs),
        ("dvc.config_schema", dvc.config_schema),
    ):
        _PATCHERS[name](module)
