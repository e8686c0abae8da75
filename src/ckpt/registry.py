"""The checkpoint registry: ``dvc.yaml``'s ``artifacts:`` section, read as plain YAML and validated.

DVC owns the format (``path``, ``type``, ``desc``, ``labels``, ``meta``); this module only reads it,
so the same file serves ``dvc artifacts get`` and DVC Studio. Parsed registries are cached per
process and re-read only when ``dvc.yaml`` changes on disk.
"""

from __future__ import annotations

import functools
import os
import re
from collections import namedtuple
from pathlib import Path, PurePosixPath

from ckpt.errors import CheckpointNotFound, RegistryError
from ckpt.memo import FileMemo, joined

TYPE_CHECKING = False  # typing stays off the warm path (see ckpt.memo)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, NamedTuple

REGISTRY_FILE = "dvc.yaml"
TRACKED_DIR = "ckpts"
# DVC's own rule for artifact names (gto.constants.name), so a name we accept DVC accepts too.
_NAME_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?$")
_FIELDS = {"path", "type", "desc", "labels", "meta"}


# Typed for type checkers, a plain namedtuple at run time (see ckpt.memo).
if TYPE_CHECKING:

    class _Artifact(NamedTuple):
        name: str
        path: str
        desc: str
        type: str
        labels: tuple[str, ...]
        meta: Mapping[str, Any]
else:
    _Artifact = namedtuple("Artifact", ["name", "path", "desc", "type", "labels", "meta"])


class Artifact(_Artifact):
    """One registry entry. ``path`` is POSIX and relative to the repository root."""

    __slots__ = ()


def find_repo_root(start: Path | None = None) -> Path:
    """The checkout holding the registry, looked for in this order:

    1. ``$CKPT_REPO``;
    2. ``start`` (default: the working directory) and its parents;
    3. the location of the calling code: the innermost frame on the stack that is neither ckpt
       itself nor an installed library, and its parents. So a script of a checkout finds that
       checkout's registry whatever the working directory (``cd / && python CHECKOUT/x.py``).

    A directory counts when it holds ``dvc.yaml`` beside a ``.dvc/`` directory.
    """
    env = os.environ.get("CKPT_REPO")
    if env:
        root = Path(env).expanduser().absolute()
        if not (root / REGISTRY_FILE).is_file():
            raise RegistryError(
                f"CKPT_REPO={env} has no {REGISTRY_FILE}. Point CKPT_REPO at the checkout that "
                f"holds {REGISTRY_FILE} and ckpts.dvc, or unset it."
            )
        return root
    if start is None:
        # The warm path asks from the same working directory again and again: remember where
        # its checkout is, as long as that still holds the registry (one stat, no pathlib).
        cwd = os.getcwd()
        hit = _cwd_roots.get(cwd)
        if hit is not None and os.path.isfile(hit[1]):
            return hit[0]
    here = (start or Path.cwd()).absolute()
    root = _checkout_above(here)
    if root is not None:
        if start is None:
            _cwd_roots[cwd] = (root, os.path.join(root, REGISTRY_FILE))
        return root
    # Only reached when the working directory is outside every checkout, so the stack walk
    # costs nothing on the everyday path.
    caller = _calling_code_dir()
    root = _caller_root(caller) if caller is not None else None
    if root is not None:
        return root
    if caller is not None:
        looked = f"neither {here} nor the calling code's location ({caller}) nor their parents hold"
    else:
        looked = f"neither {here} nor its parents hold"
    raise RegistryError(
        f"No checkpoint registry found: CKPT_REPO is not set, and {looked} {REGISTRY_FILE} "
        "beside a .dvc/ directory. Run from inside the checkout, call from code that lives in it, "
        "or set CKPT_REPO to the checkout's root."
    )


# Working directory -> its checkout and that checkout's registry file.
_cwd_roots: dict[str, tuple[Path, str]] = {}


def _checkout_above(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if (candidate / REGISTRY_FILE).is_file() and (candidate / ".dvc").is_dir():
            return candidate
    return None


# Directory of calling code -> its checkout, for code that asks again and again from outside.
_caller_roots: dict[str, Path] = {}


def _caller_root(directory: str) -> Path | None:
    root = _caller_roots.get(directory)
    if root is not None and (root / REGISTRY_FILE).is_file():
        return root
    root = _checkout_above(Path(directory))
    if root is not None:
        _caller_roots[directory] = root
    return root


def _calling_code_dir() -> str | None:
    """Directory of the innermost frame's file that is neither ckpt nor the standard library nor
    installed (omegaconf calling a resolver, pluggy calling a hook: their callers count instead).
    """
    import sys

    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        try:
            directory = _code_dirs[filename]
        except KeyError:
            directory = _code_dirs[filename] = _user_code_dir(filename)
        if directory is not None:
            return directory
        frame = frame.f_back
    return None


# co_filename -> its directory, or None for code that does not count (ckpt, libraries, <string>).
_code_dirs: dict[str, str | None] = {}


def _user_code_dir(filename: str) -> str | None:
    if filename.startswith("<"):
        return None
    path = os.path.abspath(filename)
    if any(_within(path, d) for d in _library_dirs()):
        return None
    return os.path.dirname(path)


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    import contextlib
    import site
    import sysconfig

    dirs = {os.path.dirname(os.path.abspath(__file__))}
    paths = sysconfig.get_paths()
    # "scripts": console scripts such as `ckpt` itself are installed code too.
    keys = ("stdlib", "platstdlib", "purelib", "platlib", "scripts")
    dirs.update(paths[k] for k in keys if k in paths)
    with contextlib.suppress(AttributeError):  # site may be stripped down (embedded Pythons)
        dirs.update(site.getsitepackages())
        dirs.add(site.getusersitepackages())
    return tuple(sorted(os.path.abspath(d) for d in dirs))


def load_registry(root: Path) -> dict[str, Artifact]:
    """Name -> Artifact for every entry in ``root/dvc.yaml``; raises RegistryError when invalid."""
    try:
        return _registries.get(joined(root, REGISTRY_FILE))
    except FileNotFoundError:
        file = root / REGISTRY_FILE
        raise RegistryError(
            f"{file} does not exist: the checkpoint registry lives in its 'artifacts:' section."
        ) from None


def lookup(registry: Mapping[str, Artifact], name: str) -> Artifact:
    """The entry called ``name``, or CheckpointNotFound listing the names and the closest match."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        pass
    import difflib

    close = difflib.get_close_matches(str(name), list(registry), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise CheckpointNotFound(
        f"No checkpoint named '{name}' in {REGISTRY_FILE}.{hint} "
        f"Available: {', '.join(sorted(registry)) or '(none)'}."
    )


def unique_paths(registry: Mapping[str, Artifact]) -> list[str]:
    """Each distinct path once (aliases share a file), in registry order."""
    return list(dict.fromkeys(a.path for a in registry.values()))


def _parse(file: Path) -> dict[str, Artifact]:
    return parse_registry(file.read_text(encoding="utf-8"), file)


def parse_registry(text: str, file: str | Path) -> dict[str, Artifact]:
    """Name -> Artifact from the text of a ``dvc.yaml``; ``file`` names it in error messages."""
    import yaml

    try:
        doc = yaml.load(text, Loader=_unique_key_loader())
    except yaml.YAMLError as exc:
        raise RegistryError(f"{file} is not valid YAML: {exc}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise RegistryError(f"{file} must be a YAML mapping, not {type(doc).__name__}.")
    artifacts = doc.get("artifacts", {})
    if artifacts is None:
        artifacts = {}
    if not isinstance(artifacts, dict):
        raise RegistryError(f"{file}: 'artifacts' must be a mapping of name -> entry.")
    registry: dict[str, Artifact] = {}
    for name, entry in artifacts.items():
        registry[str(name)] = _artifact(file, name, entry)
    return registry


_registries = FileMemo(_parse)


def _artifact(file: str | Path, name: Any, entry: Any) -> Artifact:
    where = f"{file}: artifact '{name}'"
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise RegistryError(
            f"{where}: invalid name. Names use letters, digits, '-', '_' and '/', and start and "
            "end with a letter or digit (DVC's artifact-name rule)."
        )
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: must be a mapping with at least 'path'.")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise RegistryError(
            f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(sorted(_FIELDS))}."
        )
    path = entry.get("path")
    if not isinstance(path, str) or not path:
        raise RegistryError(f"{where}: 'path' is required and must be a string.")
    labels = entry.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise RegistryError(f"{where}: 'labels' must be a list of strings.")
    meta = entry.get("meta") or {}
    if not isinstance(meta, dict):
        raise RegistryError(f"{where}: 'meta' must be a mapping.")
    for key in ("desc", "type"):
        if not isinstance(entry.get(key, ""), str):
            raise RegistryError(f"{where}: '{key}' must be a string.")
    return Artifact(
        name=name,
        path=_checked_path(where, path),
        desc=entry.get("desc", ""),
        type=entry.get("type", ""),
        labels=tuple(labels),
        meta=meta,
    )


def _checked_path(where: str, path: str) -> str:
    if "\\" in path or path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise RegistryError(
            f"{where}: path '{path}' must be a relative POSIX path under {TRACKED_DIR}/."
        )
    parts = PurePosixPath(path).parts
    if ".." in parts or "." in parts or parts[:1] != (TRACKED_DIR,) or len(parts) < 2:
        raise RegistryError(
            f"{where}: path '{path}' must stay inside {TRACKED_DIR}/ (no '..', no absolute path)."
        )
    return str(PurePosixPath(*parts))


def check_inside(root: Path, artifact: Artifact, cache_dir: Path | None = None) -> Path:
    """The artifact's absolute path, refusing one that a symlink carries out of ``ckpts/``.

    A final symlink into the DVC cache is allowed: it is how ``cache.type = symlink`` checks out.
    """
    base = os.path.realpath(root / TRACKED_DIR)
    target = root / artifact.path
    parent = os.path.realpath(target.parent)
    allowed = [base]
    if cache_dir is not None:
        allowed.append(os.path.realpath(cache_dir))
    if not _within(parent, base):
        raise RegistryError(
            f"artifact '{artifact.name}': {artifact.path} resolves to {parent}, outside "
            f"{TRACKED_DIR}/ (a symlinked directory escapes it). Remove the symlink."
        )
    if target.is_symlink():
        real = os.path.realpath(target)
        if not any(_within(real, a) for a in allowed):
            raise RegistryError(
                f"artifact '{artifact.name}': {artifact.path} is a symlink to {real}, outside "
                f"{TRACKED_DIR}/ and the DVC cache. Remove the symlink."
            )
    return target


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


@functools.cache
def _unique_key_loader() -> type:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        """SafeLoader that refuses duplicate keys, which PyYAML would silently overwrite."""

        def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise RegistryError(
                        f"{REGISTRY_FILE}: duplicate key '{key}' "
                        f"(line {key_node.start_mark.line + 1}). Names must be unique."
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return Loader
