#!/usr/bin/env bash
# Screenshots of every web page (issue 22), for people to look at: starts the built server on a
# fresh SQLite file with a little data (a public feed with a network, a domain, a URL, a hash
# with an attachment, hostile values; a private feed), then has headless Chromium (Debian's
# `chromium`) take a screenshot of each page, at desktop size and at phone size.
#
#   scripts/screenshots.sh [--binary PATH] [--out DIR]
#
# Defaults: target/release/feedgate if built, else target/debug/feedgate; out target/screenshots
# (under target/, so never committed).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
out=target/screenshots
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  if [ -x target/release/feedgate ]; then binary=target/release/feedgate; else binary=target/debug/feedgate; fi
fi
[ -x "$binary" ] || { echo "no server binary at $binary: run cargo build" >&2; exit 1; }
command -v chromium >/dev/null || { echo "chromium is missing: apt-get install -y --no-install-recommends chromium" >&2; exit 1; }
mkdir -p "$out"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite://$work/shots.db" FEEDGATE_LOG=warn "$binary" serve --bind "127.0.0.1:$port" 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  grep -q 'fg_' "$work/server.log" 2>/dev/null && break
  sleep 0.1
done
token=$(grep -o 'fg_[A-Za-z0-9_-]\{43\}' "$work/server.log" | head -1)
base="http://127.0.0.1:$port"
api() { curl -fsS -H "Authorization: Token token=$token" "$@" >/dev/null; }

api "$base/api/users/admin/feeds" -d '{"feed": {"name": "scanners", "description": "Hosts seen scanning SSH and RDP <script>alert(1)</script>"}}'
api "$base/api/users/admin/feeds" -d '{"feed": {"name": "phishing", "description": "Phishing sites reported by users"}}'
api "$base/api/users/admin/feeds" -d '{"feed": {"name": "internal", "private": true}}'
api "$base/api/users/admin/feeds/scanners/indicators_bulk" -d '{"indicators": [
  {"indicator": "45.33.32.0/24", "tags": ["ssh", "scanner"], "description": "SSH brute force", "portlist": "22", "protocol": "tcp", "confidence": 8},
  {"indicator": "45.33.32.156", "tags": ["rdp"], "description": "\"><img src=x onerror=alert(1)>", "portlist": "3389"},
  {"indicator": "185.220.101.4", "tags": ["tor", "scanner"], "description": "Tor exit scanning"},
  {"indicator": "2606:4700:4700::1111", "tags": ["dns"]}]}'
api "$base/api/users/admin/feeds/phishing/indicators_bulk" -d '{"indicators": [
  {"indicator": "login-secure.example", "tags": ["phishing"]},
  {"indicator": "http://login-secure.example/javascript:alert(1)", "tags": ["phishing", "javascript:alert"]}]}'
api "$base/api/users/admin/feeds/scanners/indicators" -d '{"indicator": "45.33.32.156", "comment": "Seen again from the same host <script>alert(1)</script>"}'
api "$base/api/users/admin/feeds/phishing/indicators" -d '{"indicator": {"tags": ["uce"]}, "attachment": {"data": "UmVjZWl2ZWQ6IGZyb20gbXguZXhhbXBsZS5vcmcK", "filename": "sample.eml"}}'
api "$base/api/users/admin/feeds/internal/indicators" -d '{"indicator": "203.0.113.9"}'
rdp=$(curl -fsS "$base/api/search?q=45.33.32.156" -H 'Accept: application/vnd.csirtg.v1' | python3 -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin) if i["indicator"] == "45.33.32.156"][0])')

shot() {  # name size path
  chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --hide-scrollbars --user-data-dir="$work/profile" --window-size="$2" \
    --screenshot="$out/$1.png" "$base$3" >/dev/null 2>&1
  echo "$out/$1.png  $3"
}
for size in desktop:1280,900 phone:390,844; do
  name=${size%%:*}; dims=${size#*:}
  shot "directory-$name" "$dims" "/"
  shot "search-$name" "$dims" "/search?q=45.33.32.7"
  shot "user-$name" "$dims" "/u/admin"
  shot "feed-$name" "$dims" "/u/admin/scanners"
  shot "indicator-$name" "$dims" "/u/admin/scanners/$rdp"
  shot "signin-$name" "$dims" "/signin"
  shot "not-found-$name" "$dims" "/u/admin/nothing-here"
done
