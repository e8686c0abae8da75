"""Measure how fast the local Hub moves one large LFS file each way with the real client.

    .venv/bin/python tests/hub/measure_throughput.py [SIZE_MiB]   (default 1024)

Prints MB/s for: writing the file from memory (what any transfer into a file pays), the LFS PUT as the
server timed it, the whole ``upload_file`` (client sha256 + preupload + batch + PUT + verify +
commit), ``hf_hub_download`` (GET + write into the cache), and a bare stdlib GET into a file
and into /dev/null (the ceiling of server plus loopback). Results are recorded in docs/HUB.md.
"""

from __future__ import annotations

import http.client
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.update(HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1")
os.environ.update(HF_HUB_DISABLE_PROGRESS_BARS="1")

from hubsim.process import LocalHub

MiB = 1024 * 1024


def raw_get(port: int, path: str, sink: Path | None) -> int:
    """GET with the stdlib into ``sink`` (or nowhere): the server and loopback without the client."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", path)
    resp = conn.getresponse()
    buf = memoryview(bytearray(8 * MiB))
    total = 0
    with open(sink or os.devnull, "wb") as out:
        while n := resp.readinto(buf):
            out.write(buf[:n])
            total += n
    conn.close()
    return total


def measure(size: int, work: Path) -> dict[str, float]:
    """MB/s (10^6 bytes per second) of each step for a ``size``-byte file under ``work``."""
    from huggingface_hub import HfApi, hf_hub_download

    src = work / "big.bin"
    with open(src, "wb") as f:
        block = os.urandom(8 * MiB)
        for _ in range(size // len(block)):
            f.write(block[:-1] + os.urandom(1))  # distinct blocks, cheaply
        f.write(os.urandom(size % len(block)))
    rates: dict[str, float] = {}

    def rate(seconds: float) -> float:
        return size / seconds / 1e6

    t = time.perf_counter()
    with open(work / "disk.bin", "wb") as f:
        for _ in range(size // len(block)):
            f.write(block)
    rates["disk write (no client)"] = rate(time.perf_counter() - t)
    (work / "disk.bin").unlink()

    t = time.perf_counter()
    hub = LocalHub(work / "hub").start()
    rates["server start (s)"] = time.perf_counter() - t
    try:
        api = HfApi(endpoint=hub.url, token=False)
        api.create_repo("bench/big")
        t = time.perf_counter()
        api.upload_file(path_or_fileobj=src, path_in_repo="big.bin", repo_id="bench/big")
        rates["upload_file, end to end"] = rate(time.perf_counter() - t)
        puts = hub.requests(kind="lfs-upload") + hub.requests(kind="lfs-part")
        rates["LFS PUT (server time)"] = rate(sum(r["ms"] for r in puts) / 1000)

        t = time.perf_counter()
        hf_hub_download("bench/big", "big.bin", endpoint=hub.url, cache_dir=work / "cache")
        rates["hf_hub_download"] = rate(time.perf_counter() - t)

        for sink in (None, work / "raw.bin"):
            t = time.perf_counter()
            got = raw_get(hub.port, "/bench/big/resolve/main/big.bin", sink)
            assert got == size
            rates[f"raw GET to {'file' if sink else '/dev/null'}"] = rate(time.perf_counter() - t)
    finally:
        hub.stop()
    return rates


def main() -> None:
    size = int(sys.argv[1]) * MiB if len(sys.argv) > 1 else 1024 * MiB
    with tempfile.TemporaryDirectory(prefix="hub-throughput-") as tmp:
        os.environ["HF_HOME"] = str(Path(tmp) / "hf-home")
        rates = measure(size, Path(tmp))
    print(f"local hub throughput, {size / MiB:.0f} MiB LFS file")
    for name, value in rates.items():
        print(f"  {name:<28} {value:8.2f}" + ("" if "(s)" in name else " MB/s"))


if __name__ == "__main__":
    main()
