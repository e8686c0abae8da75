"""``hubsim serve`` (or ``python -m hubsim serve``): run the local Hub.

Import-light: the server is imported only to serve.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}  # fmt: skip


def size(text: str) -> int:
    """``64MiB``, ``10MB``, ``1048576`` -> bytes."""
    m = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not m or m[2].lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 1048576, 64MiB, 10MB)")
    return int(m[1]) * _UNITS[m[2].lower()]


def token(text: str) -> tuple[str, str]:
    name, _, scope = text.rpartition(":")
    if not name or scope not in ("rw", "ro"):
        raise argparse.ArgumentTypeError(f"--token takes NAME:rw or NAME:ro, got {text!r}")
    return name, scope


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_parser() -> argparse.ArgumentParser:
    """The ``hubsim`` command line: ``serve`` and its options."""
    parser = argparse.ArgumentParser(
        prog="hubsim", description="A local, loopback-only Hugging Face Hub stand-in for tests."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve a local Hub for tests and demos",
        description="Serve the Hugging Face Hub protocol on loopback, storing repos under --data. "
        "Point the client at it with HF_ENDPOINT=http://127.0.0.1:PORT HF_HUB_DISABLE_XET=1.",
    )
    serve.add_argument("--data", required=True, type=Path, help="directory holding the repos")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    serve.add_argument(
        "--token",
        dest="tokens",
        action="append",
        type=token,
        default=[],
        metavar="NAME:rw|ro",
        help="accept this bearer token with write (rw) or read-only (ro) scope; "
        "without any, anonymous callers read and write",
    )
    serve.add_argument(
        "--log", type=Path, help="request log, JSON lines (default DATA/requests.jsonl)"
    )
    serve.add_argument("--commits-per-hour", type=int, default=128, help="per repo; 0 = no limit")
    serve.add_argument("--files-per-commit", type=int, default=25_000, help="0 = no limit")
    serve.add_argument("--paths-per-info", type=int, default=1000, help="0 = no limit")
    serve.add_argument("--tree-page-size", type=int, default=1000)
    serve.add_argument("--multipart-threshold", type=size, default="64MiB",
                       help="LFS objects larger than this upload in parts; 0 = never")  # fmt: skip
    serve.add_argument("--multipart-chunk-size", type=size, default="64MiB")
    serve.add_argument(
        "--fault",
        dest="faults",
        action="append",
        default=[],
        metavar="KIND:key=value,...",
        help="inject a fault, e.g. resolve:status=503,times=2 or commit:rate=0.5,status=500 "
        "or resolve:drop=1048576 or *:delay=0.2 (see hubsim/faults.py)",
    )
    serve.add_argument("--seed", type=int, default=0, help="seed for rate-based faults")
    serve.add_argument("--verbose", action="store_true", help="print one line per request")
    serve.set_defaults(func=serve_command)
    return parser


def serve_command(args: argparse.Namespace) -> int:
    if not is_loopback(args.host):
        print(
            f"hubsim: refusing to bind {args.host!r}: the local hub serves loopback only "
            "(use 127.0.0.1, ::1 or localhost)",
            file=sys.stderr,
        )
        return 2
    from hubsim.faults import FaultRule
    from hubsim.limits import Limits
    from hubsim.routes import ROUTES
    from hubsim.server import HubConfig, HubServer

    for spec in args.faults:
        try:
            FaultRule.parse(spec)
        except (ValueError, TypeError) as e:
            print(f"hubsim: bad --fault {spec!r}: {e}", file=sys.stderr)
            return 2
    data = args.data.resolve()
    shutil.rmtree(data / "tmp", ignore_errors=True)  # uploads a previous run left unfinished
    config = HubConfig(
        data_dir=data,
        host=args.host,
        port=args.port,
        tokens=dict(args.tokens),
        limits=Limits(
            commits_per_hour=args.commits_per_hour,
            files_per_commit=args.files_per_commit,
            paths_per_info=args.paths_per_info,
            tree_page_size=args.tree_page_size,
            multipart_threshold=args.multipart_threshold,
            multipart_chunk_size=args.multipart_chunk_size,
        ),
        faults=args.faults,
        seed=args.seed,
        log_path=args.log or data / "requests.jsonl",
        quiet=not args.verbose,
    )
    try:
        server = HubServer(config, ROUTES)
    except OSError as e:
        print(f"hubsim: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    if args.port_file:
        tmp = args.port_file.with_name(f".{args.port_file.name}.{os.getpid()}")
        tmp.write_text(str(server.port))
        os.replace(tmp, args.port_file)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"hubsim: serving {data} at http://{host}:{server.port}", file=sys.stderr, flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``hubsim serve ...`` (the console script and ``python -m hubsim``)."""
    args = build_parser().parse_args(argv)
    return args.func(args)
