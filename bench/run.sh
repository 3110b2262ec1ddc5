#!/usr/bin/env bash
# The feedgate benchmark (issue 7): builds the release binary, starts it on a fresh database,
# seeds it through the public API, runs every scenario with wrk and writes
# bench/results/<date>-<backend>[-quick].{json,md}. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'USAGE'
Usage: bench/run.sh [--quick] [--postgres URL] [--help] [-- DRIVER-OPTIONS]

  --quick          small data (60,000 indicators) and 5 s per scenario; under 3 minutes
                   once the release binary is built. Results go to *-quick.{json,md}.
  --postgres URL   run on PostgreSQL instead of SQLite: a fresh schema is created in the
                   database URL names (the role needs CREATE on it) and dropped afterwards.
  --help           this text.

Without --quick: 1,000,000 indicators over 20 users and 200 feeds, 20 s per scenario, under
20 minutes. Needs wrk (installed with apt-get when missing), python3, and psql for --postgres.
Options after -- go to bench/bench.py (e.g. -- --only 3a,9 --seconds 10 --keep --log warn).
USAGE
}

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) usage; exit 0 ;;
    --quick) args+=(--quick); shift ;;
    --postgres)
      [ $# -ge 2 ] || { echo "bench/run.sh: --postgres needs a URL" >&2; exit 2; }
      args+=(--postgres "$2"); shift 2 ;;
    --postgres=*) args+=(--postgres "${1#--postgres=}"); shift ;;
    --) shift; args+=("$@"); break ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench/run.sh: installing wrk" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends wrk >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends wrk >/dev/null; }
fi
command -v python3 >/dev/null 2>&1 || { echo "bench/run.sh: python3 is required" >&2; exit 1; }

echo "bench/run.sh: cargo build --release" >&2
start=$(date +%s)
cargo build --release >&2
echo "bench/run.sh: built in $(( $(date +%s) - start )) s" >&2

exec python3 bench/bench.py "${args[@]}"
