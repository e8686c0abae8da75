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
