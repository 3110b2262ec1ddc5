-- Scenario 2: indicators_bulk with 1,000 new items per request, half IPv4 addresses (item k is
-- in 11.0.0.0/8 while k < 2^24, then 12.0.0.0/8 and so on), half host names under
-- bulk-bench.net (each thread owns 4,194,304 item numbers from START on, so every START gives
-- values no other START gave). Arguments: USER FEED TOKEN START
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local BATCH = 1000
local path
local headers = { ["Content-Type"] = "application/json" }
local n = 0
local base = 0
local now

setup = common.setup
done = common.done

function init(args)
  path = "/api/users/" .. args[1] .. "/feeds/" .. args[2] .. "/indicators_bulk"
  common.auth(headers, args[3])
  base = tonumber(args[4] or "0") + (tid or 0) * 4194304
  now = os.date("!%Y-%m-%dT%H:%M:%SZ")
end

function request()
  local parts = {}
  for j = 1, BATCH do
    local k = base + n
    n = n + 1
    local value
    if k % 2 == 0 then
      value = string.format("%d.%d.%d.%d", 11 + math.floor(k / 16777216),
        math.floor(k / 65536) % 256, math.floor(k / 256) % 256, k % 256)
    else
      value = string.format("h%d.t%d.bulk-bench.net", k, tid or 0)
    end
    parts[j] = '{"indicator":"' .. value .. '","tags":["scanner"],"description":"bulk bench",' ..
      '"provider":"bench","lasttime":"' .. now .. '"}'
  end
  return wrk.format("POST", path, headers, '{"indicators":[' .. table.concat(parts, ",") .. ']}')
end
