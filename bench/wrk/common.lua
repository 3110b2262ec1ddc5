-- Shared by the scenario scripts (loaded with dofile from $BENCH_WRK_DIR): thread numbering and
-- the report, one line "BENCH_JSON {...}" on stdout that bench/bench.py parses.

local M = {}

local next_tid = 0

-- setup() runs in the main Lua state once per wrk thread: give each thread its number, so the
-- writing scenarios can create values no other thread creates.
function M.setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end

-- The Authorization header for a token argument ("-" = anonymous).
function M.auth(headers, token)
  if token and token ~= "-" then
    headers["Authorization"] = "Token token=" .. token
  end
end

return M
