#!/usr/bin/env python3
"""Alternating A/B comparison of two feedgate binaries on one kept benchmark database.

This machine's speed drifts by 15-25 % within minutes, so two full runs an hour apart cannot
tell a 5 % change from the noise. This script runs the same wrk scenario against binary A,
then B, then A, ... on the same database (one server at a time, restarted for each run) and
prints each run's req/s, p50/p99 and the server's CPU per request (user + system ticks of the
server process over the run, divided by the requests), which is steadier than req/s.

    python3 bench/ab.py --a OLD_BINARY --b target/release/feedgate \
        --workdir /tmp/feedgate-bench-sqlite-XXXX --paths p1.txt --pairs 3

`--b-user limited` with the same binary twice compares two users instead (scenario 9).
`--workdir` is a directory kept by `bench/run.sh -- --keep` (its `feedgate.db` and path files).
Reads: the paths file's lines are GETs, sent as the user `--user` (a token is minted for it
with the CLI; `-` sends none). Writes: `--bulk FEED` (scenario 2) or `--create FEED` (scenario
1), new values in every run, e.g. `--user writer --create single`.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from bench import server_env

HERE = os.path.dirname(os.path.abspath(__file__))
WRK_DIR = os.path.join(HERE, "wrk")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat; [0] here is field 3.
    return int(fields[11]) + int(fields[12])


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def serve(binary, db_url, workdir, port, log_level):
    env = server_env(db_url, port, log_level)
    log = open(os.path.join(workdir, "ab-server.log"), "ab")
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log, cwd=workdir)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{binary} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"{binary} did not answer /api/health")


def wrk(port, script, args, seconds, conns):
    cmd = ["wrk", "-t", "2", "-c", str(conns), "-d", f"{seconds}s", "--latency", "--timeout", "60s",
           "-s", os.path.join(WRK_DIR, script), f"http://127.0.0.1:{port}", "--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         env=dict(os.environ, BENCH_WRK_DIR=WRK_DIR), check=True).stdout
    for line in out.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    sys.exit(f"wrk printed no report:\n{out}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", required=True, help="binary A (e.g. a copy of the previous build)")
    p.add_argument("--b", required=True, help="binary B")
    p.add_argument("--workdir", required=True, help="a directory kept by bench/run.sh --keep")
    p.add_argument("--paths", help="paths file, relative to --workdir or absolute")
    p.add_argument("--bulk", metavar="FEED", help="scenario 2 instead of reads: 1,000-item batches "
                   "into the --user's FEED at c=4, new values from --start on (each run its own)")
    p.add_argument("--create", metavar="FEED", help="scenario 1 instead of reads: single v1 creates "
                   "into the --user's FEED at --conns, new values from --start on (each run its own)")
    p.add_argument("--start", type=int, default=8_000_000, help="first bulk or create item number")
    p.add_argument("--user", default="reader", help="user whose token is sent, or - for none")
    p.add_argument("--b-user", help="user for B's runs when it differs (e.g. a limited user "
                   "against an unlimited one, with --b the same binary as --a)")
    p.add_argument("--log", default="warn", help="FEEDGATE_LOG of the server (bench.py uses info)")
    p.add_argument("--accept", default="-", help="Accept header, or - for none")
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--conns", type=int, default=32)
    opts = p.parse_args()

    db_url = "sqlite://" + os.path.join(opts.workdir, "feedgate.db")
    if not opts.paths and not opts.bulk and not opts.create:
        sys.exit("ab.py: --paths, --bulk or --create is needed")
    paths = os.path.join(opts.workdir, opts.paths or "")
    conns = 4 if opts.bulk else opts.conns
    per_request = 1000 if opts.bulk else 1
    runs = 0

    def load(token):
        # Bulk runs each write values no earlier run wrote (400,000 item numbers apart).
        nonlocal runs
        runs += 1
        if opts.bulk:
            return "bulk.lua", [opts.user, opts.bulk, token, str(opts.start + runs * 400_000)]
        if opts.create:
            # create.lua's threads own 2^22 values each: runs (warm-ups count) 300,000 apart stay
            # new for 13 runs, enough for 3 pairs.
            start = (opts.start + runs * 300_000) % 4_194_304
            return "create.lua", [opts.user, opts.create, token, str(start)]
        return "paths.lua", [paths, token, opts.accept]
    def mint(user):
        if user == "-":
            return "-"
        out = subprocess.run([opts.b, "token", "create", "--user", user, "--name", "ab",
                              "--database-url", db_url], capture_output=True, text=True, check=True)
        return out.stdout.strip().split()[-1]

    tokens = {"A": mint(opts.user)}
    tokens["B"] = mint(opts.b_user) if opts.b_user else tokens["A"]
    print(f"{'run':<4} {'items/s' if opts.bulk else 'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10} {'RSS MB':>7} "
          f"{'errors':>6}")
    sums = {"A": [], "B": []}
    for i in range(opts.pairs):
        for name, binary in (("A", opts.a), ("B", opts.b)):
            port = free_port()
            proc = serve(binary, db_url, opts.workdir, port, opts.log)
            token = tokens[name]
            try:
                wrk(port, *load(token), 2, conns)  # warm-up, not measured
                t0 = cpu_ticks(proc.pid)
                rep = wrk(port, *load(token), opts.seconds, conns)
                ticks = cpu_ticks(proc.pid) - t0
                rss = rss_mb(proc.pid)
            finally:
                proc.terminate()
                proc.wait()
            n = max(rep["requests"], 1)
            # Non-2xx answers, socket errors and timeouts: a run with errors measured something else.
            errors = sum(rep[k] for k in ("connect_errors", "read_errors", "write_errors",
                                          "status_errors", "timeouts"))
            cpu = ticks / CLK_TCK / (n * per_request) * 1e6
            rps = rep["requests"] * per_request / rep["duration_us"] * 1e6
            sums[name].append((rps, cpu))
            print(f"{name}{i + 1:<3} {rps:>9,.0f} {rep['p50_us'] / 1000:>7.1f} "
                  f"{rep['p99_us'] / 1000:>7.1f} {cpu:>10.0f} {rss:>7.0f} {errors:>6}", flush=True)
    for name, runs in sums.items():
        rps = sorted(r for r, _ in runs)
        cpu = sorted(c for _, c in runs)
        print(f"{name}: {'items' if opts.bulk else 'req'}/s {rps[0]:,.0f}-{rps[-1]:,.0f}, "
              f"CPU per {'item' if opts.bulk else 'request'} {cpu[0]:.0f}-{cpu[-1]:.0f} us")


if __name__ == "__main__":
    main()
