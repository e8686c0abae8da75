"""The maintainer's publish path: check, ``dvc add ckpts``, ``dvc push`` everywhere, mirror.

Every check that can fail runs before anything is written or uploaded: credentials (a token with
write scope for each Hub remote, access for each S3 remote) and the registry against the files.
The push itself is DVC's (``dvc push -r NAME``, through the hf:// remote for the Hub). For each Hub
remote, one more commit places every checkpoint under its readable path plus a model card, so
people without DVC can ``hf_hub_download`` a checkpoint by name; the Hub's LFS store deduplicates
by sha256, so those bytes are not uploaded a second time.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ckpt import dvcfiles
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
    committed: str | None = None  # with a version: the commit that pins what was published
    tagged: list[str] = field(default_factory=list)  # with a version: NAME@vX.Y.Z tags created


def publish(
    root: Path, remotes: list[str] | None = None, *, mirror: bool = True, version: str | None = None
) -> Report:
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
    _check_registry_matches_files(root)
    if version is not None:
        from ckpt import tags

        version = tags.check(root, version)

    report = Report()
    _dvc(root, "add", "--quiet", TRACKED_DIR)  # quiet: its advice on what to commit comes below
    for remote in selected:
        log.info("Pushing to remote '%s' (%s) ...", remote.name, remote.url)
        _dvc(root, "push", "-r", remote.name)
        report.pushed.append(remote.name)
    if mirror:
        for hub in hubs:
            report.mirrored[hub.remote] = mirror_to_hub(root, hub)
    report.to_commit = _uncommitted(root, [dvcfiles.DVC_FILE, "dvc.yaml"])
    if version is not None:
        report.committed, report.tagged = tags.commit_and_tag(root, version, report.to_commit)
        report.to_commit = []
    return report


def _check_hub(name: str, url: str, options: dict[str, str]) -> HubTarget:
    from dvc_hf.fs import HfFileSystem, hub_disables_xet

    # The remote's own reading of its URL and options (endpoint, revision), as `dvc push` sees them.
    fs = HfFileSystem(**options)
    repo, _prefix = fs.locate(url)
    endpoint = fs.endpoint
    hub_disables_xet(endpoint)
    import httpx2
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    from dvc_hf import retry

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
    except httpx2.TransportError as exc:
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
    except httpx2.TransportError as exc:
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


def _check_registry_matches_files(root: Path) -> None:
    registry = load_registry(root)
    expected = set(unique_paths(registry))
    base = root / TRACKED_DIR
    if not base.is_dir():
        raise RegistryError(f"{base} does not exist: put the checkpoint files there first.")
    present = {
        p.relative_to(root).as_posix()
        for p in base.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(base).parts)
    }
    extra, missing = sorted(present - expected), sorted(expected - present)
    if extra or missing:
        lines = [f"  {p}: no entry in dvc.yaml artifacts" for p in extra]
        lines += [
            f"  {p}: in dvc.yaml ({', '.join(a.name for a in registry.values() if a.path == p)}) "
            "but no file"
            for p in missing
        ]
        raise RegistryError(
            "The registry and ckpts/ disagree; nothing was published:\n"
            + "\n".join(lines)
            + "\nAdd an entry for each new file (see CONTRIBUTING.md) and put each registered "
            "file in place."
        )


def _dvc(root: Path, *args: str) -> None:
    # The real CLI, so the maintainer sees DVC's own progress bars and messages.
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, check=False)
    if proc.returncode != 0:
        raise PublishError(
            f"`dvc {' '.join(args)}` failed (exit {proc.returncode}); see its message above. "
            "Objects already pushed stay on the remote; re-run to finish."
        )


def mirror_to_hub(root: Path, hub: HubTarget) -> str:
    """One commit: every checkpoint at its readable path, plus README.md. Returns the commit URL."""
    from huggingface_hub import CommitOperationAdd, HfApi

    registry = load_registry(root)
    ops = []
    for path in unique_paths(registry):
        readable = PurePosixPath(path).relative_to(TRACKED_DIR).as_posix()
        ops.append(CommitOperationAdd(path_in_repo=readable, path_or_fileobj=str(root / path)))
    manifest = dvcfiles.expected_md5s(root, dvcfiles.tracked_dir_md5(root), registry.values()) or {}
    card = model_card(root, hub, registry, {op.path_in_repo: op for op in ops}, manifest)
    ops.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()))
    api = HfApi(endpoint=hub.endpoint, token=hub.token)
    info = api.create_commit(
        hub.repo_id,
        ops,
        commit_message=f"Mirror checkpoints for DVC {dvcfiles.tracked_dir_md5(root)}",
        repo_type=hub.repo_type,
        revision=hub.revision,
    )
    return info.commit_url


def model_card(
    root: Path, hub: HubTarget, registry: dict[str, Any], ops: dict[str, Any], md5s: dict[str, str]
) -> str:
    lines = [
        "---",
        "tags: [checkpoints, dvc, chemeleon2]",
        "---",
        "",
        f"# {hub.repo_id}",
        "",
        "Model checkpoints published with DVC. Each checkpoint is also stored under its readable "
        "path, so it can be fetched without DVC:",
        "",
        "```python",
        "from huggingface_hub import hf_hub_download",
        f'hf_hub_download("{hub.repo_id}", "{next(iter(ops))}"'
        + (f', repo_type="{hub.repo_type}")' if hub.repo_type != "model" else ")"),
        "```",
        "",
        "With the code repository checked out, `get_checkpoint(NAME)` fetches and verifies by name.",
        "`files/md5/...` holds the same bytes as DVC's content-addressed store; "
        f"`{dvcfiles.DVC_FILE}` pins them (directory md5 `{dvcfiles.tracked_dir_md5(root)}`).",
        "",
        "| name | path | size | md5 | sha256 | description |",
        "|---|---|---|---|---|---|",
    ]
    for artifact in registry.values():
        readable = PurePosixPath(artifact.path).relative_to(TRACKED_DIR).as_posix()
        info = ops[readable].upload_info
        lines.append(
            f"| {artifact.name} | `{readable}` | {info.size} | {md5s.get(artifact.path, '')} | "
            f"{info.sha256.hex()} | {artifact.desc} |"
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
