"""A TCP proxy on loopback that limits throughput with a token bucket: a link of N MB/s.

``python -m benchmarks.ratelimit --upstream 127.0.0.1:PORT --mbps 100`` prints the port it
listens on, then relays every connection to the upstream server. Each direction has one bucket
shared by all connections (a link's capacity is shared, not per connection); 1 MB = 10^6 bytes.
The Hub addresses clients by the Host header, so URLs it hands out point back at the proxy.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

CHUNK = 64 * 1024


class TokenBucket:
    """``rate`` bytes per second, bursts of up to ``burst`` bytes; callers wait off any debt."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self, n: int) -> None:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= n
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)


def _pump(src: socket.socket, dst: socket.socket, bucket: TokenBucket) -> None:
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        while n := src.recv_into(buf):
            bucket.take(n)
            dst.sendall(view[:n])
    except OSError:
        pass
    finally:
        for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            with suppress(OSError):
                sock.shutdown(how)


def serve(upstream: tuple[str, int], mbps: float) -> None:
    rate = mbps * 1e6
    # 1/20 s of traffic: short enough that the rate holds over a fraction of a second.
    burst = max(CHUNK, int(rate / 20))
    down, up = TokenBucket(rate, burst), TokenBucket(rate, burst)
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)

    def relay(client: socket.socket) -> None:
        try:
            server = socket.create_connection(upstream)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threads = [
            threading.Thread(target=_pump, args=(client, server, up), daemon=True),
            threading.Thread(target=_pump, args=(server, client, down), daemon=True),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        client.close()
        server.close()

    while True:
        client, _ = listener.accept()
        threading.Thread(target=relay, args=(client,), daemon=True).start()


@contextmanager
def limited(url: str, mbps: float) -> Iterator[str]:
    """``url`` (http://HOST:PORT) behind a link of ``mbps`` MB/s: yields the proxy's URL."""
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.ratelimit", "--upstream", f"{host}:{port}",
         "--mbps", str(mbps)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"the rate-limiting proxy did not start (it printed {line!r})")
        yield f"http://127.0.0.1:{line}"
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ratelimit", description=__doc__)
    parser.add_argument("--upstream", required=True, help="HOST:PORT to relay to")
    parser.add_argument("--mbps", type=float, required=True, help="link rate, MB/s (10^6 B/s)")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    serve((host, int(port)), args.mbps)


if __name__ == "__main__":
    main()
