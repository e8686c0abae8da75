"""``ckpt adopt``: bring checkpoints that already live as plain files on a Hub repo under DVC.

A group that published its checkpoints by hand (``hf upload`` into ``v0.0.1/...``) keeps that
repo: each registry entry is mapped to a file in it, every mapped file is looked up first (one
``paths-info`` call per 1000 paths, with the Hub's LFS sha256), each distinct file is downloaded
once and checked against that sha256 while it streams, and only when every file arrived intact
are they moved into place, ``dvc add ckpts`` run and the origin recorded in ``dvc.yaml``. Any
failure before that point leaves the checkout as it was.

A later ``dvc push`` to the same repo uploads no LFS bytes: the Hub stores LFS content once per
sha256, whatever the path, and answers the push's LFS batch request with "already stored".
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ckpt import dvcfiles, ignore
from ckpt.errors import ChecksumMismatch, CkptError
from ckpt.registry import (
    REGISTRY_FILE,
    TRACKED_DIR,
    Artifact,
    load_registry,
    lookup,
    unique_paths,
)

log = logging.getLogger("ckpt")

PATHS_INFO_BATCH = 1000  # the Hub answers 413 above this many paths per call
_TYPES = {"datasets": "dataset", "models": "model"}


class AdoptError(CkptError, RuntimeError):
    """Adoption stopped before it changed the checkout: nothing was placed or recorded."""


@dataclass(frozen=True)
class Source:
    """``hf://[datasets/]ORG/REPO[@REVISION]``."""

    repo_id: str
    repo_type: str  # "model" | "dataset"
    revision: str  # as given ("main" when none)

    @property
    def url(self) -> str:
        kind = "datasets/" if self.repo_type == "dataset" else ""
        return f"hf://{kind}{self.repo_id}"


@dataclass
class _File:
    """One file in the Hub repo and the registry paths it becomes."""

    repo_path: str
    targets: list[str]
    size: int = 0
    sha256: str | None = None  # from the Hub's LFS metadata
    blob_id: str = ""  # git blob sha1: what the Hub records for a small, non-LFS file
    reuse: list[str] = field(default_factory=list)  # targets already holding these bytes


@dataclass
class Report:
    source: Source
    commit: str
    endpoint: str
    adopted: dict[str, str] = field(default_factory=dict)  # name -> path in the Hub repo
    downloaded: int = 0  # bytes
    reused: list[str] = field(default_factory=list)
    to_commit: list[str] = field(default_factory=list)
    remote: str | None = None  # the DVC remote on this repo, if one is configured


def parse_source(url: str) -> Source:
    usage = "use hf://ORG/REPO[@REVISION] or hf://datasets/ORG/REPO[@REVISION]"
    if not url.startswith("hf://"):
        raise AdoptError(f"'{url}' is not a Hub repository URL: {usage}.")
    rest, at, revision = url[len("hf://") :].partition("@")
    parts = rest.strip("/").split("/")
    kind = "model"
    if parts[0] in _TYPES:
        kind = _TYPES[parts.pop(0)]
    elif parts[0] == "spaces":
        raise AdoptError(f"'{url}': Spaces do not hold checkpoints; {usage}.")
    if len(parts) > 2:
        raise AdoptError(
            f"'{url}' has a path after the repository: pass it as --prefix "
            f"{'/'.join(parts[2:])} (URL: hf://{'/'.join(parts[:2])})."
        )
    if len(parts) != 2 or not all(parts):
        raise AdoptError(f"'{url}' does not name a Hub repository: {usage}.")
    if at and not revision:
        raise AdoptError(f"'{url}': nothing after '@'; give a branch, tag or commit, or drop it.")
    return Source("/".join(parts), kind, revision or "main")


def adopt(
    root: Path,
    url: str,
    *,
    prefix: str | None = None,
    mapping: Mapping[str, str] | None = None,
    endpoint: str | None = None,
) -> Report:
    source = parse_source(url)
    registry = load_registry(root)
    if not registry:
        raise AdoptError(
            f"{root / REGISTRY_FILE} has no artifacts: register the checkpoints first."
        )
    files = _plan(registry, _clean(prefix or "", "--prefix"), mapping or {})
    api, endpoint, remote = _client(root, source, endpoint)
    commit = _resolve(api, source, endpoint)
    report = Report(source, commit, endpoint, remote=remote)

    _lookup(api, source, commit, files, registry)
    for f in files.values():
        for target in f.targets:
            if (root / target).exists() or (root / target).is_symlink():
                if _matches(root / target, f):
                    f.reuse.append(target)
                else:
                    raise AdoptError(
                        f"{target} already exists with other bytes than {f.repo_path} on "
                        f"{source.url}@{commit[:12]}; nothing was adopted. Move it away (it may "
                        "be a checkpoint of your own) and run `ckpt adopt` again."
                    )

    staging = Path(tempfile.mkdtemp(prefix="adopt-", dir=_tmp_dir(root)))
    try:
        downloaded = {}
        for f in files.values():
            if len(f.reuse) < len(f.targets):
                downloaded[f.repo_path] = _download(api, source, commit, f, staging)
                report.downloaded += f.size
        with _rollback(root) as placed:
            for f in files.values():
                for target in f.targets:
                    if target in f.reuse:
                        report.reused.append(target)
                        continue
                    placed.append(_place(root, downloaded[f.repo_path], target, staging))
            _record_origins(root, registry, files, source, commit)
            _sync_ignore_and_add(root, registry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    for name, artifact in registry.items():
        report.adopted[name] = files[artifact.path].repo_path
    from ckpt.publish import _uncommitted

    # `dvc add` also git-ignores ckpts/ in .gitignore the first time.
    report.to_commit = _uncommitted(
        root, [dvcfiles.DVC_FILE, REGISTRY_FILE, ignore.IGNORE_FILE, ".gitignore"]
    )
    return report


def _clean(path: str, what: str) -> str:
    path = path.strip().strip("/")
    if "\\" in path or any(part in ("..", ".") for part in PurePosixPath(path).parts):
        raise AdoptError(f"{what} '{path}' must be a plain path inside the repo (no '..').")
    return path


def _plan(
    registry: Mapping[str, Artifact], prefix: str, mapping: Mapping[str, str]
) -> dict[str, _File]:
    """Registry path -> the Hub file it comes from (aliases share one)."""
    for name in mapping:
        lookup(registry, name)  # unknown name: CheckpointNotFound with the closest match
    chosen: dict[str, tuple[str, str]] = {}  # registry path -> (repo path, why)
    for artifact in registry.values():
        if artifact.name in mapping:
            repo_path, why = _clean(mapping[artifact.name], "--map"), f"--map {artifact.name}"
        else:
            rel = dvcfiles.manifest_key(artifact.path)
            repo_path, why = (f"{prefix}/{rel}" if prefix else rel), "the prefix"
        previous = chosen.setdefault(artifact.path, (repo_path, why))
        if previous[0] != repo_path:
            raise AdoptError(
                f"{artifact.path} would come from both {previous[0]} ({previous[1]}) and "
                f"{repo_path} ({why}): entries that share a path share a file. Map them alike."
            )
    files: dict[str, _File] = {}
    by_repo: dict[str, _File] = {}
    for path, (repo_path, _) in chosen.items():
        f = by_repo.setdefault(repo_path, _File(repo_path, []))
        f.targets.append(path)
        files[path] = f
    return files


def _client(root: Path, source: Source, endpoint: str | None) -> tuple[Any, str, str | None]:
    """HfApi with the endpoint and token of the DVC remote on this repo, else of the environment."""
    from dvc_hf.download import hub_disables_xet
    from dvc_hf.fs import HfFileSystem

    config = dvcfiles.read_config(root)
    options: dict[str, str] = {}
    remote = None
    for r in dvcfiles.remotes(root):
        if not r.url.startswith("hf://"):
            continue
        opts = config.get(f'remote "{r.name}"', {})
        try:
            repo, _ = HfFileSystem(**opts).locate(r.url)
        except ValueError:
            continue
        if (repo.id, repo.type) == (source.repo_id, source.repo_type):
            options, remote = opts, r.name
            break
    fs = HfFileSystem(**(options | ({"endpoint": endpoint} if endpoint else {})))
    hub_disables_xet(fs.endpoint)
    from huggingface_hub import HfApi, get_token

    token = options.get("token") or get_token()  # HF_TOKEN, then the stored login
    return HfApi(endpoint=fs.endpoint, token=token), fs.endpoint, remote


def _resolve(api: Any, source: Source, endpoint: str) -> str:
    from huggingface_hub.errors import (
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        info = api.repo_info(source.repo_id, repo_type=source.repo_type, revision=source.revision)
    except RevisionNotFoundError:
        raise AdoptError(
            f"{source.url} has no branch, tag or commit '{source.revision}' (on {endpoint})."
        ) from None
    except RepositoryNotFoundError:
        raise AdoptError(
            f"{source.url} was not found on {endpoint}, or the token cannot see it. Check the "
            "name (a dataset repo is hf://datasets/ORG/REPO), the endpoint (--endpoint, the "
            "remote's `endpoint` option or HF_ENDPOINT) and the token (HF_TOKEN, `hf auth "
            "login`, or the remote's `token` in .dvc/config.local)."
        ) from None
    except HfHubHTTPError as exc:
        raise AdoptError(f"The Hub at {endpoint} refused to describe {source.url}: {exc}") from None
    except Exception as exc:  # the HTTP client's connection errors are not OSErrors
        raise AdoptError(
            f"Cannot reach {source.url} on {endpoint} ({type(exc).__name__}: {exc}). Check the "
            "network and the endpoint (--endpoint, the remote's `endpoint`, or HF_ENDPOINT)."
        ) from None
    return str(info.sha)


def _lookup(
    api: Any, source: Source, commit: str, files: dict[str, _File], registry: Mapping[str, Artifact]
) -> None:
    from huggingface_hub.hf_api import RepoFile

    wanted = sorted({f.repo_path for f in files.values()})
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), PATHS_INFO_BATCH):
        for entry in api.get_paths_info(
            source.repo_id,
            wanted[start : start + PATHS_INFO_BATCH],
            repo_type=source.repo_type,
            revision=commit,
        ):
            found[entry.path] = entry
    missing = [p for p in wanted if not isinstance(found.get(p), RepoFile)]
    if missing:
        raise AdoptError(_missing_message(api, source, commit, files, registry, missing, found))
    for f in files.values():
        entry = found[f.repo_path]
        f.size, f.blob_id = entry.size, entry.blob_id
        f.sha256 = entry.lfs.sha256 if entry.lfs else None


def _missing_message(
    api: Any,
    source: Source,
    commit: str,
    files: dict[str, _File],
    registry: Mapping[str, Artifact],
    missing: list[str],
    found: dict[str, Any],
) -> str:
    names = {
        f.repo_path: [a.name for a in registry.values() if a.path in f.targets]
        for f in files.values()
    }
    lines = [
        f"  {p} ({', '.join(names[p])}): "
        + ("a folder, not a file" if p in found else "not in the repo")
        for p in missing
    ]
    where = f"{source.url}@{commit[:12]}"
    text = f"{len(missing)} file(s) not found in {where}; nothing was adopted:\n" + "\n".join(lines)
    repo_files = [
        e.path
        for e in api.list_repo_tree(
            source.repo_id, repo_type=source.repo_type, revision=commit, recursive=True
        )
        if type(e).__name__ == "RepoFile"
    ]
    top = sorted({p.split("/")[0] + ("/" if "/" in p else "") for p in repo_files})
    text += f"\nThe repo holds: {', '.join(top[:20]) or '(nothing)'}"
    text += " ..." if len(top) > 20 else ""
    # Where the registry's paths (under ckpts/) do appear: the prefix to pass.
    rels = {dvcfiles.manifest_key(a.path) for a in registry.values()}
    counts: dict[str, int] = {}
    for p in repo_files:
        for rel in rels:
            if p == rel or p.endswith("/" + rel):
                prefix = p[: -len(rel)].rstrip("/")
                counts[prefix] = counts.get(prefix, 0) + 1
    if counts:
        best = max(sorted(counts), key=lambda k: counts[k])
        flag = f"--prefix {best}" if best else "no --prefix"
        text += (
            f"\nThe registry's paths are found under '{best or '(the repo root)'}' "
            f"({counts[best]} of {len(rels)}): try {flag}"
        )
        if counts[best] < len(rels):
            text += ", and --map NAME=PATH_IN_REPO for the others"
        text += "."
    else:
        text += "\nMap each checkpoint to its file with --map NAME=PATH_IN_REPO."
    return text


def _hash_file(path: Path) -> tuple[str, str]:
    """(sha256, git blob sha1) of a local file, in one read."""
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            sha256.update(chunk)
            sha1.update(chunk)
    return sha256.hexdigest(), sha1.hexdigest()


def _matches(path: Path, f: _File) -> bool:
    if not path.is_file() or path.stat().st_size != f.size:
        return False
    sha256, sha1 = _hash_file(path)
    return sha256 == f.sha256 if f.sha256 else sha1 == f.blob_id


def _download(api: Any, source: Source, commit: str, f: _File, staging: Path) -> Path:
    """Stream one file to a temp name, hashing as it arrives; raise unless it is the Hub's."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import hf_raise_for_status, http_stream_backoff

    from dvc_hf import retry

    url = hf_hub_url(
        source.repo_id, f.repo_path, repo_type=source.repo_type, revision=commit,
        endpoint=api.endpoint,
    )  # fmt: skip
    headers = api._build_hf_headers()
    tmp = staging / hashlib.sha256(f.repo_path.encode()).hexdigest()
    log.info("Downloading %s (%s bytes) ...", f.repo_path, f"{f.size:,}")

    def download() -> tuple[str, str, int]:
        sha256 = hashlib.sha256()
        sha1 = hashlib.sha1(f"blob {f.size}\0".encode())
        size = 0
        with http_stream_backoff(
            "GET", url, headers=headers, retry_on_exceptions=(), retry_on_status_codes=()
        ) as response:
            hf_raise_for_status(response)
            with open(tmp, "wb") as out:
                for chunk in response.iter_bytes(1024 * 1024):
                    out.write(chunk)
                    sha256.update(chunk)
                    sha1.update(chunk)
                    size += len(chunk)
        return sha256.hexdigest(), sha1.hexdigest(), size

    try:
        sha256, sha1, size = retry.retrying(
            download, f"download of {f.repo_path}", endpoint=api.endpoint
        )
    except Exception as exc:
        raise AdoptError(
            f"Downloading {f.repo_path} from {source.url} failed ({type(exc).__name__}: {exc}); "
            "nothing was adopted. Run `ckpt adopt` again."
        ) from None
    expected, actual, kind = (
        (f.sha256, sha256, "sha256") if f.sha256 else (f.blob_id, sha1, "git blob sha1")
    )
    if actual != expected or size != f.size:
        raise ChecksumMismatch(
            f"{f.repo_path} from {source.url}@{commit[:12]}: the bytes served hash to {kind} "
            f"{actual} ({size} bytes), but the Hub records {expected} ({f.size} bytes). The "
            "download was deleted and nothing was adopted; try again, and if it persists the "
            "file on the Hub is corrupt."
        )
    f.sha256 = sha256
    return tmp


def _tmp_dir(root: Path) -> Path:
    # Inside the checkout, so placing a file is a rename on the same filesystem.
    tmp = root / ".dvc" / "tmp" / "ckpt"
    tmp.mkdir(parents=True, exist_ok=True)
    return tmp


def _place(root: Path, source: Path, target: str, staging: Path) -> str:
    dest = root / target
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A file shared by several registry paths is copied for all but the last of them.
    fd, copy = tempfile.mkstemp(dir=staging)
    os.close(fd)
    shutil.copyfile(source, copy)
    os.replace(copy, dest)
    return target


@contextmanager
def _rollback(root: Path) -> Iterator[list[str]]:
    """Undo placements and restore the files adoption writes if anything below fails."""
    saved = {}
    for name in (REGISTRY_FILE, dvcfiles.DVC_FILE, ignore.IGNORE_FILE, ".gitignore"):
        try:
            saved[name] = (root / name).read_bytes()
        except FileNotFoundError:
            saved[name] = None
    placed: list[str] = []
    try:
        yield placed
    except BaseException:
        for target in placed:
            (root / target).unlink(missing_ok=True)
        for name, data in saved.items():
            if data is None:
                (root / name).unlink(missing_ok=True)
            else:
                (root / name).write_bytes(data)
        raise


def _record_origins(
    root: Path,
    registry: Mapping[str, Artifact],
    files: dict[str, _File],
    source: Source,
    commit: str,
) -> None:
    """Add ``meta.origin`` to each entry, keeping the rest of dvc.yaml (comments, order) as is."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()  # round-trip: comments, key order and flow styles survive
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    file = root / REGISTRY_FILE
    doc = yaml.load(file.read_text(encoding="utf-8"))
    for name, artifact in registry.items():
        f = files[artifact.path]
        entry = doc["artifacts"][name]
        meta = entry.get("meta")
        if meta is None:
            meta = entry["meta"] = CommentedMap()
        if hasattr(meta, "fa"):
            meta.fa.set_block_style()  # the origin is long: one key per line reads better
        origin = CommentedMap()
        origin["repo"] = source.repo_id
        if source.repo_type != "model":
            origin["repo_type"] = source.repo_type
        origin["revision"] = commit
        origin["path"] = f.repo_path
        origin["sha256"] = f.sha256
        meta["origin"] = origin
    tmp = file.with_name(f".{file.name}.adopt.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    os.replace(tmp, file)


def _sync_ignore_and_add(root: Path, registry: Mapping[str, Artifact]) -> None:
    """The .dvcignore section, checked by DVC's own filter, then ``dvc add ckpts`` (in process:
    one DVC import for both)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    paths = unique_paths(registry)
    ignore.sync(root, paths)
    with Repo(os.fspath(root)) as repo:
        problems = ignore.disagreements(root, paths, ignore.unregistered(root, paths), repo)
        if problems:
            raise AdoptError(
                "DVC would not track exactly the registered files; nothing was adopted:\n"
                + "\n".join(problems)
                + f"\nFix the pattern outside the ckpt section of {ignore.IGNORE_FILE} "
                "(`dvc check-ignore -d PATH` names it)."
            )
        repo.scm_context.quiet = True  # what to commit is printed by us, with all three files
        try:
            repo.add(TRACKED_DIR)
        except DvcException as exc:
            raise AdoptError(
                f"`dvc add {TRACKED_DIR}` failed: {exc}\nThe adopted files were removed and "
                f"{REGISTRY_FILE}, {dvcfiles.DVC_FILE} and {ignore.IGNORE_FILE} restored."
            ) from None
