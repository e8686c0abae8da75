"""A real S3 server on loopback (moto's server mode) for dvc-s3 tests: the ``s3_server`` fixture.

Import the fixtures into a conftest (``from helpers.s3 import moto_server, s3_server``) or list
``helpers.s3`` in ``pytest_plugins``. Each test gets a fresh bucket on one server per worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FAKE_KEY_ID = "AKIAFAKEFORTESTS0000"
FAKE_SECRET = "fake-secret-for-tests"  # moto accepts any credentials


@dataclass
class S3Server:
    endpoint_url: str
    bucket: str
    # For subprocesses (dvc CLI): fake credentials, no real AWS config files.
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}"

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=FAKE_KEY_ID,
            aws_secret_access_key=FAKE_SECRET,
            region_name="us-east-1",
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """One moto S3 server per test worker, on 127.0.0.1 and a free port; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_server(moto_server: str, tmp_path: Path) -> S3Server:
    """A fresh bucket on the loopback S3 server, with the env a dvc subprocess needs."""
    env = {
        "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    server = S3Server(moto_server, f"test-{uuid.uuid4().hex[:12]}", env)
    server.client().create_bucket(Bucket=server.bucket)
    return server


def no_credentials_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """``env`` as on a machine with no AWS credentials anywhere: no variables, no config files,
    and no instance-metadata lookup (which would leave loopback)."""
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    return env | {
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.fixture
def s3_checks_credentials(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """For one test, the S3 server checks credentials like AWS: unknown keys are refused
    (InvalidAccessKeyId). moto's IAM access control, switched on in the process serving it."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)


@pytest.fixture
def failing_s3() -> Iterator[str]:
    """An S3 endpoint on loopback whose every answer is 503 ServiceUnavailable, as from an S3
    service in trouble; yields its URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>'
        b"<Message>Service is unable to handle request.</Message></Error>"
    )

    class Handler(BaseHTTPRequestHandler):
        def _fail(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _fail

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
