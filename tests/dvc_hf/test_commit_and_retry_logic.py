"""dvc_hf's commit chunking, Retry-After parsing and transient-error classification, in-process.

The CLI-level tests (test_hf_cli.py) push a few objects with ``max_commit_files=2``; the limits
(1,000 files per commit, 256 MB inline per commit, 1,000 paths per paths-info call) are checked
here without pushing thousands of objects.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from helpers.dvc_cli import new_repo
from helpers.hub import LocalHub
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from dvc_hf import commits, compat, retry
from dvc_hf.commits import _Add, plan_chunks

httpx = compat.http_module()
MB = 1024 * 1024


def obj(name: str, size: int = 10) -> _Add:
    return _Add(f"datasets/acme/repo/files/md5/{name}", f"/local/{name}", size)


def names(chunks: list[list[_Add]]) -> list[list[str]]:
    return [[a.path.rsplit("/", 1)[1] for a in chunk] for chunk in chunks]


# --- chunking ---------------------------------------------------------------------------------


def test_chunks_hold_at_most_max_files_and_dir_objects_come_last():
    adds = [obj("zz.dir"), obj("c"), obj("a"), obj("aa.dir"), obj("b"), obj("d"), obj("e")]
    assert names(plan_chunks(adds, 2)) == [["a", "b"], ["c", "d"], ["e", "aa.dir"], ["zz.dir"]]


def test_1000_objects_per_commit_by_default():
    adds = [obj(f"{i:05d}") for i in range(4999)] + [obj("x.dir")]
    chunks = plan_chunks(adds, 1000)
    assert [len(c) for c in chunks] == [1000] * 5
    assert chunks[-1][-1].path.endswith("x.dir")


def test_inline_bytes_split_commits_but_lfs_files_do_not_count():
    # 25 "regular" files just under 10 MiB fill the 256 MiB inline payload of one commit...
    small = [obj(f"s{i:02d}", commits.LFS_THRESHOLD - 1) for i in range(30)]
    assert [len(c) for c in plan_chunks(small, 1000)] == [25, 5]
    # ...while LFS files (>= 10 MiB) travel outside the payload, whatever their size.
    large = [obj(f"l{i}", 2000 * MB) for i in range(5)]
    assert [len(c) for c in plan_chunks(large, 1000)] == [5]


def test_nothing_staged_means_no_commit():
    assert plan_chunks([], 2) == []


# --- Retry-After ------------------------------------------------------------------------------


def http_error(status: int, **headers: str) -> HfHubHTTPError:
    request = httpx.Request("POST", "http://127.0.0.1:9/api/datasets/acme/repo/commit/main")
    response = httpx.Response(status, headers=headers, request=request)
    return HfHubHTTPError(f"{status} from the Hub", response=response)


def test_retry_after_in_seconds():
    assert retry.retry_after(http_error(429, **{"Retry-After": "7"})) == 7.0


def test_retry_after_as_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 < retry.retry_after(http_error(429, **{"Retry-After": when})) <= 120


def test_retry_after_in_the_past_or_unreadable_or_missing():
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry.retry_after(http_error(429, **{"Retry-After": past})) == 0.0
    assert retry.retry_after(http_error(429, **{"Retry-After": "soon"})) == 1.0
    assert retry.retry_after(http_error(429)) == 1.0


def test_retry_after_is_capped_and_only_for_429():
    huge = http_error(429, **{"Retry-After": "999999"})
    assert retry.retry_after(huge) == retry.MAX_RATE_LIMIT_WAIT
    assert retry.retry_after(http_error(503, **{"Retry-After": "5"})) is None
    assert retry.retry_after(ValueError("no response")) is None


# --- transient errors -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_server_errors_are_retried_at_once(status: int):
    assert retry.transient(http_error(status)) == 0.0


def test_429_is_retried_after_what_the_hub_asks():
    assert retry.transient(http_error(429, **{"Retry-After": "3"})) == 3.0
    # commits wait out 429 themselves, for longer: not part of their retried statuses
    assert retry.transient(http_error(429), retry.RETRY_STATUS - {429}) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413])
def test_client_errors_are_not_retried(status: int):
    assert retry.transient(http_error(status)) is None


def test_dropped_connections_are_retried_but_timeouts_and_other_errors_are_not():
    request = httpx.Request("GET", "http://127.0.0.1:9/")
    assert retry.transient(httpx.ConnectError("refused", request=request)) == 0.0
    assert retry.transient(httpx.RemoteProtocolError("closed", request=request)) == 0.0
    assert retry.transient(httpx.ReadTimeout("slow", request=request)) is None
    assert retry.transient(httpx.ConnectTimeout("slow", request=request)) is None
    assert retry.transient(ValueError("bad")) is None


# --- retrying ---------------------------------------------------------------------------------


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", slept.append)
    monkeypatch.setattr(retry, "_down", {})
    # tests/conftest.py shortens the waits for the whole suite; these tests pin the default.
    monkeypatch.delenv(retry.FIRST_WAIT_ENV, raising=False)
    return slept


def answering(*answers):
    """A call that raises or returns each of ``answers`` in turn."""
    left = list(answers)

    def call():
        answer = left.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return call


def test_retrying_backs_off_then_succeeds(waits: list[float]):
    call = answering(http_error(503), http_error(502), "done")
    assert retry.retrying(call, "paths-info", endpoint="http://hub") == "done"
    assert waits == [1.0, 2.0]


def test_retrying_gives_up_after_max_tries(waits: list[float]):
    calls = []

    def call():
        calls.append(1)
        raise http_error(503)

    with pytest.raises(HfHubHTTPError):
        retry.retrying(call, "commit", endpoint="http://hub")
    assert len(calls) == retry.MAX_TRIES
    assert waits == [1.0, 2.0, 4.0]


def always_503():
    raise http_error(503)


def test_retry_wait_env_sets_the_first_wait_and_backoff_doubles_it(waits, monkeypatch):
    monkeypatch.setenv(retry.FIRST_WAIT_ENV, "0.25")
    with pytest.raises(HfHubHTTPError):
        retry.retrying(always_503, "commit", endpoint="http://hub")
    assert waits == [0.25, 0.5, 1.0]


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "3601"])
def test_a_bad_retry_wait_env_keeps_the_default_and_says_so(waits, monkeypatch, value):
    said: list[str] = []
    # Not caplog: once DVC has set up its logging, its logger no longer propagates to the root.
    monkeypatch.setattr(retry.logger, "warning", lambda msg, *args: said.append(msg % args))
    monkeypatch.setenv(retry.FIRST_WAIT_ENV, value)
    with pytest.raises(HfHubHTTPError):
        retry.retrying(always_503, "commit", endpoint="http://hub")
    assert waits == [1.0, 2.0, 4.0]
    assert any(f"ignoring DVC_HF_RETRY_WAIT={value!r}" in line for line in said), said


@pytest.mark.parametrize("first_wait", [None, "0"])  # Retry-After wins over a short setting
def test_retrying_waits_as_long_as_retry_after_asks(waits: list[float], monkeypatch, first_wait):
    if first_wait is not None:
        monkeypatch.setenv(retry.FIRST_WAIT_ENV, first_wait)
    call = answering(http_error(429, **{"Retry-After": "9"}), "done")
    assert retry.retrying(call, "paths-info", endpoint="http://hub") == "done"
    assert waits == [9.0]


def test_unreachable_endpoint_is_not_asked_again_for_a_while(waits: list[float]):
    calls = []

    def call():
        calls.append(1)
        raise httpx.ConnectError("refused", request=httpx.Request("GET", "http://hub/"))

    with pytest.raises(httpx.ConnectError):
        retry.retrying(call, "paths-info", endpoint="http://hub")
    assert len(calls) == retry.MAX_TRIES
    with pytest.raises(httpx.ConnectError, match="not asking http://hub again"):
        retry.retrying(call, "paths-info", endpoint="http://hub")
    assert len(calls) == retry.MAX_TRIES  # the second command failed without a request
    assert retry._down["http://hub"][0] > time.monotonic()


# --- existence checks -------------------------------------------------------------------------


def test_existence_is_asked_in_paths_info_batches(local_hub: LocalHub, monkeypatch):
    from dvc_hf import fs as fs_module
    from dvc_hf import remote

    repo_id = new_repo(local_hub)
    adds = [CommitOperationAdd(f"files/md5/{i}", f"{i}".encode()) for i in range(3)]
    HfApi(endpoint=local_hub.url).create_commit(
        repo_id, adds, commit_message="seed", repo_type="dataset"
    )
    monkeypatch.setattr(remote, "PATHS_INFO_BATCH", 2)  # 1000 against the Hub
    fs = fs_module.HfFileSystem(endpoint=local_hub.url)
    paths = [f"hf://datasets/{repo_id}/files/md5/{i}" for i in range(5)]

    since = len(local_hub.requests())
    assert fs.exists(paths) == [True, True, True, False, False]
    assert [r["kind"] for r in local_hub.requests()[since:]] == ["paths-info"] * 3
