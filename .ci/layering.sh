#!/usr/bin/env bash
# The layering check (issue 17): arrows point one way, api -> auth, limits -> models -> db,
# domain; cli, import -> models. Grep-level on purpose, so anyone can run it without a build:
#
#   backend   `on_backend!`, or a `DbConnection::Sqlite`/`Postgresql` or `Backend::Sqlite`/
#             `Postgres` branch, outside src/db/ and src/models/ (what differs per backend is
#             decided there only)
#   upward    `crate::api`, `crate::startup` or `crate::state` (also inside `crate::{…}`) in src/models/,
#             src/db/, src/domain/, src/limits/, src/auth/
#   schema    `db::schema` (also inside `db::{…}`) in src/import/, src/api/ or src/web/ (their
#             SQL belongs in models/)
#   web       `crate::web` (also inside `crate::{…}`) below it: the pages use the API's reading
#             code, never the other way round
#
# Comment lines are skipped. Every violation is printed. The ones of today are listed in
# .ci/layering-allow.txt as `file:pattern`; the check fails only on a violation missing from
# that list, and names entries that no longer match so the list can shrink.
set -euo pipefail
cd "$(dirname "$0")/.."

allow_file=.ci/layering-allow.txt

# rule name ; extended regex ; directories searched ; path prefixes exempt
rules=(
  'backend;on_backend!;src;src/db/ src/models/'
  'backend;DbConnection::(Sqlite|Postgresql|Pg)\b;src;src/db/ src/models/'
  'backend;Backend::(Sqlite|Postgres)\b;src;src/db/ src/models/'
  'upward;crate::(api|startup|state)\b|crate::\{[^}]*\b(api|startup|state)\b;src/models src/db src/domain src/limits src/auth;'
  'schema;db::schema\b|db::\{[^}]*\bschema\b;src/import src/api src/web;'
  'web;crate::web\b|crate::\{[^}]*\bweb\b;src/api src/models src/db src/domain src/limits src/auth src/import src/export;'
)

found=()   # file:pattern, one per violating line
report=()  # printable lines
for rule in "${rules[@]}"; do
  IFS=';' read -r name regex dirs exempt <<<"$rule"
  # shellcheck disable=SC2086
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    text=${rest#*:}
    skip=0
    for e in $exempt; do
      case "$file" in "$e"*) skip=1 ;; esac
    done
    [ "$skip" -eq 0 ] || continue
    # A comment that names a pattern is not a dependency.
    if [[ "$text" =~ ^[[:space:]]*// ]]; then
      continue
    fi
    pattern=$(grep -oE "$regex" <<<"$text" | head -1)
    found+=("$file:$pattern")
    report+=("$file:$line: [$name] $pattern: $(sed -E 's/^[[:space:]]+//' <<<"$text")")
  done < <(grep -rnE --include='*.rs' "$regex" $dirs || true)
done

allowed=()
if [ -f "$allow_file" ]; then
  while IFS= read -r entry || [ -n "$entry" ]; do
    entry=${entry%%#*}
    entry=$(sed -E 's/[[:space:]]+$//' <<<"$entry")
    [ -n "$entry" ] && allowed+=("$entry")
  done <"$allow_file"
fi

is_allowed() {
  local x
  for x in "${allowed[@]}"; do [ "$x" = "$1" ] && return 0; done
  return 1
}

new=0
for i in "${!found[@]}"; do
  if is_allowed "${found[$i]}"; then
    echo "allowed  ${report[$i]}"
  else
    echo "NEW      ${report[$i]}"
    new=$((new + 1))
  fi
done

stale=0
for x in "${allowed[@]}"; do
  hit=0
  for f in "${found[@]}"; do [ "$f" = "$x" ] && { hit=1; break; }; done
  if [ "$hit" -eq 0 ]; then
    echo "stale    $x (no longer found: remove it from $allow_file)"
    stale=$((stale + 1))
  fi
done

echo "layering: ${#found[@]} violating lines, allow-list of ${#allowed[@]} entries ($stale stale), $new new"
if [ "$new" -gt 0 ]; then
  echo "layering: FAILED: move the code down a layer, or (only for a violation the redesign will" >&2
  echo "remove) add file:pattern to $allow_file" >&2
  exit 1
fi
