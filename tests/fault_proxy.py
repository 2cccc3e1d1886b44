#!/usr/bin/env python3
"""A TCP proxy that injects faults between weld and a registry, for the
registry fault tests.

usage: fault_proxy.py UPSTREAM_HOST:PORT SEED RATE [STALL_SECONDS [KINDS]]

Prints the port it listens on (127.0.0.1), then serves until killed. The
registry is asked to close each connection after one answer, so every
request comes on a connection of its own. Each connection, with
probability RATE (drawn from a generator seeded with SEED
and the connection's number), gets one fault:
  503       the first request is answered `503 Service Unavailable` and the
            connection closed, without reaching the registry;
  reset     the answer is cut after a random number of bytes with a TCP reset;
  truncate  the answer is cut after a random number of bytes, closed cleanly;
  stall     the answer stops after a random number of bytes for STALL_SECONDS
            (default 5), then the connection is closed.
KINDS (comma-separated, default the four above) limits the faults drawn.
The kind `cutblob` is not drawn: with it, the first GET of each blob (one
without a Range header) is cut after 1500 bytes, every time; requests with
a Range header are logged (`range`) and passed on. The cut
comes within the first 600 bytes (the head, or the start of a body) or, half
the time, anywhere in the first 48 KiB. Every fault that happened is logged
on stderr, one line each.
"""
import random
import socket
import struct
import sys
import threading
import time

upstream_host, upstream_port = sys.argv[1].rsplit(":", 1)
seed = int(sys.argv[2])
rate = float(sys.argv[3])
stall_seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
KINDS = sys.argv[5].split(",") if len(sys.argv) > 5 else ["503", "reset", "truncate", "stall"]


def log(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def close(s, reset=False):
    """Ends a connection now: a FIN, or with `reset` a RST. (A close alone
    waits for a thread blocked reading the socket; a shutdown wakes it.)"""
    try:
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.shutdown(socket.SHUT_RD)
        else:
            s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


def pump(src, dst, budget=None, on_budget=None):
    """Copies src to dst; after `budget` bytes calls on_budget() and stops."""
    sent = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if budget is not None and sent + len(data) >= budget:
                dst.sendall(data[: budget - sent])
                on_budget()
                return
            dst.sendall(data)
            sent += len(data)
    except OSError:
        pass
    finally:
        if budget is None or on_budget is None:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass


CUT_BLOBS = "cutblob" in KINDS
DRAWN = [k for k in KINDS if k != "cutblob"]
seen_blobs = set()
seen_lock = threading.Lock()


def serve(client, number):
    rng = random.Random(seed * 1_000_003 + number)
    fault = rng.choice(DRAWN) if DRAWN and rng.random() < rate else None
    if fault == "503":
        head = b""
        client.settimeout(10)
        try:
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    break
                head += chunk
            log(f"connection {number}: 503")
            client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        close(client)
        return
    # One request per connection (the registry is asked to close after its
    # answer), so that faults fall on requests, not on long-lived
    # connections.
    head = b""
    try:
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                close(client)
                return
            head += chunk
        upstream = socket.create_connection((upstream_host, int(upstream_port)))
    except OSError:
        close(client, reset=True)
        return
    first, rest = head.split(b"\r\n\r\n", 1)
    request = first.split(b"\r\n")[0].decode("latin-1")
    ranged = any(l.lower().startswith(b"range:") for l in first.split(b"\r\n"))
    budget = None
    if CUT_BLOBS and request.startswith("GET ") and "/blobs/sha256:" in request:
        if ranged:
            log(f"connection {number}: range {request.split()[1]}")
        else:
            with seen_lock:
                fresh = request not in seen_blobs
                seen_blobs.add(request)
            if fresh:
                fault, budget = "truncate", 1500
    lines = [l for l in first.split(b"\r\n") if not l.lower().startswith(b"connection:")]
    lines.append(b"Connection: close")
    try:
        upstream.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + rest)
    except OSError:
        close(client, reset=True)
        close(upstream)
        return
    up = threading.Thread(target=pump, args=(client, upstream), daemon=True)
    up.start()
    if fault is None:
        pump(upstream, client)
        up.join()
        close(client)
        close(upstream)
        return
    if budget is None:
        budget = rng.randrange(1, 600) if rng.random() < 0.5 else rng.randrange(600, 48 * 1024)

    def cut():
        log(f"connection {number}: {fault} after {budget} bytes")
        if fault == "stall":
            time.sleep(stall_seconds)
        close(client, reset=(fault == "reset"))
        close(upstream)

    pump(upstream, client, budget, cut)
    close(client, reset=(fault == "reset"))
    close(upstream)


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    print(listener.getsockname()[1], flush=True)
    number = 0
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, number), daemon=True).start()
        number += 1


main()
