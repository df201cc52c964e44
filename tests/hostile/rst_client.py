#!/usr/bin/env python3
"""Hostile client for gost.ts's tests: plays payloads at a TCP port and ends each connection in a chosen way.

Deno cannot set SO_LINGER, which is what a reset (RST) close needs, so the hostile tests drive this script.
Usage: rst_client.py HOST PORT MODE CONCURRENCY [PAYLOAD_FILE]
  MODE: connect    connect, then reset at once (no bytes): the reset lands while the conn waits to be accepted
        early      send the payload, then reset at once
        late       send the payload, wait for the first reply byte (or 300 ms, or EOF), then reset
        clean      send the payload, half-close, read to EOF (2 s at most), close
  PAYLOAD_FILE: payloads, each a 4-byte big-endian length then the bytes; without it, COUNT=... in the
  environment gives the number of empty payloads.
Prints one JSON line: {"sent": n, "refused": n, "errors": n, "replied": n}. Each connection is bounded in time.
"""
import json
import os
import socket
import struct
import sys
from concurrent.futures import ThreadPoolExecutor

LINGER_RST = struct.pack("ii", 1, 0)


def read_payloads(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off + 4 <= len(data):
        (n,) = struct.unpack(">I", data[off:off + 4])
        off += 4
        out.append(data[off:off + n])
        off += n
    return out


def play(host, port, mode, payload):
    try:
        s = socket.create_connection((host, port), timeout=5)
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "error"
    replied = False
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if mode == "connect":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
            return "sent"
        if payload:
            s.sendall(payload)
        if mode == "early":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
            return "sent"
        if mode == "late":
            s.settimeout(0.3)
            try:
                replied = len(s.recv(1)) > 0
            except (socket.timeout, OSError):
                pass
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
            return "replied" if replied else "sent"
        # clean
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        s.settimeout(2)
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                replied = True
        except (socket.timeout, OSError):
            pass
        return "replied" if replied else "sent"
    except OSError:
        return "error"
    finally:
        try:
            s.close()
        except OSError:
            pass


def main():
    host, port, mode, conc = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    if mode not in ("connect", "early", "late", "clean"):
        sys.exit(f"unknown mode {mode}")
    payloads = read_payloads(sys.argv[5]) if len(sys.argv) > 5 else [b""] * int(os.environ.get("COUNT", "100"))
    counts = {"sent": 0, "refused": 0, "errors": 0, "replied": 0}
    with ThreadPoolExecutor(max_workers=conc) as pool:
        for r in pool.map(lambda p: play(host, port, mode, p), payloads):
            if r == "refused":
                counts["refused"] += 1
            elif r == "error":
                counts["errors"] += 1
            else:
                counts["sent"] += 1
                if r == "replied":
                    counts["replied"] += 1
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
