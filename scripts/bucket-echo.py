#!/usr/bin/env python3
"""A raw (RFC 862) echo server of known capacity, for scripts/capacity-fixture.sh.

It answers at most RATE messages of SIZE bytes per second over all its connections: one
virtual server whose schedule each chunk joins (a chunk of n bytes takes n / SIZE / RATE s),
echoed no earlier than its turn, so latency stays at the loopback's below RATE and grows
without bound above it. With --slow-every K, every K-th run (runs told apart by a pause of
--run-gap between accepts, as loadgen opens all of a run's connections at its start) is
served at half the rate: such a server misses one run in K from RATE/2 up.

Usage: bucket-echo.py --rate 2000 [--slow-every 3] [--port 0]; it prints its port on the
first line of stdout, then serves until killed.
"""

import argparse
import socket
import sys
import threading
import time


class Bucket:
    """The virtual server's schedule and the runs seen so far."""

    def __init__(self, rate, size, slow_every, run_gap):
        self.rate, self.size = rate, size
        self.slow_every, self.run_gap = slow_every, run_gap
        self.lock = threading.Lock()
        self.next_free = time.monotonic()
        self.last_accept = None
        self.runs = 0

    def accepted(self):
        """Counts a new run when accepts pause; returns the rate this connection gets."""
        with self.lock:
            now = time.monotonic()
            if self.last_accept is None or now - self.last_accept > self.run_gap:
                self.runs += 1
            self.last_accept = now
            if self.slow_every and self.runs % self.slow_every == 0:
                return self.rate / 2
            return self.rate

    def turn(self, nbytes, rate):
        """When a chunk of nbytes may be echoed: its place on the shared schedule."""
        msgs = -(-nbytes // self.size)
        with self.lock:
            self.next_free = max(self.next_free, time.monotonic()) + msgs / rate
            return self.next_free


def serve(conn, bucket):
    rate = bucket.accepted()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.settimeout(30)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            wait = bucket.turn(len(data), rate) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            conn.sendall(data)
    except OSError:
        return
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, required=True, help="messages per second")
    p.add_argument("--size", type=int, default=64, help="bytes per message")
    p.add_argument("--slow-every", type=int, default=0, help="every K-th run at half rate")
    p.add_argument("--run-gap", type=float, default=0.3, help="seconds between runs' accepts")
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    bucket = Bucket(a.rate, a.size, a.slow_every, a.run_gap)
    listener = socket.create_server(("127.0.0.1", a.port), backlog=1024)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, bucket), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
