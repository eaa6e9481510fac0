"""The client side of the load-balancer network tests: HTTPS to the VIP with
certificate checks off (like `kubectl --insecure-skip-tls-verify`), printing
JSON results for the Rust test to assert on.

usage:
  lb_client.py spread HOST PORT N
      N requests, each on a new connection: {"counts": {name: n}, "failures": [..]}
  lb_client.py poll HOST PORT SECONDS INTERVAL_MS
      a new connection every INTERVAL_MS for SECONDS: same JSON as spread
  lb_client.py hold HOST PORT CONNECTIONS SECONDS READY_FILE
      opens CONNECTIONS keep-alive connections, touches READY_FILE, then sends
      a request on every connection every 100 ms for SECONDS, never reconnecting:
      {"backends": [name per connection], "requests": n, "failures": [..]}
"""
import json
import os
import socket
import ssl
import sys
import time

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def connect(host, port):
    raw = socket.create_connection((host, port), timeout=5)
    return CTX.wrap_socket(raw)


def request(sock, keep_alive):
    conn = "keep-alive" if keep_alive else "close"
    sock.sendall(f"GET /whoami HTTP/1.1\r\nHost: vip\r\nConnection: {conn}\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed before the response headers")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = lines[0].split(" ")[1]
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed in the response body")
        body += chunk
    if status != "200":
        raise ConnectionError(f"HTTP status {status}")
    return body.decode().strip()


def one_shot(host, port):
    with connect(host, port) as s:
        return request(s, keep_alive=False)


def spread(host, port, n):
    counts, failures = {}, []
    for _ in range(n):
        try:
            name = one_shot(host, port)
            counts[name] = counts.get(name, 0) + 1
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failures.append(repr(e))
    return {"counts": counts, "failures": failures}


def poll(host, port, seconds, interval_ms):
    counts, failures = {}, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            name = one_shot(host, port)
            counts[name] = counts.get(name, 0) + 1
        except Exception as e:  # noqa: BLE001
            failures.append(f"{time.time():.3f} {e!r}")
        time.sleep(interval_ms / 1000)
    return {"counts": counts, "failures": failures}


def hold(host, port, n, seconds, ready):
    socks, backends, failures, requests = [], [], [], 0
    for _ in range(n):
        s = connect(host, port)
        backends.append(request(s, keep_alive=True))
        socks.append(s)
    open(ready, "w").close()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for i, s in enumerate(socks):
            if s is None:
                continue
            try:
                name = request(s, keep_alive=True)
                requests += 1
                if name != backends[i]:
                    failures.append(f"connection {i} moved from {backends[i]} to {name}")
            except Exception as e:  # noqa: BLE001
                failures.append(f"{time.time():.3f} connection {i} to {backends[i]}: {e!r}")
                socks[i] = None
        time.sleep(0.1)
    return {"backends": backends, "requests": requests, "failures": failures}


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "spread":
        out = spread(host, port, int(sys.argv[4]))
    elif mode == "poll":
        out = poll(host, port, float(sys.argv[4]), int(sys.argv[5]))
    elif mode == "hold":
        out = hold(host, port, int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(f"unknown mode {mode}")
    print(json.dumps(out), flush=True)


main()
