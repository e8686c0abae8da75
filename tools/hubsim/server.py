"""The HTTP layer: a threading HTTP/1.1 server, routing, bodies in and out, faults and the log.

Route handlers (``api.py``, ``lfs.py``, ``files.py``, ``admin.py``) receive the ``Handler`` and
the URL's named groups, read the body through ``handler.body`` and answer with ``send_json``,
``send_bytes`` or ``send_file``; they raise ``HubHTTPError`` for error responses.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from hubsim.auth import Auth, Caller
from hubsim.errors import DroppedConnection, HubHTTPError
from hubsim.faults import Fault, FaultPlan, FaultRule
from hubsim.lfs import MultipartUploads
from hubsim.limits import CommitRateLimiter, Limits
from hubsim.log import RequestLog
from hubsim.storage import RepoStore

# Request bodies the server drops the connection on (a fault's ``drop``) instead of the response.
UPLOAD_KINDS = frozenset({"lfs-upload", "lfs-part", "commit"})
DRAIN_LIMIT = 1024 * 1024


@dataclass
class HubConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    faults: list[str] = field(default_factory=list)
    seed: int = 0
    log_path: Path | None = None
    quiet: bool = True


class Body:
    """The request body: Content-Length or chunked, read at most once, never past its end."""

    def __init__(self, rfile: Any, headers: Any, drop: int | None) -> None:
        self.rfile = rfile
        self.chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        self.length = None if self.chunked else int(headers.get("Content-Length") or 0)
        self.remaining = self.length or 0
        self._chunk_left = 0
        self._done = not self.chunked
        self.read_bytes = 0
        self.drop = drop

    @property
    def finished(self) -> bool:
        return self._done if self.chunked else self.remaining == 0

    def readinto(self, buf: memoryview) -> int:
        if self.drop is not None and self.read_bytes >= self.drop:
            raise DroppedConnection
        if self.drop is not None:
            buf = buf[: self.drop - self.read_bytes]
        n = self._readinto_chunked(buf) if self.chunked else self._readinto_plain(buf)
        self.read_bytes += n
        return n

    def _readinto_plain(self, buf: memoryview) -> int:
        if not self.remaining:
            return 0
        n = self.rfile.readinto(buf[: min(len(buf), self.remaining)])
        if not n:
            raise ConnectionError("client closed the connection mid-body")
        self.remaining -= n
        return n

    def _readinto_chunked(self, buf: memoryview) -> int:
        if self._done:
            return 0
        if not self._chunk_left:
            size_line = self.rfile.readline(1024)
            if not size_line:
                raise ConnectionError("client closed the connection mid-body")
            self._chunk_left = int(size_line.split(b";")[0].strip() or b"0", 16)
            if not self._chunk_left:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._done = True
                return 0
        n = self.rfile.readinto(buf[: min(len(buf), self._chunk_left)])
        if not n:
            raise ConnectionError("client closed the connection mid-body")
        self._chunk_left -= n
        if not self._chunk_left:
            self.rfile.readline(16)  # CRLF after the chunk
        return n

    def read(self, limit: int = 1 << 31) -> bytes:
        """The whole (remaining) body; 413 past ``limit``."""
        if self.length is not None and self.length > limit:
            raise HubHTTPError(413, f"Request body too large ({self.length} > {limit} bytes)")
        out = bytearray()
        buf = memoryview(bytearray(1 << 20))
        while n := self.readinto(buf):
            out += buf[:n]
            if len(out) > limit:
                raise HubHTTPError(413, f"Request body too large (> {limit} bytes)")
        return bytes(out)

    def json(self) -> Any:
        data = self.read(64 * 1024 * 1024)
        try:
            return json.loads(data or b"{}")
        except ValueError as e:
            raise HubHTTPError(400, f"Request body is not valid JSON: {e}") from None


@dataclass
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    kind: str
    func: Callable[..., None]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle, delayed ACKs stall each by ~40 ms.
    disable_nagle_algorithm = True
    timeout = 300  # an idle keep-alive connection gives its thread back after this long
    server: HubServer
    body: Body
    caller: Caller
    query: dict[str, list[str]]

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.config.quiet:
            super().log_message(format, *args)

    @property
    def base_url(self) -> str:
        """Scheme and host exactly as the client addressed us: it rejects URLs on another host."""
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.port}"
        return f"http://{host}"

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def _dispatch(self) -> None:
        self._started = time.monotonic()
        url = urlsplit(self.path)
        self.query = parse_qs(url.query, keep_blank_values=True)
        self.status = 0
        self.bytes_out = 0
        self.repo_key: str | None = None
        self.dropped = False
        self._logged = False
        route, params = self.server.match(self.command, url.path)
        kind = route.kind if route else "unknown"
        fault = (
            None if kind == "admin" else self.server.fault_plan.pick(kind, self.command, url.path)
        )
        self._log_base = {"method": self.command, "path": url.path, "query": url.query}
        self._log_base |= {"kind": kind, **({"fault": True} if fault else {})}
        drop = fault.drop if fault else None
        self.response_drop = None if kind in UPLOAD_KINDS else drop
        self.body = Body(self.rfile, self.headers, drop if kind in UPLOAD_KINDS else None)
        try:
            self._run(route, params, fault)
        except HubHTTPError as e:
            self.send_error_response(e)
        except (DroppedConnection, ConnectionError, TimeoutError, EOFError):
            self.dropped = True
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.send_error_response(HubHTTPError(500, "Internal error in the local hub"))
        finally:
            self._finish_body()
            self._log()  # requests that ended without a response

    def _log(self) -> None:
        """One log line per request, written before the response leaves: a client that has its
        answer can rely on finding the request in the log."""
        if self._logged:
            return
        self._logged = True
        self.server.request_log.write(
            {
                "ts": round(time.time(), 3),
                **self._log_base,
                "repo": self.repo_key,
                "status": self.status,
                "bytes": self.bytes_out,
                "bytes_in": self.body.read_bytes,
                "ms": round((time.monotonic() - self._started) * 1000, 2),
                **({"dropped": True} if self.dropped else {}),
            }
        )

    def _run(self, route: Route | None, params: dict[str, str], fault: Fault | None) -> None:
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                raise HubHTTPError(fault.status, "Injected fault", headers=headers)
        if route is None:
            raise HubHTTPError(404, f"No route for {self.command} {urlsplit(self.path).path}")
        self.caller = self.server.auth.identify(self.headers.get("Authorization"))
        route.func(self, **{k: v if v is None else unquote(v) for k, v in params.items()})

    def _finish_body(self) -> None:
        """Keep the connection usable: consume a small unread body, else close it."""
        if self.close_connection or self.body.finished:
            return
        if self.body.chunked or self.body.remaining > DRAIN_LIMIT:
            self.close_connection = True
            return
        try:
            self.body.read()
        except (OSError, HubHTTPError, DroppedConnection):
            self.close_connection = True

    # -- responses --------------------------------------------------------------------------

    def _start(self, status: int, headers: dict[str, str], length: int) -> None:
        self.status = status
        self.bytes_out = 0 if self.command == "HEAD" else length
        if self.response_drop is not None and self.response_drop < self.bytes_out:
            self.bytes_out, self.dropped = self.response_drop, True
        self._log()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        if not self.body.finished and (self.body.chunked or self.body.remaining > DRAIN_LIMIT):
            self.close_connection = True
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def send_bytes(
        self,
        data: bytes,
        status: int = 200,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self._start(status, {"Content-Type": content_type, **(headers or {})}, len(data))
        self.wfile.write(data[: self.bytes_out])
        if self.dropped:
            raise DroppedConnection

    def send_json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(json.dumps(obj).encode(), status, "application/json", headers)

    def send_file(
        self, path: Path, offset: int, length: int, status: int, headers: dict[str, str]
    ) -> None:
        with open(path, "rb") as f:
            self._start(status, headers, length)
            if self.bytes_out:
                self.connection.sendfile(f, offset, self.bytes_out)
            if self.dropped:
                raise DroppedConnection

    def send_error_response(self, e: HubHTTPError) -> None:
        if self.status:  # a response is already under way: cutting it short is all that is left
            self.dropped = True
            self.close_connection = True
            return
        message = e.message.replace("\r", " ").replace("\n", " ")
        headers = {"X-Error-Message": message.encode("latin-1", "replace").decode("latin-1")}
        if e.code:
            headers["X-Error-Code"] = e.code
        headers.update(e.headers)
        try:
            self.send_json({"error": e.message}, e.status, headers)
        except (OSError, DroppedConnection):
            self.dropped = True
            self.close_connection = True


class HubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, config: HubConfig, routes: list[Route]) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = RepoStore(config.data_dir)
        self.auth = Auth(config.tokens, _secret(config.data_dir))
        self.limits = config.limits
        self.commit_limiter = CommitRateLimiter(config.limits)
        self.fault_plan = FaultPlan(config.seed)
        for spec in config.faults:
            self.fault_plan.add(FaultRule.parse(spec))
        self.multipart = MultipartUploads()
        self.request_log = RequestLog(config.log_path)
        self.routes = routes
        if ":" in config.host:
            self.address_family = socket.AF_INET6
        super().__init__((config.host, config.port), Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            m = route.pattern.fullmatch(path)
            if m and method in route.methods:
                return route, m.groupdict()
        return None, {}

    def server_close(self) -> None:
        super().server_close()
        self.request_log.close()


def _secret(data_dir: Path) -> bytes:
    """The key signing LFS upload URLs; kept in the data dir so URLs survive a restart."""
    path = data_dir / "secret"
    try:
        return bytes.fromhex(path.read_text())
    except (OSError, ValueError):
        key = secrets.token_bytes(32)
        tmp = path.with_name(f".secret.{os.getpid()}")
        tmp.write_text(key.hex())
        os.replace(tmp, path)
        return bytes.fromhex(path.read_text())
