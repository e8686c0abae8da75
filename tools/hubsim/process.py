"""The local Hub as a real subprocess: ``LocalHub`` starts ``hubsim serve`` on loopback, waits
for its port, and reads its request log. Used by the demo, the tests and the benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 20.0


class LocalHub:
    """``python -m hubsim serve`` on 127.0.0.1, started on ``start()`` or ``with``.

    Keyword options become command-line switches: ``tokens={"tok": "rw"}`` -> ``--token tok:rw``,
    ``faults=["resolve:status=503,times=1"]`` -> ``--fault ...``, and any other ``name=value`` ->
    ``--name value`` (e.g. ``commits_per_hour=5``, ``multipart_threshold="1MiB"``, ``seed=3``).
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        tokens: dict[str, str] | None = None,
        faults: Sequence[str] = (),
        extra_args: Sequence[str] = (),
        **options: Any,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.log_path = self.data_dir / "requests.jsonl"
        self.port_file = self.data_dir.with_name(self.data_dir.name + ".port")
        self.stderr_path = self.data_dir.with_name(self.data_dir.name + ".stderr")
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        args: list[str] = []
        for name, scope in (tokens or {}).items():
            args += ["--token", f"{name}:{scope}"]
        for spec in faults:
            args += ["--fault", spec]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        self.args = [*args, *extra_args]

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("LocalHub is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> LocalHub:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "hubsim", "serve", "--data", str(self.data_dir),
               "--port", str(port), "--port-file", str(self.port_file), *self.args]  # fmt: skip
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"local hub exited ({self.proc.returncode}): {self.stderr()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"local hub did not start in {START_TIMEOUT_S}s: {self.stderr()}"
                )
            time.sleep(0.01)
        self.port = int(self.port_file.read_text())
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> LocalHub:
        """Stop and start again on the same port and data (clients keep their URL)."""
        port = self.port or 0
        self.stop()
        return self.start(port)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> LocalHub:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the request log ---------------------------------------------------------------------

    def requests(self, **match: Any) -> list[dict[str, Any]]:
        """Logged requests (admin calls excluded), optionally only those whose fields equal
        ``match`` (e.g. ``kind="commit", status=200``)."""
        try:
            lines = self.log_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        records = [json.loads(line) for line in lines if line.strip()]
        return [
            r
            for r in records
            if r["kind"] != "admin" and all(r.get(k) == v for k, v in match.items())
        ]

    def count(self, **match: Any) -> int:
        return len(self.requests(**match))

    def commits(self, repo_id: str, repo_type: str = "model") -> int:
        """Successful commits to the repo through the commit API."""
        return self.count(kind="commit", status=200, repo=f"{repo_type}s/{repo_id}")

    # -- admin endpoint ----------------------------------------------------------------------

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_admin/{path}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def inject(self, kind: str = "*", **rule: Any) -> list[dict[str, Any]]:
        """Add a fault rule: ``inject("resolve", status=503, times=2)``,
        ``inject("resolve", drop=1 << 20)``, ``inject("commit", rate=0.5, status=500)``."""
        return self.admin("POST", "faults", {"kind": kind, **rule})

    def faults(self) -> list[dict[str, Any]]:
        return self.admin("GET", "faults")

    def clear_faults(self, seed: int | None = None) -> None:
        self.admin("DELETE", "faults" + (f"?seed={seed}" if seed is not None else ""))

    def set_limits(self, **limits: int) -> dict[str, int]:
        """Change limits at run time, e.g. ``set_limits(commits_per_hour=3)``."""
        return self.admin("POST", "limits", limits)
