"""The maintainer's publish path: check, ``dvc add ckpts``, ``ckpt push`` everywhere, mirror.

Every check that can fail runs before anything is written or uploaded: credentials (a token with
write scope for each Hub remote, access for each S3 remote) and the registry against the files.
The push is ``ckpt.push``: straight through dvc_hf for a Hub remote, ``dvc push -r NAME`` for
the others; either way the remote ends up as ``dvc push`` would leave it. For each Hub
remote, one more commit places every checkpoint under its readable path (``--mirror-prefix``; none
in a repo the checkpoints were adopted from) and the model card in a marked section of README.md
(a README of the repo's own is kept), so people without DVC can ``hf_hub_download`` a checkpoint
by name; the Hub's LFS store deduplicates by sha256, so those bytes are not uploaded a second time.
Unregistered files under ``ckpts/`` are kept out of DVC by the generated ``.dvcignore`` section.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ckpt import dvcfiles, ignore, push
from ckpt.errors import CkptError, RegistryError
from ckpt.registry import TRACKED_DIR, load_registry, unique_paths

log = logging.getLogger("ckpt")


class PublishError(CkptError, RuntimeError):
    """Publishing stopped before it changed anything remote (or, for a push, say where it stopped)."""


@dataclass
class HubTarget:
    remote: str
    endpoint: str
    token: str | None
    repo_id: str
    repo_type: str
    revision: str


@dataclass
class Report:
    pushed: list[str] = field(default_factory=list)
    mirrored: dict[str, str] = field(default_factory=dict)  # remote -> commit url or "unchanged"
    to_commit: list[str] = field(default_factory=list)
    unregistered: list[str] = field(default_factory=list)  # left out, ignored by .dvcignore
    # remote -> folder of the readable copies ("" = repo root, None = no copies)
    mirror_prefixes: dict[str, str | None] = field(default_factory=dict)
    committed: str | None = None  # with a version: the commit that pins what was published
    tagged: list[str] = field(default_factory=list)  # with a version: NAME@vX.Y.Z tags created


def publish(
    root: Path,
    remotes: list[str] | None = None,
    *,
    mirror: bool = True,
    mirror_prefix: str | None = None,
    version: str | None = None,
) -> Report:
    """``mirror_prefix``: folder for the readable copies ("" = repo root); None = the default
    (see ``mirror_prefix_for``). ``mirror=False``: no mirror commit at all (no README either).
    ``version``: also commit the pins and tag ``NAME@vVERSION`` for each changed checkpoint."""
    configured = {r.name: r for r in dvcfiles.remotes(root)}
    if not configured:
        raise PublishError(
            "No DVC remote is configured: add one with `dvc remote add -d hf hf://ORG/REPO`."
        )
    unknown = [name for name in remotes or [] if name not in configured]
    if unknown:
        raise PublishError(
            f"Unknown remote(s) {', '.join(unknown)}; configured: {', '.join(configured)}."
        )
    selected = [configured[name] for name in remotes] if remotes else list(configured.values())
    config = dvcfiles.read_config(root)

    hubs = []
    for remote in selected:
        options = config.get(f'remote "{remote.name}"', {})
        if remote.url.startswith("hf://"):
            hubs.append(_check_hub(remote.name, remote.url, options))
        else:
            _check_access(root, remote.name, remote.url, options)
    extra = _check_registry_matches_files(root)
    registry = load_registry(root)
    prefixes = {hub.remote: mirror_prefix_for(registry, hub, mirror_prefix) for hub in hubs}
    if version is not None:
        from ckpt import tags

        version = tags.check(root, version)
    _sync_ignore(root, extra)

    report = Report(unregistered=extra, mirror_prefixes=prefixes if mirror else {})
    # Quiet: its advice on what to commit comes below.
    push.dvc(root, "add", "--quiet", TRACKED_DIR, hint="Nothing was pushed.")
    for remote in selected:
        log.info("Pushing to remote '%s' (%s) ...", remote.name, remote.url)
        push.push(root, remote.name)
        report.pushed.append(remote.name)
    if mirror:
        for hub in hubs:
            report.mirrored[hub.remote] = mirror_to_hub(root, hub, prefixes[hub.remote])
    report.to_commit = _uncommitted(root, [dvcfiles.DVC_FILE, "dvc.yaml", ignore.IGNORE_FILE])
    if version is not None:
        report.committed, report.tagged = tags.commit_and_tag(root, version, report.to_commit)
        report.to_commit = []
    return report


def _check_hub(name: str, url: str, options: dict[str, str]) -> HubTarget:
    from dvc_hf.download import hub_disables_xet
    from dvc_hf.fs import HfFileSystem

    # The remote's own reading of its URL and options (endpoint, revision), as `dvc push` sees them.
    fs = HfFileSystem(**options)
    repo, _prefix = fs.locate(url)
    endpoint = fs.endpoint
    hub_disables_xet(endpoint)
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    from dvc_hf import retry
    from dvc_hf.compat import http_module

    transport_error = (
        http_module().TransportError
    )  # httpx2's from huggingface_hub 2.0, else httpx's

    token = options.get("token") or get_token()  # get_token reads HF_TOKEN, then the stored login
    target = HubTarget(name, endpoint, token, repo.id, repo.type, fs.revision)
    where = f"remote '{name}' ({url} on {endpoint})"
    if not token:
        raise PublishError(
            f"No Hugging Face token for {where}. Set HF_TOKEN, run `hf auth login`, or store one "
            f"for this checkout only: `dvc remote modify --local {name} token hf_...`."
        )
    api = HfApi(endpoint=endpoint, token=token)
    try:
        who = retry.retrying(api.whoami, f"whoami on {endpoint}", endpoint=endpoint)
    except transport_error as exc:
        raise PublishError(f"Cannot publish to {where}: {fs.unreachable_error(exc)}") from exc
    except (HfHubHTTPError, OSError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if isinstance(status, int) and status >= 500:
            raise PublishError(f"Cannot publish to {where}: {fs.http_error(exc)}") from exc
        raise PublishError(
            f"The token for {where} was refused ({_first_line(exc)}). Set a valid write token: "
            f"HF_TOKEN, `hf auth login`, or `dvc remote modify --local {name} token hf_...`."
        ) from exc
    role = who.get("auth", {}).get("accessToken", {}).get("role")
    if role == "read":
        raise PublishError(
            f"The token for {where} is read-only. Publishing needs a token with write access."
        )
    try:
        retry.retrying(
            lambda: api.repo_info(repo.id, repo_type=repo.type),
            f"repo-info on {repo.display}",
            endpoint=endpoint,
        )
    except RepositoryNotFoundError:
        if options.get("create_repo", "").lower() not in ("true", "1", "yes"):
            raise PublishError(
                f"The Hub repository {repo.id} of {where} does not exist or the token cannot see "
                f"it. Create it, or let the push create it: `dvc remote modify {name} create_repo "
                "true`."
            ) from None
    except transport_error as exc:
        raise PublishError(f"Cannot publish to {where}: {fs.unreachable_error(exc)}") from exc
    except (HfHubHTTPError, OSError) as exc:
        reason = fs.http_error(exc) if isinstance(exc, HfHubHTTPError) else None
        raise PublishError(f"Cannot publish to {where}: {reason or _first_line(exc)}") from exc
    return target


def _check_access(root: Path, name: str, url: str, options: dict[str, str]) -> None:
    """Touch a non-Hub remote once (for S3: credentials and bucket) before any work."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    from ckpt.remote_errors import RemoteInfo, explain

    remote = RemoteInfo(name, url, options.get("endpointurl") or options.get("endpoint"))
    try:
        repo = Repo(os.fspath(root))
    except DvcException as exc:  # DVC's own config errors say what to fix
        raise PublishError(f"Cannot open the DVC repository at {root}: {exc}") from exc
    missing_bucket = None
    with repo:
        try:
            odb = repo.cloud.get_remote_odb(name)
            if url.startswith("s3://"):
                # A missing bucket reads as an empty one, and s3fs's exists() on a bucket answers
                # False for any error: info() raises what went wrong.
                bucket = odb.path.split("/", 1)[0]
                try:
                    odb.fs.info(bucket)
                except FileNotFoundError:
                    missing_bucket = bucket
            else:
                odb.fs.exists(odb.path)
        except Exception as exc:  # whatever the remote's library raises: the push would fail too
            raise PublishError(
                f"Cannot access remote '{name}' ({url}): {explain(exc, remote)}."
            ) from exc
    if missing_bucket:
        raise PublishError(
            f"Cannot access remote '{name}' ({url}): bucket '{missing_bucket}' does not exist at "
            f"{remote.endpoint or 'AWS'}. Create it, or fix the remote's URL (`dvc remote modify "
            f"{name} url s3://BUCKET/PATH`)."
        )


def _check_registry_matches_files(root: Path) -> list[str]:
    """Refuse registered paths without a file; return the unregistered files (left out)."""
    registry = load_registry(root)
    expected = unique_paths(registry)
    base = root / TRACKED_DIR
    if not base.is_dir():
        raise RegistryError(f"{base} does not exist: put the checkpoint files there first.")
    missing = [p for p in expected if not (root / p).is_file()]
    if missing:
        lines = [
            f"  {p}: in dvc.yaml ({', '.join(a.name for a in registry.values() if a.path == p)}) "
            "but no file"
            for p in missing
        ]
        raise RegistryError(
            "The registry and ckpts/ disagree; nothing was published:\n"
            + "\n".join(lines)
            + "\nPut each registered file in place (`ckpt pull NAME` fetches a published one), "
            "or remove its entry from dvc.yaml."
        )
    return ignore.unregistered(root, expected)


def _sync_ignore(root: Path, extra: list[str]) -> None:
    """Write the .dvcignore section from the registry, then ask DVC that it does what we want."""
    expected = unique_paths(load_registry(root))
    ignore.sync(root, expected)
    problems = ignore.disagreements(root, expected, extra)
    if problems:
        raise RegistryError(
            "DVC would not track exactly the registered files; nothing was published:\n"
            + "\n".join(problems)
            + f"\nFix the pattern outside the ckpt section of {ignore.IGNORE_FILE} "
            "(`dvc check-ignore -d PATH` names it)."
        )


CARD_BEGIN = (
    "<!-- ckpt:begin (generated by `ckpt publish`; edits between these markers are replaced) -->"
)
CARD_END = "<!-- ckpt:end -->"


def mirror_prefix_for(registry: dict[str, Any], hub: HubTarget, asked: str | None) -> str | None:
    """Where readable copies go: ``asked`` if given ("" = the repo root), else the default.

    The default is the repo root, unless checkpoints were adopted from this repo (``ckpt adopt``
    recorded ``meta.origin``): its own layout (e.g. ``v0.0.1/...``) is then the readable one,
    and a copy of every file under a second set of paths would only confuse, so none is made.
    """
    if asked is not None:
        return _clean_prefix(asked)
    return None if _origins(registry, hub) else ""


def _clean_prefix(prefix: str) -> str:
    prefix = prefix.strip().strip("/")
    parts = PurePosixPath(prefix).parts
    if "\\" in prefix or ".." in parts or "." in parts:
        raise PublishError(f"--mirror-prefix '{prefix}' must be a plain folder path (no '..').")
    if parts[:1] == ("files",):
        raise PublishError(
            f"--mirror-prefix '{prefix}' would mix readable copies into DVC's object store "
            "(files/md5/...). Choose another folder, e.g. v0.0.2."
        )
    return prefix


def _origins(registry: dict[str, Any], hub: HubTarget) -> dict[str, dict[str, Any]]:
    """Registry path -> ``meta.origin`` for entries adopted from this Hub repo."""
    found = {}
    for artifact in registry.values():
        origin = artifact.meta.get("origin")
        if (
            isinstance(origin, dict)
            and origin.get("repo") == hub.repo_id
            and origin.get("repo_type", "model") == hub.repo_type
        ):
            found[artifact.path] = origin
    return found


def mirror_to_hub(root: Path, hub: HubTarget, prefix: str | None = "") -> str:
    """One commit: each checkpoint under ``prefix/`` (none if None) and the README's card section.

    Returns the commit URL, or "unchanged" when the repo already holds exactly this.
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    from ckpt.hashing import calculate_sha256

    api = HfApi(endpoint=hub.endpoint, token=hub.token)
    registry = load_registry(root)
    origins = _origins(registry, hub)
    ops, readable, sha256 = [], {}, {}
    for path in unique_paths(registry):
        if prefix is None:
            sha256[path] = calculate_sha256(root / path)
            continue
        rel = PurePosixPath(path).relative_to(TRACKED_DIR).as_posix()
        op = CommitOperationAdd(
            path_in_repo=f"{prefix}/{rel}" if prefix else rel, path_or_fileobj=str(root / path)
        )
        ops.append(op)
        readable[path], sha256[path] = op.path_in_repo, op.upload_info.sha256.hex()
    _refuse_rewriting_origins(hub, origins, ops)
    for path, origin in origins.items():
        if path not in readable and origin.get("sha256") == sha256[path]:
            readable[path] = origin["path"]  # the adopted file is these very bytes
    manifest = dvcfiles.expected_md5s(root, dvcfiles.tracked_dir_md5(root), registry.values()) or {}
    body = card_section(root, hub, registry, readable, sha256, manifest)
    current = _hub_readme(api, hub)
    readme = readme_with_card(current, body, hub)
    if readme != current:
        ops.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=readme.encode()))
    if not ops:
        return "unchanged"
    info = api.create_commit(
        hub.repo_id,
        ops,
        commit_message=f"Mirror checkpoints for DVC {dvcfiles.tracked_dir_md5(root)}",
        repo_type=hub.repo_type,
        revision=hub.revision,
    )
    return info.commit_url


def _refuse_rewriting_origins(hub: HubTarget, origins: dict[str, dict], ops: list) -> None:
    """An adopted file (``meta.origin.path``) keeps its bytes: people download that version."""
    adopted = {o["path"]: o.get("sha256") for o in origins.values()}
    clashes = [
        op.path_in_repo
        for op in ops
        if op.path_in_repo in adopted and adopted[op.path_in_repo] != op.upload_info.sha256.hex()
    ]
    if clashes:
        raise PublishError(
            "The readable copies would overwrite files adopted from this repo with other bytes "
            f"({', '.join(clashes)}); those files stay as they are. The DVC push is complete; "
            "mirror under a new folder with --mirror-prefix (e.g. the next version), or skip "
            "it with --no-mirror."
        )


def _hub_readme(api: Any, hub: HubTarget) -> str | None:
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    try:
        path = api.hf_hub_download(
            hub.repo_id, "README.md", repo_type=hub.repo_type, revision=hub.revision
        )
    except (EntryNotFoundError, RepositoryNotFoundError):
        return None
    return Path(path).read_text(encoding="utf-8")


def readme_with_card(current: str | None, body: str, hub: HubTarget) -> str:
    """The repo's README with the generated section in place; nothing else in it changes.

    No README: a new one holding the section. Markers present: what lies between them is
    replaced. A README of the authors' own without markers: the section is appended.
    """
    block = f"{CARD_BEGIN}\n{body.rstrip()}\n{CARD_END}\n"
    if current is None:
        return f"---\ntags: [checkpoints, dvc]\n---\n\n# {hub.repo_id}\n\n{block}"
    start = current.find(CARD_BEGIN)
    if start < 0:
        return current.rstrip("\n") + "\n\n" + block
    end = current.find(CARD_END, start)
    if end < 0:
        raise PublishError(
            f"README.md on {hub.repo_id} has the ckpt:begin marker but not '{CARD_END}'; the "
            "DVC push is complete, the README was left alone. Restore the end marker (or remove "
            "the begin marker) on the Hub and publish again."
        )
    tail = current[end + len(CARD_END) :].lstrip("\n")
    return current[:start] + block + (("\n" + tail) if tail else "")


def card_section(
    root: Path,
    hub: HubTarget,
    registry: dict[str, Any],
    readable: dict[str, str],
    sha256: dict[str, str],
    md5s: dict[str, str],
) -> str:
    """The generated part of the README: how to get each checkpoint, with its hashes."""
    type_arg = f', repo_type="{hub.repo_type}"' if hub.repo_type != "model" else ""
    lines = ["## Checkpoints (published with DVC)", ""]
    if readable:
        lines += [
            "Each checkpoint with a path below can be fetched without DVC:",
            "",
            "```python",
            "from huggingface_hub import hf_hub_download",
            f'hf_hub_download("{hub.repo_id}", "{next(iter(readable.values()))}"{type_arg})',
            "```",
            "",
        ]
    lines += [
        "With the code repository checked out, `get_checkpoint(NAME)` fetches and verifies by name.",
        "`files/md5/...` holds the same bytes as DVC's content-addressed store; "
        f"`{dvcfiles.DVC_FILE}` pins them (directory md5 `{dvcfiles.tracked_dir_md5(root)}`).",
        "",
        "| name | path | size | md5 | sha256 | description |",
        "|---|---|---|---|---|---|",
    ]
    for artifact in registry.values():
        where = f"`{readable[artifact.path]}`" if artifact.path in readable else "(DVC only)"
        size = (root / artifact.path).stat().st_size
        lines.append(
            f"| {artifact.name} | {where} | {size} | {md5s.get(artifact.path, '')} | "
            f"{sha256[artifact.path]} | {artifact.desc} |"
        )
    return "\n".join(lines) + "\n"


def _uncommitted(root: Path, paths: list[str]) -> list[str]:
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--", *paths],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return list(paths)
    return [line[3:].strip() for line in proc.stdout.splitlines() if line.strip()]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
