"""DVC's artifact version tags: ``NAME@vX.Y.Z``, annotated, on the commit that pins the bytes.

``dvc artifacts get . NAME --rev vX.Y.Z`` finds a version through gto (``gto.tag.find``): it lists
the repository's tags, keeps the ones matching ``NAME@v<semver>`` that are annotated (lightweight
tags are ignored) and downloads NAME as of the commit the tag points at. ``ckpt publish --version``
creates exactly such tags, one per checkpoint whose bytes changed since its previous version tag,
so the same tag also works as ``get_checkpoint(NAME, rev="NAME@vX.Y.Z")``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ckpt import dvcfiles
from ckpt.errors import CheckpointUnavailable, CkptError, RevisionNotFound
from ckpt.registry import TRACKED_DIR, load_registry
from ckpt.revisions import Revision, git, revision_of_commit

# gto.constants.semver: DVC accepts `v` + this as a version, nothing else.
_SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_VERSION = re.compile(f"v{_SEMVER}")
_TAG = re.compile(f"(?P<name>.+)@(?P<version>v{_SEMVER})")


class TagError(CkptError, RuntimeError):
    """A version cannot be tagged (bad version, tag already taken, git refused)."""


def normalize(version: str) -> str:
    """``1.2.0`` or ``v1.2.0`` -> ``v1.2.0``; TagError for anything DVC would not accept."""
    v = version.strip()
    if not v.startswith("v"):
        v = "v" + v
    if not _VERSION.fullmatch(v):
        raise TagError(
            f"'{version}' is not a version DVC understands: artifact versions are semantic "
            "versions such as 1.0.0, 0.2.1 or 1.0.0-rc.1 (tagged as NAME@v1.0.0)."
        )
    return v


def tag_name(name: str, version: str) -> str:
    # gto writes a dirname separator ':' as '=' in tags; registry names never contain either.
    return f"{name.replace(':', '=')}@{version}"


def check(root: Path, version: str) -> str:
    """Before publishing anything: the normalized version, refusing one already tagged."""
    v = normalize(version)
    try:
        existing = set(git(root, "tag", "--list", f"*@{v}").stdout.decode().split())
    except RevisionNotFound as exc:
        raise TagError(f"Cannot tag version {v}: {exc}") from None
    names = load_registry(root)
    taken = sorted(t for t in existing if t.rsplit("@", 1)[0] in names)
    if taken:
        raise TagError(
            f"Version {v} is already published ({', '.join(taken)}); nothing was done. Pick a "
            f"new version, or delete the tags first (`git tag -d {' '.join(taken)}`)."
        )
    return v


def commit_and_tag(root: Path, version: str, to_commit: list[str]) -> tuple[str | None, list[str]]:
    """Commit the pins (if changed), then tag each checkpoint whose md5 changed since its newest
    version tag (or that has none). Returns (the new commit or None, the tags created)."""
    committed = None
    if to_commit:
        _git(root, "add", "--", *to_commit)  # the first publish creates ckpts.dvc
        _git(root, "commit", "--quiet", "-m", f"Publish checkpoints {version}", "--", *to_commit)
        committed = _git(root, "rev-parse", "HEAD")
    head = _git(root, "rev-parse", "--verify", "HEAD^{commit}")
    revision = revision_of_commit(root, "HEAD", head)
    now = _md5s(root, revision)
    previous = latest_versions(root)
    created = []
    for name, artifact in revision.registry.items():
        md5 = now.get(artifact.path)
        prev = previous.get(name)
        if prev is not None and md5 is not None:
            before = revision_of_commit(root, prev[1], prev[2])
            old = before.registry.get(name)
            if old is not None and _md5s(root, before).get(old.path) == md5:
                continue
        tag = tag_name(name, version)
        message = f"{name} {version}\n\n{artifact.path} md5 {md5}\n"
        _git(root, "tag", "--annotate", "--message", message, tag, head)
        created.append(tag)
    return committed, created


def latest_versions(root: Path) -> dict[str, tuple[str, str, str]]:
    """name -> (version, tag, commit) of its greatest ``NAME@v<semver>`` tag, as gto orders them."""
    out = _git(
        root, "for-each-ref", "--format=%(refname:short)%00%(objectname)%00%(*objectname)",
        "refs/tags",
    )  # fmt: skip
    best: dict[str, tuple[tuple, str, str, str]] = {}
    for line in out.splitlines():
        tag, _obj, peeled = [*line.split("\0"), "", ""][:3]
        m = _TAG.fullmatch(tag)
        if m is None or not peeled:  # lightweight tags are not versions to DVC
            continue
        key = _semver_key(m["version"])
        name = m["name"].replace("=", ":")
        if name not in best or key > best[name][0]:
            best[name] = (key, m["version"], tag, peeled)
    return {n: (v, t, c) for n, (_, v, t, c) in best.items()}


def _semver_key(version: str) -> tuple:
    m = _VERSION.fullmatch(version)
    assert m is not None
    major, minor, patch, pre = int(m[1]), int(m[2]), int(m[3]), m[4]
    # A pre-release sorts before its release; numeric identifiers compare as numbers.
    pre_key = (
        (1,)
        if pre is None
        else (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    )
    return (major, minor, patch, pre_key)


def _md5s(root: Path, revision: Revision) -> dict[str, str]:
    """Path -> md5 at a revision, fetching its manifest if this checkout does not have it."""
    if revision.dir_md5 is None:
        return {}
    manifest = dvcfiles.load_manifest(root, revision.dir_md5)
    if manifest is None:
        from ckpt import fetch

        try:
            fetch.fetch_objects(
                root, [revision.dir_md5], f"the manifest pinned at {revision.label}"
            )
        except CheckpointUnavailable:
            return {}  # unknown: counted as changed, so the version is tagged rather than lost
        manifest = dvcfiles.load_manifest(root, revision.dir_md5) or {}
    return {f"{TRACKED_DIR}/{rel}": md5 for rel, md5 in manifest.items()}


def _git(root: Path, *args: str) -> str:
    try:
        return git(root, *args).stdout.decode().strip()
    except RevisionNotFound as exc:
        raise TagError(
            f"Tagging stopped: {exc}\nWhat was pushed stays pushed (re-publishing uploads "
            "nothing): fix the cause, then run `ckpt publish --version` again."
        ) from None
