"""What DVC recorded, read straight from its files: ``ckpts.dvc``, the ``.dir`` manifest, config.

Reading the files ourselves (instead of through ``dvc.repo``) keeps the warm path free of the
200 ms DVC import. DVC remains the writer of every one of these files.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple
from pathlib import Path

from ckpt.errors import RegistryError
from ckpt.memo import FileMemo, joined
from ckpt.registry import TRACKED_DIR

DVC_FILE = f"{TRACKED_DIR}.dvc"

# Typed for type checkers, a plain namedtuple at run time (typing stays off the warm path, see
# ckpt.memo).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import NamedTuple

    from ckpt.registry import Artifact

    class Remote(NamedTuple):
        name: str
        url: str
else:
    Remote = namedtuple("Remote", ["name", "url"])


def tracked_dir_md5(root: Path) -> str:
    """The ``xxxx.dir`` hash that ``ckpts.dvc`` pins; cached until the file changes."""
    try:
        return _dir_md5s.get(joined(root, DVC_FILE))
    except FileNotFoundError:
        file = root / DVC_FILE
        raise RegistryError(
            f"{file} does not exist, so no checkpoint bytes are pinned yet. A maintainer creates it "
            f"with `dvc add {TRACKED_DIR}` (see CONTRIBUTING.md); if you cloned the repository, "
            "check that you are on a commit that has it."
        ) from None


def _parse_dvc_file(file: Path) -> str:
    return parse_dvc_file(file.read_text(encoding="utf-8"), file)


def parse_dvc_file(text: str, file: str | Path) -> str:
    """The ``.dir`` md5 in the text of a ``ckpts.dvc``; ``file`` names it in error messages."""
    import yaml

    try:
        doc = yaml.load(text, Loader=_safe_loader())
        outs = doc["outs"]
        out = next(o for o in outs if str(o.get("path", "")).rstrip("/") == TRACKED_DIR)
        md5 = str(out["md5"])
    except (yaml.YAMLError, KeyError, TypeError, AttributeError, StopIteration):
        raise RegistryError(
            f"{file} is malformed: expected 'outs:' with an entry for path '{TRACKED_DIR}' and its "
            f"'md5'. Restore it from git (`git checkout -- {DVC_FILE}`) or re-create it with "
            f"`dvc add {TRACKED_DIR}`."
        ) from None
    if not md5.endswith(".dir") or len(md5) != 36:
        raise RegistryError(
            f"{file}: md5 '{md5}' is not a directory hash; {TRACKED_DIR}/ must be tracked as a "
            f"whole directory (`dvc add {TRACKED_DIR}`)."
        )
    return md5


_dir_md5s = FileMemo(_parse_dvc_file)


def _safe_loader() -> type:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def cache_dir(root: Path, config: dict[str, dict[str, str]] | None = None) -> Path:
    """DVC's cache directory, honouring ``cache.dir`` in config and config.local."""
    if config is None:
        config = read_config(root)
    configured = config.get("cache", {}).get("dir")
    if not configured:
        return root / ".dvc" / "cache"
    # DVC resolves a relative cache.dir against the .dvc/ directory holding the config file.
    return (root / ".dvc" / os.path.expanduser(configured)).resolve()


def object_path(cache: Path, md5: str) -> Path:
    """Where DVC 3 keeps an object in a cache or local remote: ``files/md5/ab/cdef...``."""
    return cache / "files" / "md5" / md5[:2] / md5[2:]


def load_manifest(root: Path, dir_md5: str) -> dict[str, str] | None:
    """``relpath under ckpts/`` -> md5 from the ``.dir`` object in the local cache, if it is there."""
    return read_manifest(cache_dir(root), dir_md5)


def read_manifest(cache: Path, dir_md5: str) -> dict[str, str] | None:
    """The ``.dir`` object ``dir_md5`` in ``cache``, checked against its name; None if absent."""
    file = object_path(cache, dir_md5)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return None
    try:
        entries = json.loads(data)
    except ValueError:
        raise RegistryError(
            f"The DVC manifest {file} is not valid JSON (corrupted cache). Delete it and run "
            f"`ckpt pull` to fetch it again."
        ) from None
    manifest = _check_manifest(file, data, entries)
    if manifest is None:
        raise RegistryError(
            f"The DVC manifest {file} does not have DVC's .dir layout (a list of md5/relpath "
            "entries). Delete it and run `ckpt pull` to fetch it again."
        )
    return manifest


def expected_md5s(root: Path, dir_md5: str, artifacts: Iterable[Artifact]) -> dict[str, str] | None:
    """Path -> md5 DVC recorded for each artifact; None while the manifest is not in the cache."""
    manifest = load_manifest(root, dir_md5)
    return None if manifest is None else select(manifest, artifacts)


def manifest_key(path: str) -> str:
    """A registry path (``ckpts/...``) as the ``.dir`` manifest names it: relative to ``ckpts/``."""
    return path[len(TRACKED_DIR) + 1 :]


def select(
    manifest: dict[str, str], artifacts: Iterable[Artifact], at: str | None = None
) -> dict[str, str]:
    """Path -> md5 the manifest records for each artifact; a clear error for one it lacks.

    ``at``: the git revision the manifest and registry were read at, for the error.
    """
    expected = {}
    for artifact in artifacts:
        rel = manifest_key(artifact.path)
        if rel not in manifest:
            if at is not None:
                raise RegistryError(
                    f"artifact '{artifact.name}': {artifact.path} is in dvc.yaml at revision {at} "
                    f"but not in {DVC_FILE} there, so DVC never recorded its bytes at that revision."
                )
            raise RegistryError(
                f"artifact '{artifact.name}': {artifact.path} is in dvc.yaml but not in {DVC_FILE}, "
                f"so DVC never recorded its bytes. A maintainer adds it with `dvc add {TRACKED_DIR}` "
                "and pushes it (scripts/upload_checkpoints.sh)."
            )
        expected[artifact.path] = manifest[rel]
    return expected


def _check_manifest(file: Path, data: bytes, entries: object) -> dict[str, str] | None:
    from ckpt.hashing import md5_bytes

    if not isinstance(entries, list):
        return None
    manifest: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not {"md5", "relpath"} <= set(entry):
            return None
        manifest[str(entry["relpath"])] = str(entry["md5"])
    # The name of a .dir object is the md5 of its content: a tampered manifest fails this check.
    actual = md5_bytes(data)
    if actual + ".dir" != file.parent.name + file.name:
        raise RegistryError(
            f"The DVC manifest {file} was modified: its content hashes to {actual}, not to its "
            f"name. It was left in place; delete it and run `ckpt pull` to fetch it again."
        )
    return manifest


def read_config(root: Path) -> dict[str, dict[str, str]]:
    """DVC's merged repo config (``.dvc/config`` then ``.dvc/config.local``) as nested dicts."""
    merged: dict[str, dict[str, str]] = {}
    for name in ("config", "config.local"):
        for section, values in read_config_file(root / ".dvc" / name).items():
            merged.setdefault(section, {}).update(values)
    return merged


def read_config_file(file: Path) -> dict[str, dict[str, str]]:
    """One DVC config file (ConfigObj format, as DVC reads it); {} when it does not exist."""
    try:
        return _configs.get(file)
    except (FileNotFoundError, IsADirectoryError):
        return {}


def _parse_config_file(file: Path) -> dict[str, dict[str, str]]:
    from configobj import ConfigObj, ConfigObjError

    if not file.is_file():
        return {}
    try:
        conf = ConfigObj(str(file), interpolation=False)
    except ConfigObjError as exc:
        raise RegistryError(f"{file} is not a valid DVC config: {exc}") from None
    return {
        section: {k: str(v) for k, v in values.items()}
        for section, values in conf.items()
        if isinstance(values, dict)
    }


# A cold call reads the config from several places (the snapshot, the committed-secrets check,
# error messages); each file is parsed once per process until it changes.
_configs = FileMemo(_parse_config_file)


def remotes(root: Path, config: dict[str, dict[str, str]] | None = None) -> list[Remote]:
    """Configured remotes, the default one first, then the others in config order."""
    if config is None:
        config = read_config(root)
    found = [
        Remote(section[len('remote "') : -1], values.get("url", ""))
        for section, values in config.items()
        if section.startswith('remote "') and section.endswith('"')
    ]
    default = config.get("core", {}).get("remote")
    found.sort(key=lambda r: r.name != default)
    return found
