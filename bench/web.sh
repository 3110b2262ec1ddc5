#!/usr/bin/env bash
# Times the web pages (issue 22) with wrk against a built server on a fresh SQLite file:
# seeds a feed of N indicators (addresses, /24 networks, host names, URLs; tags, a comment
# on some) plus 40 small feeds through the API, then runs wrk on each page as an anonymous
# visitor (the anonymous budget lifted to 10^9 a day: every request still pays its counter)
# and prints a table of req/s, p50 and p99. Target: every page p99 <= 20 ms.
#
#   bench/web.sh [--binary PATH] [--indicators N] [--seconds S] [--connections C]
#
# Defaults: target/release/feedgate, 20000 indicators, 10 s, 8 connections (2 wrk threads).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=target/release/feedgate
n=20000
seconds=10
conns=8
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --indicators) n=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$binary" ] || { echo "no server binary at $binary: cargo build --release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env DATABASE_URL="sqlite://$work/web.db" FEEDGATE_LOG=warn FEEDGATE_REQUESTS_PER_DAY=unlimited \
  FEEDGATE_ANON_REQUESTS_PER_DAY=1000000000 FEEDGATE_BURST_PER_SECOND=1000000000 \
  FEEDGATE_BURST_SIZE=1000000000 FEEDGATE_MAX_INDICATORS=unlimited FEEDGATE_MAX_PUBLIC_FEEDS=unlimited \
  FEEDGATE_MAX_PRIVATE_FEEDS=unlimited "$binary" serve --bind "127.0.0.1:$port" 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  grep -q 'fg_' "$work/server.log" 2>/dev/null && break
  sleep 0.1
done
token=$(grep -o 'fg_[A-Za-z0-9_-]\{43\}' "$work/server.log" | head -1)
base="http://127.0.0.1:$port"

# The data, through the API: bulk batches of 1,000.
python3 - "$base" "$token" "$n" <<'PY'
import json, sys, urllib.request
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def post(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Authorization": "Token token=" + token})
    urllib.request.urlopen(req).read()
post("/api/users/admin/feeds", {"feed": {"name": "big", "description": "the benchmark's feed"}})
for f in range(40):
    post("/api/users/admin/feeds", {"feed": {"name": f"small{f:02}", "description": f"feed {f}"}})
    post(f"/api/users/admin/feeds/small{f:02}/indicators", {"indicator": f"host{f}.bench.example"})
tags = ["ssh", "scanner", "botnet", "phishing", "tor", "spam"]
def item(i):
    a, b = 11 + i % 200, (i // 200) % 256
    kind = i % 10
    if kind < 5:
        v = f"{a}.{b}.{i % 256}.{(i * 7) % 256}"
    elif kind < 6:
        v = f"{a}.{b}.{i % 256}.0/24"
    elif kind < 8:
        v = f"h{i}.d{i % 300}.bench.example"
    else:
        v = f"http://d{i % 300}.bench.example/p/{i}"
    return {"indicator": v, "tags": [tags[i % 6], tags[(i // 6) % 6]], "description": f"item {i}"}
for start in range(0, n, 1000):
    post("/api/users/admin/feeds/big/indicators_bulk",
         {"indicators": [item(i) for i in range(start, min(n, start + 1000))]})
for i in range(0, 50):
    post("/api/users/admin/feeds/big/indicators", {"indicator": item(i * 101)["indicator"], "comment": f"seen again {i}"})
PY
id=$(curl -fsS -H 'Accept: application/vnd.csirtg.v1' "$base/api/users/admin/feeds/big/indicators?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
deep=$(python3 - "$base" <<'PY'
import json, re, sys, urllib.request
base = sys.argv[1]
url = base + "/api/users/admin/feeds/big/indicators?limit=25"
for _ in range(40):   # 1,000 rows deep, as an anonymous visitor pages
    res = urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/vnd.csirtg.v1"}))
    url = re.search(r"<([^>]+)>", res.headers["Link"]).group(1)
print(re.search(r"cursor=([^&]+)", url).group(1))
PY
)

printf '| page | path | req/s | p50 ms | p99 ms |\n|---|---|---:|---:|---:|\n'
run() {  # name path
  out=$(wrk -t2 -c"$conns" -d"${seconds}s" --latency "$base$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  ms() { python3 -c "v='$1'; u={'us':0.001,'ms':1,'s':1000}; import re; m=re.match(r'([0-9.]+)([a-z]+)', v); print(round(float(m.group(1))*u[m.group(2)], 2))"; }
  printf '| %s | `%s` | %s | %s | %s |%s\n' "$1" "$2" "$rps" "$(ms "$p50")" "$(ms "$p99")" "${bad:+ non-2xx: $bad}"
}
run directory "/"
run "directory, filtered" "/?q=small1"
run search "/search?q=11.3.7.49"
run "search /16" "/search?q=12.0.0.0/16"
run "search domain" "/search?q=d7.bench.example"
run user "/u/admin"
run feed "/u/admin/big"
run "feed, 1,000 deep" "/u/admin/big?cursor=$deep"
run "feed, itype=url" "/u/admin/big?itype=url"
run "feed, tags=tor" "/u/admin/big?tags=tor"
run "feed, itype=sha256 (none: the 1,000-row budget)" "/u/admin/big?itype=sha256"
run indicator "/u/admin/big/$id"

run stylesheet "/static/feedgate.css"
# The API's answers to the same reads, under the same load, for comparison.
run "API: directory" "/api/feeds"
run "API: search" "/api/search?q=11.3.7.49"
run "API: feed page" "/api/users/admin/feeds/big"
