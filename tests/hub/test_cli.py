"""``hubsim serve`` / ``python -m hubsim serve``: loopback only, port file, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from hubsim import cli


def serve(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "hubsim", "serve", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org", "::"])
def test_refuses_non_loopback_hosts(tmp_path: Path, host: str) -> None:
    out = serve("--data", str(tmp_path / "d"), "--host", host)
    assert out.returncode == 2
    assert "loopback only" in out.stderr
    assert not (tmp_path / "d").exists()  # refused before touching anything


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token", "nope"], "NAME:rw or NAME:ro"),
        (["--fault", "resolve:status=200"], "4xx or 5xx"),
        (["--fault", "resolve:bogus=1"], "unknown fault option"),
        (["--multipart-threshold", "lots"], "not a size"),
    ],
)
def test_bad_options_are_explained(tmp_path: Path, args: list[str], message: str) -> None:
    out = serve("--data", str(tmp_path / "d"), *args)
    assert out.returncode == 2
    assert message in out.stderr


def test_port_file_and_health(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    args = ["--data", str(tmp_path / "d"), "--port-file", str(port_file), "--host", "localhost"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hubsim", "serve", *args], stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stderr.readline()  # printed once listening, after the port file is written
        port = int(port_file.read_text())
        assert f":{port}" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_admin/health") as resp:
            assert json.loads(resp.read()) == {"ok": True, "port": port}
    finally:
        proc.terminate()
        assert proc.wait(10) == 0  # SIGTERM is a clean stop


def test_parser_reads_every_option(tmp_path: Path) -> None:
    argv = "serve --token a:rw --token b:ro --commits-per-hour 5 --multipart-chunk-size 8MiB"
    args = cli.build_parser().parse_args([*argv.split(), "--data", str(tmp_path)])
    assert args.func is cli.serve_command
    assert args.tokens == [("a", "rw"), ("b", "ro")]
    assert args.commits_per_hour == 5 and args.multipart_chunk_size == 8 * 1024 * 1024
    args.host = "10.0.0.1"
    assert args.func(args) == 2


def test_console_script_serves(tmp_path: Path) -> None:
    # The `hubsim` command that `pip install -e tools` puts beside the interpreter.
    script = Path(sys.executable).with_name("hubsim")
    out = subprocess.run(
        [str(script), "serve", "--data", str(tmp_path / "d"), "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and "hubsim: refusing to bind" in out.stderr
