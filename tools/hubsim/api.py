"""The JSON API under ``/api``: repos, revisions and refs, trees, preupload and commits."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from hubsim.errors import (
    HubHTTPError,
    bad_request,
    entry_not_found,
    repo_not_found,
    revision_not_found,
)
from hubsim.hashing import LFS_SIZE_THRESHOLD, is_sha256
from hubsim.storage import Commit, Entry, Repo, RevisionError
from hubsim.tree import add_last_commits, entry_json, listing

if TYPE_CHECKING:
    from hubsim.server import Handler

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
TYPE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
COMMITS_PAGE_SIZE = 50
MAX_INLINE_COMMIT_BYTES = 1 << 30  # the Hub caps a commit's inline payload at about 1 GB


# -- helpers shared with lfs.py and files.py -------------------------------------------------


def repo_url(h: Handler, repo_type: str, repo_id: str) -> str:
    return f"{h.base_url}/{TYPE_PREFIX[repo_type]}{repo_id}"


def valid_repo_id(repo_id: str) -> bool:
    parts = repo_id.split("/")
    return len(parts) == 2 and all(NAME_RE.fullmatch(p) and ".." not in p for p in parts)


def open_repo(h: Handler, repo_type: str, repo_id: str, write: bool = False) -> Repo:
    repo = h.server.store.get(repo_type, repo_id) if valid_repo_id(repo_id) else None
    if repo is None:
        raise repo_not_found(401 if h.caller.token is None and h.server.auth.tokens else 404)
    h.repo_key = f"{repo_type}s/{repo_id}"
    h.server.auth.check_read(h.caller, repo.private)
    if write:
        h.server.auth.check_write(h.caller)
    return repo


def resolve(repo: Repo, revision: str) -> Commit:
    try:
        return repo.commit(repo.resolve(revision))
    except RevisionError:
        raise revision_not_found(revision) from None


def flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def check_path(path: object) -> str:
    if not isinstance(path, str) or not path or path.startswith("/") or path.endswith("/"):
        raise bad_request(f"Invalid path in repo: {path!r}")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts) or parts[0] == ".git":
        raise bad_request(f"Invalid path in repo: {path!r}")
    return path


def _repo_type(t: str) -> str:
    return t[:-1]  # "models" -> "model"


# -- repos -----------------------------------------------------------------------------------


def create_repo(h: Handler) -> None:
    body = h.body.json()
    repo_type = body.get("type") or "model"
    if repo_type not in TYPE_PREFIX:
        raise bad_request(f"Invalid repo type: {repo_type!r}")
    repo_id = f"{body.get('organization') or h.caller.name}/{body.get('name')}"
    if not valid_repo_id(repo_id):
        raise bad_request(f"Invalid repo name: {repo_id}")
    h.server.auth.check_write(h.caller)
    h.repo_key = f"{repo_type}s/{repo_id}"
    private = body.get("visibility") == "private" or body.get("private") is True
    url = repo_url(h, repo_type, repo_id)
    if not h.server.store.create(repo_type, repo_id, private=private, author=h.caller.name):
        # exist_ok=True reads "url" from this 409.
        message = f"You already created this {repo_type} repo"
        h.send_json({"error": message, "url": url}, 409, {"X-Error-Message": message})
        return
    h.send_json({"url": url, "name": repo_id, "id": repo_id})


def delete_repo(h: Handler) -> None:
    body = h.body.json()
    repo_type = body.get("type") or "model"
    if repo_type not in TYPE_PREFIX:
        raise bad_request(f"Invalid repo type: {repo_type!r}")
    repo_id = f"{body.get('organization') or h.caller.name}/{body.get('name')}"
    open_repo(h, repo_type, repo_id, write=True)
    h.server.store.delete(repo_type, repo_id)
    h.send_json({})


def update_settings(h: Handler, t: str, repo_id: str) -> None:
    repo = open_repo(h, _repo_type(t), repo_id, write=True)
    body = h.body.json()
    if "visibility" in body:  # what the 2.x client sends; "protected" (Spaces) stays readable
        repo.set_meta(private=body["visibility"] == "private")
    elif "private" in body:
        repo.set_meta(private=bool(body["private"]))
    h.send_json({"private": repo.private})


def repo_info(h: Handler, t: str, repo_id: str, rev: str | None = None) -> None:
    repo_type = _repo_type(t)
    repo = open_repo(h, repo_type, repo_id)
    commit = resolve(repo, rev or "main")
    meta = repo.meta
    blobs = flag(h.q("blobs"))
    siblings = []
    for path in commit.paths:
        sibling: dict[str, Any] = {"rfilename": path}
        if blobs:
            e = commit.files[path]
            sibling |= {"size": e.size, "blobId": e.oid}
            if e.lfs:
                sibling["lfs"] = {"size": e.size, "sha256": e.sha256, "pointerSize": e.pointer_size}
        siblings.append(sibling)
    info: dict[str, Any] = {
        "_id": repo_id,
        "id": repo_id,
        "author": repo_id.split("/")[0],
        "sha": commit.id,
        "lastModified": commit.date,
        "createdAt": meta["createdAt"],
        "private": bool(meta.get("private")),
        "disabled": False,
        "gated": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": siblings,
    }
    if repo_type == "model":
        info["modelId"] = repo_id
    if blobs:
        info["usedStorage"] = sum(e.size for e in commit.files.values())
    h.send_json(info)


# -- trees -----------------------------------------------------------------------------------


def list_tree(h: Handler, t: str, repo_id: str, rev: str, path: str | None = None) -> None:
    repo = open_repo(h, _repo_type(t), repo_id)
    commit = resolve(repo, rev)
    path = (path or "").strip("/")
    recursive, expand = flag(h.q("recursive")), flag(h.q("expand"))
    entries = listing(commit, path, recursive)
    if entries is None:
        raise entry_not_found(path)
    limits = h.server.limits
    page_size = (limits.tree_page_size_expand if expand else limits.tree_page_size) or len(entries)
    try:
        start = int(h.q("cursor") or 0)
    except ValueError:
        raise bad_request("Invalid cursor") from None
    page = entries[start : start + max(page_size, 1)]
    if expand:
        add_last_commits(repo, commit, page)
    headers = {}
    if start + len(page) < len(entries):
        query = {k: v[0] for k, v in h.query.items()} | {"cursor": str(start + len(page))}
        url_path = h.path.split("?", 1)[0]
        headers["Link"] = f'<{h.base_url}{url_path}?{urlencode(query)}>; rel="next"'
    h.send_json(page, headers=headers)


def paths_info(h: Handler, t: str, repo_id: str, rev: str) -> None:
    repo = open_repo(h, _repo_type(t), repo_id)
    commit = resolve(repo, rev)
    raw = h.body.read(64 * 1024 * 1024)
    if "json" in h.headers.get("Content-Type", ""):
        form = json.loads(raw or b"{}")
        paths, expand = form.get("paths", []), bool(form.get("expand"))
    else:
        form = parse_qs(raw.decode(), keep_blank_values=True)
        paths, expand = form.get("paths", []), flag((form.get("expand") or [""])[0])
    h.server.limits.check_paths_per_info(len(paths))
    entries = [e for p in dict.fromkeys(paths) if (e := entry_json(commit, p.strip("/")))]
    if expand:
        add_last_commits(repo, commit, entries)
    h.send_json(entries)


# -- refs and history ------------------------------------------------------------------------


def list_refs(h: Handler, t: str, repo_id: str) -> None:
    repo = open_repo(h, _repo_type(t), repo_id)
    refs = repo.refs()

    def refs_of(kind: str, prefix: str) -> list[dict[str, str]]:
        return [
            {"name": n, "ref": f"{prefix}{n}", "targetCommit": c}
            for n, c in sorted(refs[kind].items())
        ]

    out: dict[str, Any] = {
        "branches": refs_of("branches", "refs/heads/"),
        "tags": refs_of("tags", "refs/tags/"),
        "converts": [],
    }
    if flag(h.q("include_prs")):
        out["pullRequests"] = []
    h.send_json(out)


def list_commits(h: Handler, t: str, repo_id: str, rev: str) -> None:
    repo = open_repo(h, _repo_type(t), repo_id)
    head = resolve(repo, rev)
    try:
        page = int(h.q("p") or 0)
    except ValueError:
        raise bad_request("Invalid page") from None
    start = page * COMMITS_PAGE_SIZE
    items = []
    has_more = False
    for i, c in enumerate(repo.history(head.id)):
        if i >= start + COMMITS_PAGE_SIZE:
            has_more = True
            break
        if i >= start:
            items.append(
                {
                    "id": c.id,
                    "title": c.title,
                    "message": c.message,
                    "date": c.date,
                    "authors": [{"user": c.author}],
                }
            )
    headers = {}
    if has_more:
        url_path = h.path.split("?", 1)[0]
        headers["Link"] = f'<{h.base_url}{url_path}?p={page + 1}>; rel="next"'
    h.send_json(items, headers=headers)


def create_branch(h: Handler, t: str, repo_id: str, branch: str) -> None:
    repo = open_repo(h, _repo_type(t), repo_id, write=True)
    body = h.body.json()
    if not NAME_RE.fullmatch(branch.replace("/", "-")) or branch.startswith("refs/"):
        raise bad_request(f"Invalid branch name: {branch!r}")
    with repo.lock:
        if branch in repo.refs()["branches"]:
            raise HubHTTPError(409, f"Reference already exists: refs/heads/{branch}")
        start = resolve(repo, body.get("startingPoint") or "main")
        if body.get("emptyBranch"):
            start = repo.write_commit(None, {}, f"Create empty branch {branch}", "", h.caller.name)
        repo.set_ref("branches", branch, start.id)
    h.send_json({})


def delete_branch(h: Handler, t: str, repo_id: str, branch: str) -> None:
    repo = open_repo(h, _repo_type(t), repo_id, write=True)
    with repo.lock:
        if branch not in repo.refs()["branches"]:
            raise revision_not_found(branch)
        if branch == "main":
            raise HubHTTPError(403, "You cannot delete the default branch")
        repo.set_ref("branches", branch, None)
    h.send_json({})


def create_tag(h: Handler, t: str, repo_id: str, rev: str) -> None:
    repo = open_repo(h, _repo_type(t), repo_id, write=True)
    body = h.body.json()
    tag = body.get("tag")
    if not isinstance(tag, str) or not NAME_RE.fullmatch(tag.replace("/", "-")):
        raise bad_request(f"Invalid tag name: {tag!r}")
    with repo.lock:
        if tag in repo.refs()["tags"]:
            raise HubHTTPError(409, f"Tag already exists: {tag}")
        repo.set_ref("tags", tag, resolve(repo, rev).id)
    h.send_json({})


def delete_tag(h: Handler, t: str, repo_id: str, rev: str) -> None:
    repo = open_repo(h, _repo_type(t), repo_id, write=True)
    with repo.lock:
        if rev not in repo.refs()["tags"]:
            raise revision_not_found(rev)
        repo.set_ref("tags", rev, None)
    h.send_json({})


# -- uploads ---------------------------------------------------------------------------------


def _lfs_patterns(h: Handler, commit: Commit) -> list[str]:
    entry = commit.files.get(".gitattributes")
    if entry is None or entry.lfs:
        return []
    text = h.server.store.blobs.path(entry.sha256).read_text(errors="replace")
    return [ln.split()[0] for ln in text.splitlines() if "filter=lfs" in ln and ln.split()]


def upload_mode(path: str, size: int, sample: bytes, patterns: list[str]) -> str:
    """Like the Hub: large, binary-looking or .gitattributes-tracked files go to LFS."""
    if size >= LFS_SIZE_THRESHOLD or b"\0" in sample:
        return "lfs"
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        target = path if "/" in pattern else name
        if fnmatch.fnmatchcase(target, pattern.lstrip("/")):
            return "lfs"
    return "regular"


def preupload(h: Handler, t: str, repo_id: str, rev: str) -> None:
    repo = open_repo(h, _repo_type(t), repo_id, write=True)
    commit = resolve(repo, rev)
    files = h.body.json().get("files")
    if not isinstance(files, list):
        raise bad_request("Expected a JSON body with a 'files' list")
    patterns = _lfs_patterns(h, commit)
    out = []
    for f in files:
        path = check_path(f.get("path"))
        try:
            sample = base64.b64decode(f.get("sample") or "")
            size = int(f.get("size") or 0)
        except (ValueError, binascii.Error, TypeError):
            raise bad_request(f"Invalid sample or size for {path!r}") from None
        mode = upload_mode(path, size, sample, patterns)
        answer: dict[str, Any] = {"path": path, "uploadMode": mode, "shouldIgnore": False}
        existing = commit.files.get(path)
        if existing is not None:
            if mode == "lfs":
                answer["oid"] = existing.sha256
            elif not existing.lfs:
                answer["oid"] = existing.oid
        out.append(answer)
    h.send_json({"files": out, "commitOid": commit.id})


def _parse_commit_body(h: Handler) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    raw = h.body.read(MAX_INLINE_COMMIT_BYTES)
    header: dict[str, Any] | None = None
    ops: list[tuple[str, dict[str, Any]]] = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            key, value = item["key"], item["value"]
        except (ValueError, KeyError, TypeError):
            raise bad_request(
                f"Commit payload line {n} is not a {{key, value}} JSON object"
            ) from None
        if key == "header":
            header = value
        elif key in ("file", "lfsFile", "deletedFile", "deletedFolder"):
            ops.append((key, value))
        else:
            raise bad_request(f"Unknown commit operation {key!r} on line {n}")
    if header is None:
        raise bad_request("Commit payload has no header line")
    return header, ops


def commit(h: Handler, t: str, repo_id: str, rev: str) -> None:
    repo_type = _repo_type(t)
    repo = open_repo(h, repo_type, repo_id, write=True)
    if flag(h.q("create_pr")):
        raise HubHTTPError(501, "The local hub does not support pull requests (create_pr)")
    header, ops = _parse_commit_body(h)
    h.server.limits.check_files_per_commit(len(ops))
    blobs = h.server.store.blobs
    # Decode and store inline contents before taking the lock: it is the slow part.
    staged: list[tuple[str, str, Entry | None]] = []
    for key, value in ops:
        path = value.get("path")
        if key == "deletedFolder" and isinstance(path, str):
            path = path.rstrip("/")
        path = check_path(path)
        if key == "file":
            try:
                data = (
                    base64.b64decode(value.get("content", ""), validate=True)
                    if value.get("encoding", "base64") == "base64"
                    else str(value.get("content", "")).encode()
                )
            except (binascii.Error, ValueError):
                raise bad_request(f"Invalid base64 content for {path!r}") from None
            staged.append((key, path, Entry.regular(data, blobs.put_bytes(data))))
        elif key == "lfsFile":
            oid = value.get("oid")
            stored = blobs.size(oid) if is_sha256(oid) else None
            size = value.get("size", stored)
            if stored is None or stored != size:
                raise bad_request(
                    f"LFS object {oid} for {path!r} was not uploaded (or has another size): "
                    "upload it through the LFS batch API before committing"
                )
            staged.append((key, path, Entry.large(oid, stored)))
        else:
            staged.append((key, path, None))

    limiter = h.server.commit_limiter
    with repo.lock:
        refs = repo.refs()
        branch = rev.removeprefix("refs/heads/")
        if branch not in refs["branches"]:
            try:
                repo.resolve(rev)
            except RevisionError:
                raise revision_not_found(rev) from None
            raise bad_request(f"Invalid rev id: {rev} is not a branch; commits go to branches")
        head = repo.commit(refs["branches"][branch])
        parent = header.get("parentCommit")
        if parent and parent != head.id:
            raise HubHTTPError(412, "A commit has happened since. Please refresh and try again.")
        limiter.check(h.repo_key or "")
        files = dict(head.files)
        for key, path, entry in staged:
            if entry is not None:
                files[path] = entry
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise entry_not_found(f"{path} (A file with this name doesn't exist)")
            else:
                doomed = [p for p in files if p.startswith(f"{path}/")]
                if not doomed:
                    raise entry_not_found(f"{path} (A folder with this name doesn't exist)")
                for p in doomed:
                    del files[p]
        new = repo.write_commit(
            head.id,
            files,
            str(header.get("summary") or "Upload files"),
            str(header.get("description") or ""),
            h.caller.name,
        )
        repo.set_ref("branches", branch, new.id)
        limiter.record(h.repo_key or "")
    h.send_json(
        {
            "success": True,
            "commitOid": new.id,
            "commitUrl": f"{repo_url(h, repo_type, repo_id)}/commit/{new.id}",
            "pullRequestUrl": None,
        }
    )


# -- small endpoints -------------------------------------------------------------------------


def whoami(h: Handler) -> None:
    if h.caller.token is None:
        raise HubHTTPError(401, "Invalid user token.")
    role = "write" if h.caller.can_write else "read"
    h.send_json(
        {
            "type": "user",
            "id": h.caller.name,
            "name": h.caller.name,
            "fullname": h.caller.name,
            "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "local", "role": role}},
        }
    )


def validate_yaml(h: Handler) -> None:
    h.body.read()
    h.send_json({"errors": [], "warnings": []})


def agent_harnesses(h: Handler) -> None:
    h.send_json({"standardEnvVars": [], "harnesses": {}})
