"""Tree entries as the Hub's JSON (tree listings, paths-info, repo siblings)."""

from __future__ import annotations

from typing import Any

from hubsim.storage import Commit, Entry, Repo


def file_json(path: str, e: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "file", "path": path, "oid": e.oid, "size": e.size}
    if e.lfs:
        out["lfs"] = {"oid": e.sha256, "size": e.size, "pointerSize": e.pointer_size}
    return out


def dir_json(path: str, oid: str) -> dict[str, Any]:
    return {"type": "directory", "path": path, "oid": oid, "size": 0}


def entry_json(commit: Commit, path: str) -> dict[str, Any] | None:
    """The entry for a file or directory path, or None if the tree has neither."""
    if path in commit.files:
        return file_json(path, commit.files[path])
    if path in commit.dirs:
        return dir_json(path, commit.dirs[path])
    return None


def listing(commit: Commit, path: str, recursive: bool) -> list[dict[str, Any]] | None:
    """Entries below directory ``path`` ("" = root), sorted by path; None if it is no directory."""
    if path and path not in commit.dirs:
        return None
    prefix = f"{path}/" if path else ""

    def wanted(p: str) -> bool:
        return p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])

    entries = [file_json(p, e) for p, e in commit.files.items() if wanted(p)]
    entries += [dir_json(d, oid) for d, oid in commit.dirs.items() if wanted(d)]
    entries.sort(key=lambda x: x["path"])
    return entries


def add_last_commits(repo: Repo, commit: Commit, entries: list[dict[str, Any]]) -> None:
    """``expand=true``: the newest commit that changed each entry (walks first-parent history)."""
    for entry in entries:
        last = commit
        for older in repo.history(commit.id):
            if _oid(older, entry["path"]) != entry["oid"]:
                break
            last = older
        entry["lastCommit"] = {"id": last.id, "title": last.title, "date": last.date}


def _oid(commit: Commit, path: str) -> str | None:
    if path in commit.files:
        return commit.files[path].oid
    return commit.dirs.get(path)
