"""Bounded retries and timeouts for the Hub calls huggingface_hub leaves unprotected.

huggingface_hub retries downloads, listings and LFS transfers itself (``http_backoff``), but not
``get_paths_info``, ``repo_info`` or ``create_commit``, and its HTTP client has no timeout at all:
one 503 fails a whole ``dvc push``, and a server that accepts connections but never answers hangs
it forever. Retrying these calls is safe here: paths-info and repo-info only read, and a commit of
content-addressed DVC objects that did land already is skipped by the client the second time.

The first wait is 1 s, doubled after each failed try. ``DVC_HF_RETRY_WAIT`` (seconds, 0 to
``MAX_WAIT``) sets that first wait instead: shorter against a local or test Hub, longer to be
gentler with a busy one. A ``Retry-After`` the server sends is honoured either way.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from .compat import http_module

logger = logging.getLogger("dvc").getChild("dvc_hf")

T = TypeVar("T")

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_TRIES = 4  # waits of 1, 2, 4 s between them (or what Retry-After asks, up to MAX_WAIT)
MAX_WAIT = 60.0
FIRST_WAIT = 1.0
FIRST_WAIT_ENV = "DVC_HF_RETRY_WAIT"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
# The longest Retry-After honoured, so a misconfigured server cannot park a push forever (the
# Hub's commit window is one hour).
MAX_RATE_LIMIT_WAIT = 3600.0


def transient(exc: BaseException, status: frozenset[int] = RETRY_STATUS) -> float | None:
    """Seconds to wait before retrying after ``exc``; None when retrying cannot help.

    Timeouts are not retried: a server that did not answer in time will not answer the next
    attempt sooner, and retrying would turn a bounded wait into several."""
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError):
        response = exc.response
        if response is None or response.status_code not in status:
            return None
        return retry_after(exc) or 0.0
    httpx = http_module()
    if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)) and not isinstance(
        exc, httpx.TimeoutException
    ):
        return 0.0
    return None


def first_wait() -> float:
    """Seconds before the first retry: ``DVC_HF_RETRY_WAIT`` if it is a valid number, else 1."""
    value = os.environ.get(FIRST_WAIT_ENV, "").strip()
    if not value:
        return FIRST_WAIT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0.0 <= seconds <= MAX_WAIT:  # also false for nan
        # A typo must not turn retries off or park a push for hours; say so and go on.
        logger.warning(
            "hf: ignoring %s=%r (not seconds from 0 to %.0f); first retry waits %.0f s",
            FIRST_WAIT_ENV,
            value,
            MAX_WAIT,
            FIRST_WAIT,
        )
        return FIRST_WAIT
    return seconds


def retry_after(exc: Exception) -> float | None:
    """Seconds to wait before retrying a rate-limited (429) request, None when not rate-limited."""
    response = getattr(exc, "response", None)
    if response is None or response.status_code != 429:
        return None
    from email.utils import parsedate_to_datetime

    value = (response.headers.get("Retry-After") or "").strip()
    if value.isdigit():
        seconds = float(value)
    elif value:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            seconds = 1.0
    else:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RATE_LIMIT_WAIT)


# An endpoint that could not be reached (after its retries) is not asked again for a while:
# one DVC command checks existence several times, and each would wait out the same retries or
# read timeout before it can fall back to another remote or report.
DOWN_FOR_S = 30.0
_down: dict[str, tuple[float, str]] = {}


def retrying(
    call: Callable[[], T],
    what: str,
    *,
    endpoint: str,
    status: frozenset[int] = RETRY_STATUS,
) -> T:
    """``call()``, retried with exponential backoff on ``status`` answers (default 408, 429,
    5xx) and dropped connections, at most MAX_TRIES times."""
    httpx = http_module()

    until, why = _down.get(endpoint, (0.0, ""))
    if until > time.monotonic():
        raise httpx.ConnectError(
            f"{why} a moment ago; not asking {endpoint} again for {DOWN_FOR_S:.0f} s"
        )
    delay = first_wait()
    for attempt in range(1, MAX_TRIES + 1):
        try:
            result = call()
        except Exception as exc:
            asked = transient(exc, status)
            if asked is None or attempt == MAX_TRIES:
                if isinstance(exc, httpx.TransportError):
                    _down[endpoint] = (time.monotonic() + DOWN_FOR_S, _short(exc))
                raise
            wait = min(max(asked, delay), MAX_WAIT)
            # INFO: a retry that works is progress, not a problem; the final error is reported.
            logger.info(
                "hf: %s failed (%s); retry %d/%d in %.0f s",
                what,
                _short(exc),
                attempt,
                MAX_TRIES - 1,
                wait,
            )
            time.sleep(wait)
            delay *= 2
        else:
            _down.pop(endpoint, None)
            return result
    raise AssertionError("unreachable")


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


_timeouts_lock = threading.Lock()


def use_timeouts(connect: float, read: float) -> None:
    """Give huggingface_hub's shared HTTP client connect and read timeouts (it has none).

    Only replaces huggingface_hub's own default client factory, never one the application set."""
    from huggingface_hub.utils import _http

    httpx = http_module()

    with _timeouts_lock:
        current = _http._GLOBAL_CLIENT_FACTORY
        mine = getattr(current, "dvc_hf", None)
        if mine == (connect, read) or (current is not _http.default_client_factory and not mine):
            return

        def factory():
            client = _http.default_client_factory()
            client.timeout = httpx.Timeout(read, connect=connect)
            return client

        factory.dvc_hf = (connect, read)  # type: ignore[attr-defined]
        _http.set_client_factory(factory)
