#!/usr/bin/env python3
"""What open change streams cost a running feedgate server (issue 20).

Opens N Server-Sent Events streams (`GET .../stream`) on one or more feeds, reads the
server's resident memory before and after, then writes one indicator to each feed and
checks that every stream received its event, timing the slowest arrival.

    python3 bench/streams.py --base http://127.0.0.1:8080 --pid PID --token T \
        --owner bench00 --feeds f1,f2 --streams 1000

Standard library only. The server must allow the streams (`--max-streams`,
`--max-streams-per-user`); the streams are opened anonymously unless `--stream-token`.
"""

import argparse
import json
import selectors
import socket
import time
import urllib.request

from ab import rss_mb


def open_stream(host, port, path, token):
    s = socket.create_connection((host, port))
    head = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
    if token:
        head += f"Authorization: Token token={token}\r\n"
    s.sendall((head + "\r\n").encode())
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--pid", type=int, required=True, help="the server's process id (for its RSS)")
    ap.add_argument("--token", required=True, help="a token that may write the feeds")
    ap.add_argument("--stream-token", default=None)
    ap.add_argument("--owner", required=True)
    ap.add_argument("--feeds", required=True, help="comma-separated feed names of --owner")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--settle", type=float, default=3.0, help="seconds to wait before measuring")
    args = ap.parse_args()

    host, port = args.base.replace("http://", "").split(":")
    port = int(port)
    feeds = args.feeds.split(",")
    before = rss_mb(args.pid)
    sel = selectors.DefaultSelector()
    texts = {}
    for i in range(args.streams):
        feed = feeds[i % len(feeds)]
        s = open_stream(host, port, f"/api/users/{args.owner}/feeds/{feed}/stream", args.stream_token)
        sel.register(s, selectors.EVENT_READ, (i, feed))
        texts[i] = b""

    def pump(seconds):
        end = time.time() + seconds
        while time.time() < end:
            for key, _ in sel.select(timeout=0.1):
                i, _ = key.data
                try:
                    chunk = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                texts[i] += chunk

    pump(args.settle)
    refused = sum(1 for t in texts.values() if not t.startswith(b"HTTP/1.1 200"))
    during = rss_mb(args.pid)
    marker = f"198.18.{int(time.time()) % 250}.{int(time.time() * 1000) % 250}"
    started = time.time()
    for feed in feeds:
        body = json.dumps({"indicator": {"thing": marker}}).encode()
        req = urllib.request.Request(
            f"{args.base}/api/users/{args.owner}/feeds/{feed}/indicators",
            data=body,
            headers={"Authorization": f"Token token={args.token}", "Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(req).read()
    arrived = {}
    end = time.time() + 30
    while len(arrived) < args.streams - refused and time.time() < end:
        for key, _ in sel.select(timeout=0.1):
            i, _ = key.data
            try:
                texts[i] += key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            if i not in arrived and marker.encode() in texts[i]:
                arrived[i] = time.time() - started
    slowest = max(arrived.values()) if arrived else float("nan")
    print(json.dumps({
        "streams": args.streams,
        "refused": refused,
        "rss_before_mb": round(before, 1),
        "rss_with_streams_mb": round(during, 1),
        "mb_per_1000_streams": round((during - before) * 1000 / max(1, args.streams - refused), 1),
        "events_received": len(arrived),
        "slowest_arrival_s": round(slowest, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
