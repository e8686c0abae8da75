"""The Hub's limits, mirrored so that clients are tested against them. 0 switches a limit off."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from hubsim.errors import HubHTTPError

MiB = 1024 * 1024


@dataclass
class Limits:
    commits_per_hour: int = 128  # per repository, as on the Hub
    files_per_commit: int = 25_000  # the Hub's hard cap is about 25k LFS files per commit
    paths_per_info: int = 1000  # paths-info answers 413 above this
    tree_page_size: int = 1000  # entries per tree page (the Hub: 1000, or 50 with expand)
    tree_page_size_expand: int = 50
    multipart_threshold: int = 64 * MiB  # LFS uploads above this go multipart
    multipart_chunk_size: int = 64 * MiB

    def check_files_per_commit(self, n: int) -> None:
        if self.files_per_commit and n > self.files_per_commit:
            raise HubHTTPError(
                400,
                f"Too many files in one commit: {n} > {self.files_per_commit}. "
                "Split the upload into several commits.",
            )

    def check_paths_per_info(self, n: int) -> None:
        if self.paths_per_info and n > self.paths_per_info:
            raise HubHTTPError(413, f"too many parameters: {n} paths > {self.paths_per_info}")


class CommitRateLimiter:
    """Sliding one-hour window of commit times per repository."""

    WINDOW_S = 3600.0

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, repo_key: str) -> None:
        """Raise the Hub's 429 if the repo's window is full. Callers hold the repo's lock."""
        limit = self.limits.commits_per_hour
        if not limit:
            return
        now = time.monotonic()
        with self._lock:
            times = self._times.setdefault(repo_key, deque())
            while times and times[0] <= now - self.WINDOW_S:
                times.popleft()
            if len(times) >= limit:
                retry_after = max(1, math.ceil(times[0] + self.WINDOW_S - now))
                raise HubHTTPError(
                    429,
                    "You have exceeded the rate limit for repository commits "
                    f"({limit} per hour). You can retry this action in about "
                    f"{math.ceil(retry_after / 60)} minutes.",
                    headers={"Retry-After": str(retry_after)},
                )

    def record(self, repo_key: str) -> None:
        with self._lock:
            self._times.setdefault(repo_key, deque()).append(time.monotonic())
