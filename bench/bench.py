"""The feedgate benchmark driver (Python 3 standard library only); `bench/run.sh` calls it.

It starts the release binary on a fresh database (a SQLite file in a temporary directory, or a
fresh schema in a PostgreSQL database), creates the bench users with the CLI, seeds indicators
through the public API (`indicators_bulk`, 1,000-item batches), runs each scenario of issue 7
with wrk (fixed duration and concurrency, keep-alive), samples the server's RSS and the CPU the
rest of the machine used meanwhile, and writes bench/results/<date>-<backend>[-quick].json and
.md. See bench/README.md.
"""

import argparse
import http.client
import json
import os
import platform
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import datagen

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WRK_DIR = os.path.join(HERE, "wrk")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

# A scenario whose run saw more than this much CPU used by other programs (in % of one core,
# averaged over the run) is run again, up to MAX_TRIES times while the run's rerun budget (in
# seconds of wrk time) lasts; the least disturbed run is kept and flagged if still disturbed.
DISTURBED_PCT = 30.0
MAX_TRIES = 3
RERUN_BUDGET = {"full": 240, "quick": 0}
# CLI imports per shape in scenario 7; the median is reported.
IMPORT_RUNS = 3
_budget = {"left": 0}

MODES = {
    # total indicators, users, feeds, indicators in the big feed, wrk seconds, import rows
    "full": dict(total=1_000_000, users=20, feeds=200, big=250_000, seconds=20, import_rows=200_000),
    "quick": dict(total=60_000, users=4, feeds=20, big=25_000, seconds=5, import_rows=20_000),
}

READ_C = 32
V1 = "application/vnd.csirtg.v1"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- machine facts and CPU accounting ----------------------------------------------------------

def machine_facts():
    model = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_total_mb": mem_kb // 1024,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": _first_line(["wrk", "-v"]),
    }


def _first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def loadavg():
    with open("/proc/loadavg") as fh:
        return [float(x) for x in fh.read().split()[:3]]


def uptime_text():
    return _first_line(["uptime"])


def cpu_totals():
    """(busy jiffies, steal jiffies) of the whole machine."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (f + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def proc_cpu(pid):
    """utime + stime jiffies of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            rest = fh.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])
    except (OSError, IndexError, ValueError):
        return 0


def pids_named(name):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as fh:
                    if fh.read().strip() == name:
                        out.append(int(d))
            except OSError:
                pass
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Monitor:
    """Samples the server's RSS every 0.2 s and accounts the CPU used meanwhile by the server, the
    load generator, PostgreSQL, this driver and everything else ("others")."""

    def __init__(self, server_pid, postgres):
        self.server_pid = server_pid
        self.postgres = postgres

    def __enter__(self):
        self.samples = []
        self.stop = threading.Event()
        self.t0 = time.monotonic()
        self.load_before = loadavg()
        self.busy0, self.steal0 = cpu_totals()
        self.server0 = proc_cpu(self.server_pid)
        self.pg_pids = pids_named("postgres") if self.postgres else []
        self.pg0 = {p: proc_cpu(p) for p in self.pg_pids}
        self.self0 = _self_cpu()
        self.rss_start = rss_kb(self.server_pid)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop.wait(0.2):
            self.samples.append(rss_kb(self.server_pid))

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.seconds = time.monotonic() - self.t0
        busy1, steal1 = cpu_totals()
        self.rss_end = rss_kb(self.server_pid)
        server = proc_cpu(self.server_pid) - self.server0
        pg = 0
        for p in set(self.pg_pids) | set(pids_named("postgres") if self.postgres else []):
            pg += max(0, proc_cpu(p) - self.pg0.get(p, 0))
        mine = _self_cpu() - self.self0
        self.cpu = {"total": busy1 - self.busy0, "server": server, "postgres": pg,
                    "driver": mine, "steal": steal1 - self.steal0}
        self.load_after = loadavg()
        return False

    def account(self, wrk_jiffies):
        """CPU shares in % of one core, averaged over the monitored time."""
        cpu = dict(self.cpu)
        cpu["wrk"] = wrk_jiffies
        cpu["others"] = max(0, cpu["total"] - cpu["server"] - cpu["postgres"] - cpu["driver"] - wrk_jiffies)
        scale = 100.0 / (CLK_TCK * max(self.seconds, 0.001))
        return {k: round(v * scale, 1) for k, v in cpu.items()}

    def rss(self):
        all_ = [s for s in self.samples + [self.rss_start, self.rss_end] if s]
        return {
            "start_mb": round(self.rss_start / 1024, 1),
            "max_mb": round(max(all_) / 1024, 1) if all_ else None,
            "end_mb": round(self.rss_end / 1024, 1),
        }


def _self_cpu():
    t = os.times()
    return int((t.user + t.system) * CLK_TCK)


# --- the server --------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(db_url, port, log_level):
    """The environment of a benchmarked server (also used by ab.py)."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": db_url,
        "FEEDGATE_BIND": f"127.0.0.1:{port}",
        "FEEDGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # Limits lifted for the bench users (the limited user of scenario 9 gets an override).
        "FEEDGATE_REQUESTS_PER_DAY": "unlimited",
        # Anonymous callers cannot be unlimited in production; a high finite budget keeps
        # the per-request counter write that every real anonymous request pays.
        "FEEDGATE_ANON_REQUESTS_PER_DAY": "1000000000",
        "FEEDGATE_BURST_PER_SECOND": "1000000000",
        "FEEDGATE_BURST_SIZE": "1000000000",
        "FEEDGATE_MAX_INDICATORS": "unlimited",
        "FEEDGATE_MAX_PUBLIC_FEEDS": "unlimited",
        "FEEDGATE_MAX_PRIVATE_FEEDS": "unlimited",
        "FEEDGATE_MAX_BODY_BYTES": str(64 * 1024 * 1024),
        "FEEDGATE_LOG": log_level,
    })
    return env


class Server:
    def __init__(self, binary, db_url, workdir, log_level):
        self.binary, self.db_url, self.workdir = binary, db_url, workdir
        self.port = free_port()
        self.log_path = os.path.join(workdir, "server.log")
        self.env = server_env(db_url, self.port, log_level)
        self.proc = None

    def start(self):
        self.log_fh = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=self.log_fh,
                                     stderr=self.log_fh, cwd=self.workdir)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"feedgate exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _, body = self.request("GET", "/api/health")
                if status == 200:
                    return json.loads(body)
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("feedgate did not answer /api/health within 120 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log_fh.close()

    @property
    def pid(self):
        return self.proc.pid

    def cli(self, *args, check=True):
        out = subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True,
                             cwd=self.workdir)
        if check and out.returncode != 0:
            raise SystemExit(f"feedgate {' '.join(args)} failed: {out.stderr.strip()}")
        return out

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def request(self, method, path, token=None, body=None, headers=None, conn=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Token token={token}"
        if body is not None and not isinstance(body, (bytes, str)) and not hasattr(body, "read"):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = conn or self.conn()
        try:
            c.request(method, path, body=body, headers=h)
            res = c.getresponse()
            data = res.read()
            return res.status, res.headers, data
        finally:
            if conn is None:
                c.close()


# --- seeding -----------------------------------------------------------------------------------

def add_user(server, name):
    out = server.cli("user", "add", name)
    token = out.stdout.strip().splitlines()[-1].strip()
    assert token.startswith("fg_"), f"no token in the output of user add: {out.stdout!r}"
    return token


def create_feed(server, user, token, name):
    status, _, body = server.request("POST", f"/api/users/{user}/feeds", token,
                                     {"feed": {"name": name, "description": "benchmark feed"}})
    if status != 201:
        raise SystemExit(f"creating feed {user}/{name}: {status} {body[:300]!r}")


def seed(server, layout, tokens, threads=2):
    """Posts every feed's indicators in 1,000-item batches; returns (indicators, seconds)."""
    base_epoch = int(time.time()) - 3600
    work = queue.Queue()
    # Interleave the feeds so both client threads keep the server busy.
    batches = []
    for f, u, name, count in layout.plan:
        for start in range(0, count, 1000):
            batches.append((f, u, name, start, min(count, start + 1000)))
    batches.sort(key=lambda b: (b[3], b[0]))
    for b in batches:
        work.put(b)
    done = {"n": 0, "err": None}
    lock = threading.Lock()
    t0 = time.monotonic()

    def worker():
        conn = server.conn()
        while done["err"] is None:
            try:
                f, u, name, start, stop = work.get_nowait()
            except queue.Empty:
                break
            user = layout.user_name(u)
            body = datagen.batch_body(f, start, stop, base_epoch)
            status, _, data = server.request("POST", f"/api/users/{user}/feeds/{name}/indicators_bulk",
                                             tokens[user], body,
                                             {"Content-Type": "application/json"}, conn=conn)
            if status != 200:
                done["err"] = f"bulk into {user}/{name} at {start}: {status} {data[:400]!r}"
                break
            created = json.loads(data)["created"]
            with lock:
                done["n"] += created
                n = done["n"]
            if n // 100_000 != (n - created) // 100_000:
                el = time.monotonic() - t0
                log(f"  seeded {n:,} indicators in {el:.0f} s ({n / el:,.0f}/s)")
        conn.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if done["err"]:
        raise SystemExit(done["err"])
    return done["n"], time.monotonic() - t0


# --- wrk ---------------------------------------------------------------------------------------

def run_wrk(server, script, args, seconds, conns, threads, timeout="10s"):
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s", "--timeout", timeout,
           "--latency", "-s", os.path.join(WRK_DIR, script), f"http://127.0.0.1:{server.port}",
           "--", *[str(a) for a in args]]
    env = dict(os.environ, BENCH_WRK_DIR=WRK_DIR)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    # communicate() reaped the child; its CPU is in our children's times.
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}): {err.decode()[-2000:]}")
    for line in out.decode().splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):]), out.decode()
    raise SystemExit(f"wrk printed no report:\n{out.decode()}\n{err.decode()}")


def _children_cpu():
    t = os.times()
    return int((t.children_user + t.children_system) * CLK_TCK)


# With --perf DIR, every measured run is also recorded with `perf record` (the server's process,
# cpu-clock, DWARF call graphs) and summarised into DIR/<label>.txt.
PERF = {"dir": None, "label": None}


def perf_start(pid, seconds):
    if not PERF["dir"]:
        return None
    os.makedirs(PERF["dir"], exist_ok=True)
    data = os.path.join(PERF["dir"], f"{PERF['label']}.data")
    return subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "499", "--call-graph", "dwarf,16384",
                             "-p", str(pid), "-o", data, "--", "sleep", str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), data


def perf_finish(handle):
    if not handle:
        return
    proc, data = handle
    proc.wait()
    out = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "symbol", "-g", "none",
                          "--stdio", "--percent-limit", "0.5"], capture_output=True, text=True).stdout
    keep = re.compile(r"feedgate::|diesel::|r2d2|sqlite3|pq|actix|tokio::runtime::blocking|serde_json|"
                      r"tracing|malloc|free|futex|pthread_mutex|memmove|memcpy|_raw_spin|finish_task_switch")
    lines = []
    for line in out.splitlines():
        m = re.match(r"\s+([0-9.]+)%\s+([0-9.]+)%\s+\[[.k]\]\s+(.*)", line)
        if m and keep.search(m.group(3)):
            sym = re.sub(r"\s+-\s+-\s*$", "", m.group(3)).strip()
            lines.append(f"{m.group(1):>6}% incl {m.group(2):>6}% self  {sym[:220]}")
    with open(data[:-5] + ".txt", "w") as fh:
        fh.write("\n".join(lines[:120]) + "\n")
    os.remove(data)
    log(f"  profile: {data[:-5]}.txt")


def measure(server, postgres, script, args, seconds, conns, threads, timeout="10s"):
    """One wrk run under the monitor; reruns when other programs took much CPU meanwhile."""
    best = None
    for attempt in range(MAX_TRIES):
        c0 = _children_cpu()
        prof = perf_start(server.pid, seconds) if attempt == 0 else None
        with Monitor(server.pid, postgres) as mon:
            stats, raw = run_wrk(server, script, args, seconds, conns, threads, timeout)
        perf_finish(prof)
        cpu = mon.account(_children_cpu() - c0)
        run = {"wrk": stats, "cpu_pct": cpu, "rss": mon.rss(), "load_before": mon.load_before,
               "load_after": mon.load_after, "attempt": attempt + 1}
        if best is None or cpu["others"] < best["cpu_pct"]["others"]:
            best = run
        if cpu["others"] <= DISTURBED_PCT:
            break
        if _budget["left"] < seconds:
            log(f"  disturbed: other programs used {cpu['others']}% of a core; no rerun budget left")
            break
        _budget["left"] -= seconds
        log(f"  disturbed: other programs used {cpu['others']}% of a core; running again")
    best["attempts"] = attempt + 1
    best["disturbed"] = best["cpu_pct"]["others"] > DISTURBED_PCT
    return best


def summarise(run, per_request=1):
    w = run["wrk"]
    secs = w["duration_us"] / 1e6
    errors = w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["status_errors"] + w["timeouts"]
    ok = w["requests"] - w["status_errors"]
    return {
        "requests": w["requests"],
        "seconds": round(secs, 2),
        "req_per_s": round(w["requests"] / secs, 1),
        "items_per_s": round(ok * per_request / secs, 1),
        "mb_per_s": round(w["bytes"] / secs / 1e6, 1),
        "p50_ms": round(w["p50_us"] / 1000, 2),
        "p90_ms": round(w["p90_us"] / 1000, 2),
        "p99_ms": round(w["p99_us"] / 1000, 2),
        "max_ms": round(w["max_us"] / 1000, 2),
        "errors": errors,
        "error_detail": {k: w[k] for k in ("connect_errors", "read_errors", "write_errors",
                                           "status_errors", "timeouts") if w[k]},
        "bytes": w["bytes"],
        "rss": run["rss"],
        "cpu_pct": run["cpu_pct"],
        "load_before": run["load_before"],
        "load_after": run["load_after"],
        "attempts": run["attempts"],
        "disturbed": run["disturbed"],
    }


# --- the scenarios -----------------------------------------------------------------------------

def write_lines(path, lines):
    with open(path, "w") as fh:
        for line in lines:
            fh.write(line + "\n")
    return path


def search_paths(values, extra=""):
    return [f"/api/search?q={urllib.parse.quote(v, safe='')}{extra}" for v in values]


def follow_pages(server, token, path, pages):
    """Follows `Link: rel=next` `pages` times; returns the path+query of the next page."""
    link_re = re.compile(r"<([^>]+)>;\s*rel=\"next\"")
    for _ in range(pages):
        status, headers, _ = server.request("GET", path, token)
        if status != 200:
            raise SystemExit(f"GET {path}: {status}")
        m = link_re.search(headers.get("Link", ""))
        if not m:
            raise SystemExit(f"no next page after {path}")
        u = urllib.parse.urlsplit(m.group(1))
        path = u.path + "?" + u.query
    return path


TAXII = "application/taxii+json;version=2.1"


def taxii_objects_path(server, token, title):
    """The objects path of the TAXII collection titled `title` (`user/feed`)."""
    status, _, body = server.request("GET", "/taxii2/feeds/collections/", token, headers={"Accept": TAXII})
    if status != 200:
        raise SystemExit(f"TAXII collections: {status} {body[:300]!r}")
    for c in json.loads(body).get("collections", []):
        if c["title"] == title:
            return f"/taxii2/feeds/collections/{c['id']}/objects/"
    raise SystemExit(f"no TAXII collection {title}")


def follow_taxii_next(server, token, path, pages):
    """Follows a TAXII envelope's `next` `pages` times; returns the path of the next page."""
    base = path
    for _ in range(pages):
        status, _, body = server.request("GET", path, token, headers={"Accept": TAXII})
        if status != 200:
            raise SystemExit(f"GET {path}: {status}")
        envelope = json.loads(body)
        if not envelope.get("more"):
            raise SystemExit(f"no next page after {path}")
        path = f"{base}&next={urllib.parse.quote(envelope['next'])}"
    return path


def check_path(server, token, path, accept=None, expect_items=True):
    """A scenario's request must succeed (and find something) before it is measured."""
    status, headers, body = server.request("GET", path, token, headers={"Accept": accept} if accept else None)
    if status != 200:
        raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
    if expect_items and body.strip() in (b"[]", b""):
        raise SystemExit(f"GET {path} found nothing")
    return headers, body


def import_available(binary):
    try:
        out = subprocess.run([binary, "import", "shadowserver", "--help"], capture_output=True, timeout=30)
        return out.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def run_import_cli(server, user, feed, path):
    """`feedgate import shadowserver` end to end: (seconds, peak RSS kB, CPU jiffies, summary)."""
    cmd = [server.binary, "import", "shadowserver", "--user", user, "--feed", feed, "--json", path]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        pid = subprocess.Popen(cmd, env=server.env, stdout=out, stderr=err, cwd=server.workdir).pid
        _, status, usage = os.wait4(pid, 0)
        secs = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    jiffies = int((usage.ru_utime + usage.ru_stime) * CLK_TCK)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        return secs, usage.ru_maxrss, jiffies, {"error": stderr.decode()[-500:], "exit": code}
    try:
        summary = json.loads(stdout)
    except ValueError:
        summary = {"raw": stdout.decode()[-500:]}
    return secs, usage.ru_maxrss, jiffies, summary


def run_import_http(server, user, token, feed, path):
    size = os.path.getsize(path)
    conn = server.conn()
    name = os.path.basename(path)
    t0 = time.monotonic()
    with open(path, "rb") as fh:
        conn.request("POST", f"/api/users/{user}/feeds/{feed}/imports/shadowserver?filename={name}",
                     body=fh, headers={"Authorization": f"Token token={token}",
                                       "Content-Type": "text/csv", "Content-Length": str(size)})
        res = conn.getresponse()
        data = res.read()
    secs = time.monotonic() - t0
    conn.close()
    try:
        summary = json.loads(data)
    except ValueError:
        summary = {"raw": data[:500].decode(errors="replace")}
    summary["_status"] = res.status
    return secs, summary


def ms(v):
    return f"{v:.2f}"


class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.mode = "quick" if opts.quick else "full"
        self.cfg = dict(MODES[self.mode])
        if opts.seconds:
            self.cfg["seconds"] = opts.seconds
        self.backend = "postgres" if opts.postgres else "sqlite"
        self.results = []
        self.notes = []
        self.only = set(opts.only.split(",")) if opts.only else None
        _budget["left"] = RERUN_BUDGET[self.mode]

    def wanted(self, sid):
        return self.only is None or sid in self.only

    def add(self, sid, name, metric, value, stats, target, passed, extra=None):
        row = {"id": sid, "scenario": name, "metric": metric, "value": value, "target": target,
               "pass": passed}
        if stats:
            row.update(stats)
        if extra:
            row.update(extra)
        self.results.append(row)
        shown = f"{value:,.1f}" if isinstance(value, (int, float)) else value
        p = f" p50 {stats['p50_ms']} ms p99 {stats['p99_ms']} ms" if stats and "p50_ms" in stats else ""
        verdict = {True: "pass", False: "MISS", None: "-"}[passed]
        log(f"  {sid} {name}: {shown} {metric}{p} [{verdict}]")

    def run(self):
        opts = self.opts
        self.workdir = tempfile.mkdtemp(prefix=f"feedgate-bench-{self.backend}-")
        schema = None
        if opts.postgres:
            schema = "bench_" + secrets.token_hex(4)
            self.pg_schema = schema
            psql(opts.postgres, f"CREATE SCHEMA {schema}")
            self.pg_facts = psql(opts.postgres, "SELECT version() || '; shared_buffers ' || "
                                 "current_setting('shared_buffers') || '; synchronous_commit ' || "
                                 "current_setting('synchronous_commit')").strip()
            sep = "&" if "?" in opts.postgres else "?"
            db_url = f"{opts.postgres}{sep}options=-csearch_path%3D{schema}"
        else:
            db_url = "sqlite://" + os.path.join(self.workdir, "feedgate.db")
        self.server = Server(opts.binary, db_url, self.workdir, opts.log)
        started = time.time()
        try:
            self._run_all(started)
        finally:
            self.server.stop()
            if schema and not opts.keep:
                psql(opts.postgres, f"DROP SCHEMA {schema} CASCADE")
            if not opts.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)
            else:
                log(f"kept {self.workdir}" + (f" and schema {schema}" if schema else ""))

    def _run_all(self, started):
        cfg, server = self.cfg, self.server
        layout = datagen.Layout(cfg["total"], cfg["users"], cfg["feeds"], cfg["big"])
        self.meta = {
            "date": time.strftime("%Y-%m-%d", time.gmtime(started)),
            "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "backend": self.backend, "mode": self.mode, "machine": machine_facts(),
            "commit": git(["rev-parse", "--short", "HEAD"]),
            "dirty_files": len([l for l in git(["status", "--porcelain", "--", "src", "migrations",
                                                "Cargo.toml", "Cargo.lock"]).splitlines() if l]),
            "postgres": getattr(self, "pg_facts", None),
            "uptime_start": uptime_text(), "settings": {
                "wrk_seconds": cfg["seconds"], "read_connections": READ_C, "wrk_threads": 2,
                "server_workers": "default (one per CPU)", "log": self.opts.log,
                "disturbed_above_pct_of_core": DISTURBED_PCT},
        }
        log(f"{self.backend} {self.mode} run in {self.workdir}; {uptime_text()}")
        health = server.start()
        log(f"server up on port {server.port}: {health}")

        # Users: the seeded ones, a reader, a limited reader, a writer and an importer.
        tokens = {}
        for u in range(layout.users):
            tokens[layout.user_name(u)] = add_user(server, layout.user_name(u))
        for name in ("reader", "limited", "writer", "importer"):
            tokens[name] = add_user(server, name)
        server.cli("user", "quota", "limited", "--requests-per-day", "1000000000")
        for f, u, name, _ in layout.plan:
            create_feed(server, layout.user_name(u), tokens[layout.user_name(u)], name)
        for name in ("single", "bulk"):
            create_feed(server, "writer", tokens["writer"], name)

        log(f"seeding {layout.total:,} indicators over {layout.users} users and {layout.feeds} feeds")
        n, secs = seed(server, layout, tokens)
        self.meta["seed"] = {"indicators": n, "users": layout.users, "feeds": layout.feeds,
                             "big_feed": layout.big, "seconds": round(secs, 1),
                             "indicators_per_s": round(n / secs, 1), "client_connections": 2,
                             "rss_after_mb": round(rss_kb(server.pid) / 1024, 1)}
        log(f"seeded {n:,} in {secs:.1f} s ({n / secs:,.0f}/s); server RSS {self.meta['seed']['rss_after_mb']} MB")
        if n != layout.total:
            raise SystemExit(f"seeded {n} indicators, planned {layout.total}")
        if self.backend == "postgres":
            # A million rows just bulk-loaded: autovacuum would vacuum and analyze them during
            # the scenarios (one import after the seed took 54-90 s instead of 13-17 s while it
            # ran). The steady state is measured, as an operator's database after a bulk load.
            t0 = time.monotonic()
            sch = self.pg_schema
            psql(self.opts.postgres,
                 f"VACUUM (ANALYZE) {sch}.indicators, {sch}.feeds, {sch}.users, {sch}.api_tokens")
            self.meta["seed"]["vacuum_analyze_s"] = round(time.monotonic() - t0, 1)
            log(f"VACUUM (ANALYZE) after the seed: {self.meta['seed']['vacuum_analyze_s']} s")

        secs_run = cfg["seconds"]
        pg = self.backend == "postgres"
        wd = self.workdir
        reader = tokens["reader"]
        big_user = layout.user_name(0)

        ips = datagen.queries(layout, "ipv4", 2000)
        fqdns = datagen.queries(layout, "fqdn", 2000)
        ip_file = write_lines(os.path.join(wd, "ip.txt"), search_paths(ips))
        fqdn_file = write_lines(os.path.join(wd, "fqdn.txt"), search_paths(fqdns))
        c16_file = write_lines(os.path.join(wd, "c16.txt"), search_paths(datagen.cidr16_queries()))
        c24_file = write_lines(os.path.join(wd, "c24.txt"), search_paths(datagen.cidr24_queries(layout, 2000)))
        sfx_file = write_lines(os.path.join(wd, "sfx.txt"), search_paths(datagen.suffix_queries(2000)))
        for f in (ip_file, fqdn_file, c16_file, c24_file, sfx_file):
            with open(f) as fh:
                check_path(server, reader, fh.readline().strip())

        # Warm-up: the first reads after seeding fill caches; not measured.
        run_wrk(server, "paths.lua", [ip_file, reader], 3, READ_C, 2)

        def read(sid, name, path_file, token, target_rps=None, target_p99=None, accept="-",
                 conns=READ_C, threads=2, timeout="10s"):
            if not self.wanted(sid):
                return None
            log(f"scenario {sid}: {name}")
            PERF["label"] = f"{self.backend}-{sid}"
            st = summarise(measure(server, pg, "paths.lua", [path_file, token or "-", accept],
                                   secs_run, conns, threads, timeout))
            passed = None
            targets = []
            if target_rps is not None:
                targets.append(f">= {target_rps:,} req/s")
            if target_p99 is not None:
                targets.append(f"p99 <= {target_p99} ms")
            if targets:
                passed = ((target_rps is None or st["req_per_s"] >= target_rps)
                          and (target_p99 is None or st["p99_ms"] <= target_p99) and st["errors"] == 0)
            self.add(sid, name, "req/s", st["req_per_s"], st, ", ".join(targets) or "-", passed)
            return st

        read("3a", "exact search, ipv4", ip_file, reader, 15_000, 5)
        read("3b", "exact search, fqdn", fqdn_file, reader, 15_000, 5)
        read("4a", "CIDR /16 search", c16_file, reader, None, 10)
        read("4b", "CIDR /24 search", c24_file, reader, None, 10)
        read("4c", "domain-suffix search", sfx_file, reader, None, 10)

        first = f"/api/users/{big_user}/feeds/big?limit=100"
        check_path(server, reader, first)
        deep = follow_pages(server, reader, first, 100)
        check_path(server, reader, deep)
        read("5a", "feed show limit 100, first page", write_lines(os.path.join(wd, "p1.txt"), [first]),
             reader, None, 20)
        read("5b", "feed show limit 100, 10,000 rows deep", write_lines(os.path.join(wd, "pdeep.txt"), [deep]),
             reader, None, 20)

        if self.wanted("10a") or self.wanted("10b"):
            objects = taxii_objects_path(server, reader, f"{big_user}/big") + "?limit=100"
            check_path(server, reader, objects, accept=TAXII)
            deep = follow_taxii_next(server, reader, objects, 100)
            check_path(server, reader, deep, accept=TAXII)
            read("10a", "TAXII objects limit 100, first page",
                 write_lines(os.path.join(wd, "taxii1.txt"), [objects]), reader, None, 20, accept=TAXII)
            read("10b", "TAXII objects limit 100, 10,000 objects deep",
                 write_lines(os.path.join(wd, "taxiideep.txt"), [deep]), reader, None, 20, accept=TAXII)

        if self.wanted("6"):
            export = f"/api/users/{big_user}/feeds/big.csv"
            log(f"scenario 6: whole-feed CSV export of {layout.big:,} indicators")
            PERF["label"] = f"{self.backend}-6"
            # The owner's token: anonymous exports hold only the 25 newest.
            t0 = time.monotonic()
            _, body = check_path(server, tokens[big_user], export)
            one = time.monotonic() - t0
            rows = body.count(b"\r\n") - 1
            # Long enough for a few whole exports (wrk's latencies count only finished ones).
            secs = int(min(300, max(secs_run, 10, 3 * one + 1)))
            log(f"  one export took {one:.1f} s; measuring for {secs} s")
            st = summarise(measure(server, pg, "paths.lua",
                                   [write_lines(os.path.join(wd, "export.txt"), [export]), tokens[big_user]],
                                   secs, 1, 1, timeout="300s"))
            st["single_export_s"] = round(one, 2)
            growth = st["rss"]["max_mb"] - st["rss"]["start_mb"]
            st["rss_growth_mb"] = round(growth, 1)
            st["export_rows"] = rows
            st["export_bytes"] = len(body)
            passed = st["mb_per_s"] >= 50 and growth <= 32 and st["errors"] == 0
            self.add("6", f"CSV export, {rows:,}-row feed ({len(body) / 1e6:.0f} MB), c=1", "MB/s",
                     st["mb_per_s"], st, ">= 50 MB/s, RSS flat (growth <= 32 MB)", passed)

        read("8", "anonymous search, ipv4 (limit 25)", ip_file, None)

        if self.wanted("9"):
            log("scenario 9: daily-limit accounting, limited vs unlimited user (interleaved)")
            runs = {"unlimited": [], "limited": []}
            for rnd in range(2):
                for who in ("unlimited", "limited"):
                    PERF["label"] = f"{self.backend}-9-{who}-{rnd}"
                    token = reader if who == "unlimited" else tokens["limited"]
                    runs[who].append(summarise(measure(server, pg, "paths.lua", [ip_file, token, "-"],
                                                       max(secs_run // 2, 5), READ_C, 2)))
            # The limited user really is limited: its answers carry the daily headers.
            status, headers, _ = server.request("GET", "/api/search?q=" + ips[0], tokens["limited"])
            assert headers.get("X-Ratelimit-Limit") == "1000000000", dict(headers)
            un = sum(r["req_per_s"] for r in runs["unlimited"]) / 2
            li = sum(r["req_per_s"] for r in runs["limited"]) / 2
            cost = (1 - li / un) * 100
            st = {"unlimited_req_per_s": round(un, 1), "limited_req_per_s": round(li, 1),
                  "p50_ms": round(sum(r["p50_ms"] for r in runs["limited"]) / 2, 2),
                  "p99_ms": round(sum(r["p99_ms"] for r in runs["limited"]) / 2, 2),
                  "unlimited_p50_ms": round(sum(r["p50_ms"] for r in runs["unlimited"]) / 2, 2),
                  "unlimited_p99_ms": round(sum(r["p99_ms"] for r in runs["unlimited"]) / 2, 2),
                  "errors": sum(r["errors"] for r in runs["limited"] + runs["unlimited"]),
                  "rss": {"max_mb": max(r["rss"]["max_mb"] for r in runs["limited"] + runs["unlimited"])},
                  "runs": runs,
                  "disturbed": any(r["disturbed"] for r in runs["limited"] + runs["unlimited"]),
                  "load_before": runs["unlimited"][0]["load_before"],
                  "load_after": runs["limited"][-1]["load_after"]}
            self.add("9", f"limit accounting: limited {li:,.0f} vs unlimited {un:,.0f} req/s (exact ipv4 search)",
                     "% cost", round(cost, 1), st, "<= 10 % of a read", cost <= 10)

        if self.wanted("1"):
            log("scenario 1: single create (v1), c=32")
            PERF["label"] = f"{self.backend}-1"
            st = summarise(measure(server, pg, "create.lua", ["writer", "single", tokens["writer"], 0],
                                   secs_run, 32, 2))
            passed = st["req_per_s"] >= 5000 and st["p99_ms"] <= 20 and st["errors"] == 0
            self.add("1", "single create, v1, c=32", "req/s", st["req_per_s"], st,
                     ">= 5,000 req/s, p99 <= 20 ms", passed)

        if self.wanted("2"):
            log("scenario 2: bulk of 1,000-item batches, c=4")
            PERF["label"] = f"{self.backend}-2"
            st = summarise(measure(server, pg, "bulk.lua", ["writer", "bulk", tokens["writer"], 0],
                                   secs_run, 4, 2, timeout="60s"), per_request=1000)
            passed = st["items_per_s"] >= 100_000 and st["errors"] == 0
            self.add("2", "bulk create, 1,000-item batches, c=4", "indicators/s", st["items_per_s"], st,
                     ">= 100,000 indicators/s", passed)

        if self.wanted("7"):
            self.import_scenario(tokens)

        # The RSS target is the steady state with the data stored: the import rows (their own
        # figures above) are left out.
        rss_max = max([(r.get("rss") or {}).get("max_mb") or 0 for r in self.results
                       if not r["id"].startswith("7")] + [self.meta["seed"]["rss_after_mb"]])
        self.add("rss", f"server RSS, max over seeding and scenarios 1-6, 8, 9 ({n:,}+ stored)", "MB",
                 rss_max, None, "<= 150 MB", rss_max <= 150)
        self.meta["uptime_end"] = uptime_text()
        self.meta["server_log_lines"] = _count_lines(server.log_path)

    def import_scenario(self, tokens):
        server = self.server
        rows = self.cfg["import_rows"]
        if not import_available(server.binary):
            log("scenario 7: not available (`feedgate import shadowserver --help` fails)")
            for shape in ("blocklist", "scan_ssl"):
                self.add(f"7-{shape}", f"Shadowserver import, {shape}, {rows:,} rows", "rows/s",
                         "not available", None, ">= 50,000 rows/s", None)
            self.notes.append("Scenario 7 did not run: this build has no `feedgate import shadowserver`.")
            return
        samples = os.path.join(ROOT, "tests", "data", "shadowserver", "intelmq-testdata")
        for shape in ("blocklist", "scan_ssl"):
            path = os.path.join(self.workdir, f"2024-01-01-{shape}-bench-{rows}.csv")
            t0 = time.monotonic()
            size = datagen.shadowserver_csv(os.path.join(samples, f"{shape}.csv"), rows, path)
            log(f"scenario 7: {shape}: generated {rows:,} rows, {size / 1e6:.0f} MB in {time.monotonic() - t0:.0f} s")
            # CLI, end to end (process start to exit), each run into a fresh feed. This machine
            # varies by 10-15 % from one run to the next: the row reports the median of
            # IMPORT_RUNS runs and lists every run's seconds.
            runs = []
            for attempt in range(IMPORT_RUNS):
                feed = f"ss-{shape.replace('_', '-')}-cli" + (f"-{attempt + 1}" if attempt else "")
                create_feed(server, "importer", tokens["importer"], feed)
                # The generator (and the run before) left hundreds of MB of dirty pages: written
                # out first, so the kernel's writeback of them is not timed as the import's.
                os.sync()
                with Monitor(server.pid, self.backend == "postgres") as mon:
                    secs, peak_kb, jiffies, summary = run_import_cli(server, "importer", feed, path)
                runs.append((secs, peak_kb, jiffies, summary, mon))
            secs, peak_kb, jiffies, summary, mon = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
            ok = all(r[3].get("rows_read") == rows and r[3].get("indicators_created") == rows for r in runs)
            cpu = mon.account(0)
            cpu["cli"] = round(jiffies * 100.0 / (CLK_TCK * max(mon.seconds, 0.001)), 1)
            cpu["others"] = round(max(0.0, cpu["others"] - cpu["cli"]), 1)
            # The RSS of this row is the CLI's peak (ru_maxrss), not the server's.
            st = {"seconds": round(secs, 2), "rows": rows, "file_mb": round(size / 1e6, 1),
                  "runs_seconds": [round(r[0], 2) for r in runs],
                  "summary": _short_summary(summary), "rss_of": "cli",
                  "rss": {"max_mb": round(max(r[1] for r in runs) / 1024, 1)}, "cpu_pct": cpu,
                  "load_before": mon.load_before, "load_after": mon.load_after,
                  "errors": 0 if ok else 1}
            rate = rows / secs
            self.add(f"7-{shape}", f"Shadowserver import, {shape}, {rows:,} rows, CLI (median of {len(runs)})",
                     "rows/s", round(rate, 1), st, ">= 50,000 rows/s", ok and rate >= 50_000)
            # HTTP, into another fresh feed.
            feed = f"ss-{shape.replace('_', '-')}-http"
            create_feed(server, "importer", tokens["importer"], feed)
            os.sync()
            with Monitor(server.pid, self.backend == "postgres") as mon:
                secs, summary = run_import_http(server, "importer", tokens["importer"], feed, path)
            ok = summary.get("_status") == 200 and summary.get("indicators_created") == rows
            st = {"seconds": round(secs, 2), "rows": rows, "file_mb": round(size / 1e6, 1),
                  "summary": _short_summary(summary), "rss": mon.rss(), "cpu_pct": mon.account(0),
                  "load_before": mon.load_before, "load_after": mon.load_after,
                  "errors": 0 if ok else 1}
            self.add(f"7-{shape}-http", f"Shadowserver import, {shape}, {rows:,} rows, HTTP", "rows/s",
                     round(rows / secs, 1), st, "(reported)", None)
            os.remove(path)

    # --- output ----------------------------------------------------------------------------------

    def write(self):
        out_dir = self.opts.out
        os.makedirs(out_dir, exist_ok=True)
        stem = f"{self.meta['date']}-{self.backend}" + ("-quick" if self.mode == "quick" else "")
        jpath = os.path.join(out_dir, stem + ".json")
        doc = dict(self.meta)
        doc["results"] = self.results
        doc["notes"] = self.notes
        if self.only and os.path.exists(jpath):
            # A rerun of some scenarios replaces their rows in that day's results.
            with open(jpath) as fh:
                old = json.load(fh)
            new_ids = {r["id"] for r in self.results if r["id"] != "rss"}
            merged = [r for r in old["results"] if r["id"] not in new_ids and r["id"] != "rss"]
            order = ["3a", "3b", "4a", "4b", "4c", "5a", "5b", "10a", "10b", "6", "8", "9", "1", "2"]
            merged += [r for r in self.results if r["id"] != "rss"]
            merged.sort(key=lambda r: (order.index(r["id"]) if r["id"] in order else len(order), r["id"]))
            rss_max = max([(r.get("rss") or {}).get("max_mb") or 0 for r in merged
                           if not r["id"].startswith("7")] + [old["seed"]["rss_after_mb"]])
            rss_row = dict(next(r for r in old["results"] if r["id"] == "rss"))
            rss_row.update(value=rss_max, **{"pass": rss_max <= 150})
            old["results"] = merged + [rss_row]
            old.setdefault("reruns", []).append({
                "ids": sorted(new_ids), "started_utc": self.meta["started_utc"], "commit": self.meta["commit"],
                "uptime_start": self.meta["uptime_start"], "uptime_end": self.meta.get("uptime_end"),
                "seed": self.meta["seed"]})
            old["notes"] = old.get("notes", []) + [
                f"Scenarios {', '.join(sorted(new_ids))} were run again at {self.meta['started_utc']} "
                f"(commit {self.meta['commit']}, fresh server and seed) and replace the first figures."]
            doc = old
        with open(jpath, "w") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        base = None
        if self.backend == "postgres":
            base = _latest(out_dir, "sqlite", self.mode)
        mpath = os.path.join(out_dir, stem + ".md")
        with open(mpath, "w") as fh:
            fh.write(markdown(doc, base))
        log(f"wrote {jpath} and {mpath}")
        return mpath


def _short_summary(s):
    keep = ("rows_read", "indicators_created", "indicators_updated", "indicators_unchanged",
            "rows_skipped", "duration_ms", "_status", "error", "exit", "raw", "message", "code")
    return {k: s[k] for k in keep if k in s}


def _count_lines(path):
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


def _latest(out_dir, backend, mode):
    suffix = f"-{backend}" + ("-quick" if mode == "quick" else "") + ".json"
    names = sorted(n for n in os.listdir(out_dir) if n.endswith(suffix)
                   and re.match(r"\d{4}-\d{2}-\d{2}-", n))
    if not names:
        return None
    with open(os.path.join(out_dir, names[-1])) as fh:
        return json.load(fh)


def fmt_value(r):
    v = r["value"]
    if not isinstance(v, (int, float)):
        return str(v)
    unit = r["metric"]
    if unit == "% cost":
        return f"{v:.1f} %"
    if unit == "MB/s":
        return f"{v:,.1f} MB/s"
    if unit == "MB":
        return f"{v:,.0f} MB"
    return f"{v:,.0f} {unit}"


def markdown(doc, base=None):
    m = doc["machine"]
    lines = [
        f"# feedgate benchmark, {doc['backend']}, {doc['mode']} run, {doc['date']}",
        "",
        f"- Machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['mem_total_mb']:,} MB RAM, Linux {m['kernel']}; {m['wrk']}",
        f"- Commit {doc['commit']}" + (f" with {doc['dirty_files']} uncommitted source files" if doc["dirty_files"] else "")
        + f"; started {doc['started_utc']}",
        *([f"- PostgreSQL: {doc['postgres']} (server defaults; feedgate's RSS excludes the PostgreSQL processes, whose CPU is in the details)"] if doc.get("postgres") else []),
        f"- Load: at start `{doc['uptime_start']}`; at end `{doc.get('uptime_end', '?')}`",
        f"- Seed: {doc['seed']['indicators']:,} indicators, {doc['seed']['users']} users, {doc['seed']['feeds']} feeds "
        f"(biggest {doc['seed']['big_feed']:,}), through indicators_bulk in {doc['seed']['seconds']} s "
        f"({doc['seed']['indicators_per_s']:,.0f}/s, 2 client connections); server RSS after seeding "
        f"{doc['seed']['rss_after_mb']} MB",
        f"- wrk {doc['settings']['wrk_seconds']} s per run, keep-alive, 2 threads, c={doc['settings']['read_connections']} "
        f"unless stated; server with default workers and pool; log level `{doc['settings']['log']}`",
        "",
    ]
    head = "| # | scenario | result | p50 ms | p99 ms | errors | RSS max MB | others' CPU | target | |"
    sep = "|---|---|---:|---:|---:|---:|---:|---:|---|---|"
    if base:
        head += " vs SQLite |"
        sep += "---:|"
        by_id = {r["id"]: r for r in base["results"]}
    lines += [head, sep]
    for r in doc["results"]:
        verdict = {True: "pass", False: "**miss**", None: "–"}[r["pass"]]
        others = r.get("cpu_pct", {}).get("others")
        if "runs" in r:
            others = max(x["cpu_pct"]["others"] for x in r["runs"]["limited"] + r["runs"]["unlimited"])
        cells = [
            r["id"], r["scenario"], fmt_value(r),
            ms(r["p50_ms"]) if "p50_ms" in r and r.get("requests", 1) else "–",
            ms(r["p99_ms"]) if "p99_ms" in r and r.get("requests", 1) else "–",
            str(r.get("errors", "–")),
            (f"{r['rss']['max_mb']:.0f}" + (" (CLI)" if r.get("rss_of") == "cli" else "")
             if r.get("rss") and r["rss"].get("max_mb") is not None else "–"),
            (f"{others:.0f} %" + (" (disturbed)" if r.get("disturbed") else "")) if others is not None else "–",
            r["target"], verdict,
        ]
        if base:
            b = by_id.get(r["id"])
            ratio = "–"
            if b and isinstance(b["value"], (int, float)) and isinstance(r["value"], (int, float)) and b["value"]:
                if r["metric"] in ("req/s", "indicators/s", "MB/s", "rows/s"):
                    ratio = f"{b['value'] / r['value']:.1f}× slower" if r["value"] < b["value"] else \
                        f"{r['value'] / b['value']:.1f}× faster"
            cells.append(ratio)
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Details per scenario (CPU in % of one core over the run: server, wrk, PostgreSQL, "
              "others = every other program on the machine; load average before → after):", ""]
    for r in doc["results"]:
        cpu = r.get("cpu_pct")
        bits = []
        if cpu:
            bits.append("CPU " + ", ".join(f"{k} {v}" for k, v in cpu.items() if k != "total"))
        if r.get("load_before"):
            bits.append(f"load {r['load_before'][0]} → {r['load_after'][0]}")
        if "rss" in r and r["rss"].get("start_mb") is not None:
            bits.append(f"RSS {r['rss']['start_mb']} → max {r['rss']['max_mb']} → {r['rss']['end_mb']} MB")
        if "requests" in r:
            bits.append(f"{r['requests']:,} requests in {r['seconds']} s")
        if r.get("attempts", 1) > 1:
            bits.append(f"{r['attempts']} attempts")
        if "unlimited_req_per_s" in r:
            bits.append(f"unlimited p50/p99 {r['unlimited_p50_ms']}/{r['unlimited_p99_ms']} ms, "
                        f"limited {r['p50_ms']}/{r['p99_ms']} ms")
        if r.get("runs_seconds"):
            bits.append("runs " + ", ".join(f"{x} s" for x in r["runs_seconds"]) + " (median shown)")
        if "summary" in r:
            bits.append(f"summary {json.dumps(r['summary'])}")
        if r.get("error_detail"):
            bits.append(f"errors {r['error_detail']}")
        if bits:
            lines.append(f"- {r['id']}: " + "; ".join(bits))
    for n in doc.get("notes", []):
        lines += ["", n]
    return "\n".join(lines) + "\n"


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"psql {sql!r}: {out.stderr.strip()}")
    return out.stdout


def git(args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return ""


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--postgres", metavar="URL")
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "feedgate"))
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--seconds", type=int, help="override the wrk duration of each run")
    p.add_argument("--only", help="comma list of scenario ids to run (3a,3b,4a,4b,4c,5a,5b,10a,10b,6,8,9,1,2,7)")
    p.add_argument("--log", default="info", help="FEEDGATE_LOG of the server (default: info, the server default)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (and schema)")
    p.add_argument("--perf", metavar="DIR", help="also record each measured run with perf into DIR/<backend>-<id>.txt")
    opts = p.parse_args()
    PERF["dir"] = opts.perf
    bench = Bench(opts)
    t0 = time.monotonic()
    try:
        bench.run()
    finally:
        if getattr(bench, "meta", None) and "seed" in bench.meta:
            bench.meta["wall_seconds"] = round(time.monotonic() - t0, 1)
            path = bench.write()
            with open(path) as fh:
                print(fh.read())
    log(f"done in {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
