"""Which handler answers which request, and the ``kind`` name faults and the log use for it."""

from __future__ import annotations

import re

from hubsim import admin, api, files, lfs
from hubsim.server import Route

_T = r"(?P<t>models|datasets|spaces)"
_REPO = r"(?P<repo_id>[^/]+/[^/]+)"
_PREFIX = r"(?P<prefix>datasets/|spaces/)?"
_API = rf"/api/{_T}/{_REPO}"


def _r(methods: str, pattern: str, kind: str, func) -> Route:  # type: ignore[no-untyped-def]
    return Route(tuple(methods.split()), re.compile(pattern), kind, func)


ROUTES: list[Route] = [
    _r("POST", r"/api/repos/create", "create-repo", api.create_repo),
    _r("DELETE", r"/api/repos/delete", "delete-repo", api.delete_repo),
    _r("GET", r"/api/whoami-v2", "whoami", api.whoami),
    _r("POST", r"/api/validate-yaml", "validate-yaml", api.validate_yaml),
    _r("GET", r"/api/agent-harnesses", "telemetry", api.agent_harnesses),
    _r("GET", rf"{_API}(?:/revision/(?P<rev>[^/]+))?", "repo-info", api.repo_info),
    _r("PUT", rf"{_API}/settings", "settings", api.update_settings),
    _r("GET", rf"{_API}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "tree", api.list_tree),
    _r("POST", rf"{_API}/paths-info/(?P<rev>[^/]+)", "paths-info", api.paths_info),
    _r("GET", rf"{_API}/refs", "refs", api.list_refs),
    _r("GET", rf"{_API}/commits/(?P<rev>[^/]+)", "commits", api.list_commits),
    _r("POST", rf"{_API}/preupload/(?P<rev>[^/]+)", "preupload", api.preupload),
    _r("POST", rf"{_API}/commit/(?P<rev>[^/]+)", "commit", api.commit),
    _r("POST", rf"{_API}/branch/(?P<branch>[^/]+)", "branch", api.create_branch),
    _r("DELETE", rf"{_API}/branch/(?P<branch>[^/]+)", "branch", api.delete_branch),
    _r("POST", rf"{_API}/tag/(?P<rev>[^/]+)", "tag", api.create_tag),
    _r("DELETE", rf"{_API}/tag/(?P<rev>[^/]+)", "tag", api.delete_tag),
    _r("POST", rf"/{_PREFIX}{_REPO}\.git/info/lfs/objects/batch", "lfs-batch", lfs.batch),
    _r("POST", rf"/{_PREFIX}{_REPO}\.git/info/lfs/objects/verify", "lfs-verify", lfs.verify),
    _r("PUT", r"/_lfs/upload/(?P<oid>[0-9a-f]{64})", "lfs-upload", lfs.upload),
    _r("PUT", r"/_lfs/part/(?P<oid>[0-9a-f]{64})/(?P<part>\d+)", "lfs-part", lfs.upload_part),
    _r("POST", r"/_lfs/complete/(?P<oid>[0-9a-f]{64})", "lfs-complete", lfs.complete),
    _r("GET", r"/_admin/health", "admin", admin.health),
    _r("GET POST DELETE", r"/_admin/faults", "admin", admin.faults),
    _r("GET POST", r"/_admin/limits", "admin", admin.limits),
    _r(
        "GET HEAD",
        rf"/{_PREFIX}{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)",
        "resolve",
        files.resolve_file,
    ),
]
