"""Wire-level behaviour the client depends on, checked with plain HTTP, plus storage properties."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers.hub import LocalHub
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

MiB = 1024 * 1024


def request(
    hub: LocalHub, method: str, url: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url if url.startswith("http") else hub.url + url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_resolve_headers_and_ranges(api: HfApi, repo: str, local_hub: LocalHub) -> None:
    api.upload_file(path_or_fileobj=b"0123456789", path_in_repo="digits.txt", repo_id=repo)
    lfs = os.urandom(2 * MiB)
    api.upload_file(path_or_fileobj=lfs, path_in_repo="w.bin", repo_id=repo)
    sha = api.repo_info(repo).sha

    status, h, body = request(local_hub, "HEAD", f"/{repo}/resolve/main/digits.txt")
    assert status == 200 and body == b""
    assert h["X-Repo-Commit"] == sha and h["Content-Length"] == "10"
    git_oid = hashlib.sha1(b"blob 10\0" + b"0123456789").hexdigest()
    assert h["ETag"] == f'"{git_oid}"' and "Content-Encoding" not in h

    status, h, _ = request(local_hub, "HEAD", f"/{repo}/resolve/{sha}/w.bin")
    assert h["X-Linked-Etag"] == f'"{hashlib.sha256(lfs).hexdigest()}"'
    assert h["X-Linked-Size"] == str(len(lfs))

    url = f"/{repo}/resolve/main/digits.txt"
    status, h, body = request(local_hub, "GET", url, headers={"Range": "bytes=2-5"})
    assert (status, body, h["Content-Range"]) == (206, b"2345", "bytes 2-5/10")
    assert request(local_hub, "GET", url, headers={"Range": "bytes=7-"})[2] == b"789"
    assert request(local_hub, "GET", url, headers={"Range": "bytes=-3"})[2] == b"789"
    assert request(local_hub, "GET", url, headers={"Range": "bytes=8-100"})[2] == b"89"
    status, h, _ = request(local_hub, "GET", url, headers={"Range": "bytes=10-"})
    assert status == 416 and h["Content-Range"] == "bytes */10"
    status, _, body = request(local_hub, "GET", f"/{repo}/resolve/main/w.bin",
                              headers={"Range": f"bytes={MiB}-{MiB + 99}"})  # fmt: skip
    assert status == 206 and body == lfs[MiB : MiB + 100]

    status, h, _ = request(local_hub, "HEAD", f"/{repo}/resolve/main/nope.txt")
    assert status == 404 and h["X-Error-Code"] == "EntryNotFound"
    status, h, _ = request(local_hub, "HEAD", f"/{repo}/resolve/nobranch/digits.txt")
    assert status == 404 and h["X-Error-Code"] == "RevisionNotFound"
    status, h, _ = request(local_hub, "HEAD", "/me/none/resolve/main/digits.txt")
    assert status == 404 and h["X-Error-Code"] == "RepoNotFound"


def _batch(hub: LocalHub, repo: str, data: bytes) -> dict:
    payload = {
        "operation": "upload",
        "transfers": ["basic", "multipart"],
        "objects": [{"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}],
        "hash_algo": "sha256",
    }
    status, _, body = request(hub, "POST", f"/{repo}.git/info/lfs/objects/batch",
                              json.dumps(payload).encode())  # fmt: skip
    assert status == 200
    return json.loads(body)["objects"][0]


def test_lfs_upload_urls_are_signed_and_checked(repo: str, local_hub: LocalHub) -> None:
    data = os.urandom(100_000)
    href = _batch(local_hub, repo, data)["actions"]["upload"]["href"]
    tampered = href.replace("size=100000", "size=99999")
    assert request(local_hub, "PUT", tampered, data[:99999])[0] == 403
    assert request(local_hub, "PUT", href.split("&sig=")[0] + "&sig=00", data)[0] == 403
    status, h, _ = request(local_hub, "PUT", href, os.urandom(100_000))
    assert status == 400 and "sha256 mismatch" in h["X-Error-Message"]
    # Nothing stored under the announced sha256 (its two-hex-digit folder may hold other blobs).
    sha = hashlib.sha256(data).hexdigest()
    assert not (local_hub.data_dir / "blobs" / sha[:2] / sha[2:]).exists()

    def chunks():  # chunked transfer encoding, as a streaming client would send
        for i in range(0, len(data), 30_000):
            yield data[i : i + 30_000]

    parts = urlsplit(href)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    conn.request("PUT", f"{parts.path}?{parts.query}", body=chunks(), encode_chunked=True)
    assert conn.getresponse().status == 200
    conn.close()
    assert "actions" not in _batch(local_hub, repo, data)  # now stored: nothing to upload


def test_multipart_upload_through_the_client(hub_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(multipart_threshold="1MiB", multipart_chunk_size="256KiB")
    api = HfApi(endpoint=hub.url, token=False)
    api.create_repo("me/mp")
    data = os.urandom(MiB + 300_000)
    api.upload_file(path_or_fileobj=data, path_in_repo="mp.bin", repo_id="me/mp")
    assert hub.count(kind="lfs-part", status=200) == 6
    assert hub.count(kind="lfs-complete", status=200) == 1
    assert hub.count(kind="lfs-verify", status=200) == 1
    path = hf_hub_download("me/mp", "mp.bin", endpoint=hub.url, cache_dir=tmp_path / "c")
    assert Path(path).read_bytes() == data


def test_multipart_parts_out_of_order_and_corrupt(hub_factory) -> None:  # type: ignore[no-untyped-def]
    hub = hub_factory(multipart_threshold="1KiB", multipart_chunk_size="1KiB")
    HfApi(endpoint=hub.url, token=False).create_repo("me/mp")
    data = os.urandom(3000)
    upload = _batch(hub, "me/mp", data)["actions"]["upload"]
    urls = [upload["header"][str(n)] for n in (1, 2, 3)]
    for n in (3, 1, 2):  # out of order: the server re-hashes at completion
        assert request(hub, "PUT", urls[n - 1], data[(n - 1) * 1024 : n * 1024])[0] == 200
    done = json.dumps({"oid": hashlib.sha256(data).hexdigest(), "parts": []}).encode()
    assert request(hub, "POST", upload["href"], done)[0] == 200

    other = os.urandom(3000)
    upload = _batch(hub, "me/mp", other)["actions"]["upload"]
    for n in (1, 2, 3):
        part = other[(n - 1) * 1024 : n * 1024]
        if n == 2:
            part = bytes(len(part))  # corrupt part
        assert request(hub, "PUT", upload["header"][str(n)], part)[0] == 200
    done = json.dumps({"oid": hashlib.sha256(other).hexdigest(), "parts": []}).encode()
    status, h, _ = request(hub, "POST", upload["href"], done)
    assert status == 400 and "sha256 mismatch" in h["X-Error-Message"]
    assert "actions" in _batch(hub, "me/mp", other)  # not stored


def test_identical_bytes_are_stored_once(api: HfApi, local_hub: LocalHub) -> None:
    data = os.urandom(11 * MiB)
    for repo in ("me/a", "me/b"):
        api.create_repo(repo)
        api.upload_file(path_or_fileobj=data, path_in_repo="one.bin", repo_id=repo)
        api.upload_file(path_or_fileobj=data, path_in_repo="copy/two.bin", repo_id=repo)
    assert local_hub.count(kind="lfs-upload", status=200) == 1
    sha = hashlib.sha256(data).hexdigest()
    stored = [p for p in (local_hub.data_dir / "blobs").rglob("*") if p.is_file()]
    assert [p for p in stored if p.stat().st_size == len(data)] == [
        local_hub.data_dir / "blobs" / sha[:2] / sha[2:]
    ]


def test_restart_keeps_repos_refs_and_files(
    api: HfApi, repo: str, local_hub: LocalHub, tmp_path: Path
) -> None:
    data = os.urandom(11 * MiB)
    api.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id=repo)
    api.create_tag(repo, tag="v1")
    sha = api.repo_info(repo).sha
    local_hub.restart()
    assert api.repo_info(repo, revision="v1").sha == sha
    path = hf_hub_download(repo, "w.bin", endpoint=local_hub.url, cache_dir=tmp_path / "c")
    assert Path(path).read_bytes() == data


def test_many_clients_at_once(api: HfApi, repo: str, local_hub: LocalHub, tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            client = HfApi(endpoint=local_hub.url, token=False)
            for i in range(4):
                op = CommitOperationAdd(
                    path_in_repo=f"w{w}/{i}.txt", path_or_fileobj=b"%d-%d" % (w, i)
                )
                client.create_commit(repo, operations=[op], commit_message=f"w{w} {i}")
                got = hf_hub_download(repo, f"w{w}/{i}.txt", endpoint=local_hub.url,
                                      cache_dir=tmp_path / f"c{w}")  # fmt: skip
                assert Path(got).read_bytes() == b"%d-%d" % (w, i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len([f for f in api.list_repo_files(repo) if f.startswith("w")]) == 32
    assert len(api.list_repo_commits(repo)) == 33  # serialised into one linear history


def test_keep_alive_survives_an_error_with_unread_body(repo: str, local_hub: LocalHub) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", local_hub.port)
    conn.request("PUT", "/_lfs/upload/" + "0" * 64 + "?size=5&exp=1&sig=x", body=b"hello")
    resp = conn.getresponse()
    assert resp.status == 403
    resp.read()
    conn.request("GET", f"/api/models/{repo}")
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["id"] == repo
    conn.close()


@pytest.mark.parametrize(
    "path",
    ["/api/models/me/repo/tree/main/%2E%2E", "/api/models/%2E%2E/%2E%2E", "/nothing/here"],
)
def test_unknown_routes_and_bad_paths_are_errors_not_crashes(
    repo: str, local_hub: LocalHub, path: str
) -> None:
    status, _, _ = request(local_hub, "GET", path)
    assert status in (400, 404)
    assert "Traceback" not in local_hub.stderr()
