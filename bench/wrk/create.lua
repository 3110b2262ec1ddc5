-- Scenario 1: single indicator create, v1 representation, every request a new IPv4 value in
-- 100.0.0.0/8 (each thread owns 4,194,304 values from START on).
-- Arguments: USER FEED TOKEN START
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local path
local headers = {
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/vnd.csirtg.v1",
}
local n = 0
local base = 0
local now

setup = common.setup
done = common.done

function init(args)
  path = "/api/users/" .. args[1] .. "/feeds/" .. args[2] .. "/indicators"
  common.auth(headers, args[3])
  base = tonumber(args[4] or "0") + (tid or 0) * 4194304
  now = os.date("!%Y-%m-%dT%H:%M:%SZ")
end

function request()
  local k = (base + n) % 16777216
  n = n + 1
  local addr = string.format("100.%d.%d.%d", math.floor(k / 65536), math.floor(k / 256) % 256, k % 256)
  local body = '{"indicator":{"indicator":"' .. addr ..
    '","tags":["scanner","ssh"],"portlist":"22","protocol":"tcp",' ..
    '"description":"ssh password guessing","provider":"bench","lasttime":"' .. now .. '"}}'
  return wrk.format("POST", path, headers, body)
end
