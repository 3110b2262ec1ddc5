#!/usr/bin/env bash
# Fuzzes the live server from openapi/openapi.yaml with schemathesis: no generated request may
# get a 5xx. Runs the debug binary the test step built, on a fresh SQLite file, limits lifted.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/st-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite://$work/st.db" FEEDGATE_REQUESTS_PER_DAY=unlimited FEEDGATE_ANON_REQUESTS_PER_DAY=unlimited \
  FEEDGATE_BURST_PER_SECOND=1000000 FEEDGATE_BURST_SIZE=1000000 FEEDGATE_LOG=warn \
  target/debug/feedgate serve --bind "127.0.0.1:$port" 2> "$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do
  grep -q 'fg_' "$work/server.log" 2>/dev/null && break
  sleep 0.2
done
token=$(grep -o 'fg_[A-Za-z0-9_-]\{43\}' "$work/server.log" | head -1)
base="http://127.0.0.1:$port"
# Something to find: a feed with an indicator and a comment.
curl -fsS -H "Authorization: Token token=$token" "$base/api/users/admin/feeds" -d '{"feed": {"name": "f"}}' >/dev/null
curl -fsS -H "Authorization: Token token=$token" "$base/api/users/admin/feeds/f/indicators" \
  -d '{"indicator": "198.51.100.1", "comment": "seed"}' >/dev/null
"$venv/bin/schemathesis" run openapi/openapi.yaml --url "$base" -H "Authorization: Token token=$token" \
  --checks not_a_server_error --max-examples 25 --seed 1
