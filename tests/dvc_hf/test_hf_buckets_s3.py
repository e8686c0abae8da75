"""Hugging Face Storage Buckets: the supported route is their S3 gateway with plain dvc-s3.

Native hf://buckets need the Xet protocol for every write; dvc-hf refuses them with a pointer to
this route (test_hf_cli.py::test_bad_urls_and_options_say_what_to_do). Here the gateway is
stood in for by a real S3 server on loopback (moto), configured exactly as docs/DVC_HF.md says
to configure https://s3.hf.co.
"""

import shutil

from helpers.dvc_cli import DvcCli
from helpers.s3 import FAKE_KEY_ID, FAKE_SECRET, S3Server


def test_bucket_through_s3_gateway_with_dvc_s3(dvc_cli: DvcCli, s3_server: S3Server):
    cli = dvc_cli
    cli.env = {k: v for k, v in cli.env.items() if not k.startswith("AWS_")}
    cli.env |= {k: v for k, v in s3_server.env.items() if k.endswith("_FILE")}
    cli.ok("remote", "add", "-d", "bucket", f"{s3_server.url}/dvc")
    cli.ok("remote", "modify", "bucket", "endpointurl", s3_server.endpoint_url)
    # HFAK... access keys go to the untracked local config, never to .dvc/config
    cli.ok("remote", "modify", "--local", "bucket", "access_key_id", FAKE_KEY_ID)
    cli.ok("remote", "modify", "--local", "bucket", "secret_access_key", FAKE_SECRET)
    data = cli.root / "data"
    data.mkdir()
    for i in range(5):
        (data / f"{i}.bin").write_bytes(bytes([i]) * 1000)
    cli.ok("add", "data")
    cli.ok("push")
    assert len(s3_server.keys("dvc/files/md5/")) == 6  # 5 files + the .dir
    assert FAKE_SECRET not in (cli.root / ".dvc" / "config").read_text()

    shutil.rmtree(cli.root / ".dvc" / "cache")
    shutil.rmtree(data)
    cli.ok("pull")
    assert (data / "3.bin").read_bytes() == bytes([3]) * 1000
