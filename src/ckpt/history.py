"""One checkpoint's history: every commit where the md5 pinned for it changed, newest first.

A checkpoint's versions are the git history of ``ckpts.dvc`` (its md5 is in the ``.dir`` manifest
that file pins) and ``dvc.yaml`` (which file the name means). ``git log`` lists the commits that
touched either, with their parents rewritten to the nearest such commit; a commit is a change of
NAME when NAME's md5 there differs from its md5 at the commit's first (rewritten) parent. Changes
of other checkpoints, and edits of ``dvc.yaml`` that leave NAME's bytes alone, are not listed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ckpt import dvcfiles
from ckpt.errors import CheckpointNotFound, CheckpointUnavailable, RegistryError
from ckpt.registry import REGISTRY_FILE
from ckpt.revisions import git, resolve, revisions_of_commits

ADDED, CHANGED, REMOVED, UNKNOWN = "added", "changed", "removed", "unknown"
# The oldest commit a shallow clone has: its bytes are known, whether they changed there is not.
SHALLOW = "shallow"


@dataclass
class Change:
    commit: str
    date: str  # committer date, ISO 8601
    subject: str
    status: str  # added, changed, removed, shallow, or unknown (manifest not available)
    md5: str | None
    size: int | None  # known when the object is in the local DVC cache
    path: str | None
    tags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_UNKNOWN_MD5 = "?"


def history(root: Path, name: str, rev: str = "HEAD") -> tuple[list[Change], list[str]]:
    """(changes newest first, warnings) for the checkpoint ``name`` in the history of ``rev``."""
    start = resolve(root, rev)
    commits = _log(root, start)
    revisions = revisions_of_commits(root, [c for c, *_ in commits])
    warnings: list[str] = []
    manifests = _manifests(
        root, {s.dir_md5 for s in revisions.values() if name in s.registry}, warnings
    )

    def md5_at(commit: str | None) -> str | None:
        revision = revisions.get(commit) if commit else None
        if revision is None or name not in revision.registry or revision.dir_md5 is None:
            return None
        manifest = manifests.get(revision.dir_md5)
        if manifest is None:
            return _UNKNOWN_MD5
        return manifest.get(dvcfiles.manifest_key(revision.registry[name].path))

    if not any(name in s.registry for s in revisions.values()):
        raise CheckpointNotFound(
            f"No checkpoint named '{name}' in {REGISTRY_FILE} at any commit in the history of "
            f"{rev}. `ckpt list` shows the current names."
        )
    tags = _tags_by_commit(root)
    boundary = _shallow_boundary(root)
    cache = dvcfiles.cache_dir(root)
    changes = []
    for commit, parent, date, subject in commits:
        md5, before = md5_at(commit), md5_at(parent)
        if md5 == before:
            continue
        if md5 == _UNKNOWN_MD5:
            status, md5 = UNKNOWN, None
        elif md5 is None:
            status = REMOVED
        elif before is None:
            status = SHALLOW if commit in boundary else ADDED
        else:
            status = CHANGED
        size = None
        if md5 is not None:
            obj = dvcfiles.object_path(cache, md5)
            size = obj.stat().st_size if obj.is_file() else None
        artifact = revisions[commit].registry.get(name)
        changes.append(
            Change(
                commit=commit,
                date=date,
                subject=subject,
                status=status,
                md5=md5,
                size=size,
                path=artifact.path if artifact else None,
                tags=[t for t in tags.get(commit, []) if _shown(t, name)],
            )
        )
    if boundary:
        warnings.append(
            "this clone is shallow, so older history is missing. Fetch it with "
            "`git fetch --unshallow --tags` (GitHub Actions: actions/checkout with fetch-depth: 0)."
        )
    return changes, warnings


def _shallow_boundary(root: Path) -> set[str]:
    """The commits whose parents a shallow clone lacks (none in a full clone)."""
    path = git(root, "rev-parse", "--path-format=absolute", "--git-path", "shallow").stdout
    try:
        return set(Path(path.decode().strip()).read_text().split())
    except FileNotFoundError:
        return set()


def _log(root: Path, start: str) -> list[tuple[str, str | None, str, str]]:
    """(commit, first rewritten parent, date, subject) of each commit touching the two files."""
    out = git(
        root, "log", "--parents", "--format=%x1e%H%x1f%P%x1f%cI%x1f%s", start, "--",
        REGISTRY_FILE, dvcfiles.DVC_FILE,
    ).stdout.decode("utf-8", errors="replace")  # fmt: skip
    commits = []
    for record in out.split("\x1e")[1:]:
        commit, parents, date, subject = record.rstrip("\n").split("\x1f", 3)
        # With --parents, %P lists the parents rewritten to the nearest commit that is listed.
        first = parents.split()[0] if parents.split() else None
        commits.append((commit, first, date, subject))
    return commits


def _manifests(
    root: Path, dir_md5s: set[str | None], warnings: list[str]
) -> dict[str, dict[str, str]]:
    """dir md5 -> manifest, fetching the ones missing from the cache (they are small)."""
    from ckpt.settings import skip_downloads

    def load(dir_md5: str) -> dict[str, str] | None:
        try:
            return dvcfiles.load_manifest(root, dir_md5)
        except RegistryError as exc:  # a damaged manifest in the cache: say so, carry on
            warnings.append(str(exc))
            return None

    wanted = sorted(d for d in dir_md5s if d)
    missing = [d for d in wanted if not dvcfiles.object_path(dvcfiles.cache_dir(root), d).exists()]
    if missing and not skip_downloads():
        from ckpt import fetch

        try:
            fetch.fetch_objects(root, missing, f"{len(missing)} manifest(s) of past commits")
        except CheckpointUnavailable as exc:
            warnings.append(f"{str(exc).splitlines()[0]} Entries without one show as unknown.")
    elif missing:
        warnings.append(
            f"{len(missing)} manifest(s) of past commits are not in the DVC cache and "
            "SKIP_CHECKPOINT_DOWNLOAD is set: those entries show as unknown."
        )
    manifests = {}
    for d in wanted:
        manifest = load(d)
        if manifest is not None:
            manifests[d] = manifest
    return manifests


def _tags_by_commit(root: Path) -> dict[str, list[str]]:
    out = git(
        root, "for-each-ref", "--sort=creatordate",
        "--format=%(refname:short)%00%(objectname)%00%(*objectname)", "refs/tags",
    ).stdout.decode()  # fmt: skip
    by_commit: dict[str, list[str]] = {}
    for line in out.splitlines():
        tag, obj, peeled = [*line.split("\0"), "", ""][:3]
        by_commit.setdefault(peeled or obj, []).append(tag)
    return by_commit


def _shown(tag: str, name: str) -> bool:
    """Tags of this checkpoint and plain tags (v1.0); not other checkpoints' NAME@VERSION tags."""
    if "@" not in tag:
        return True
    return tag.rsplit("@", 1)[0] == name
