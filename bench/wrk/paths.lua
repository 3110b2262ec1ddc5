-- GET requests cycling through a file of request paths (one per line): the read scenarios
-- (search, feed pages, export). Arguments: PATHS_FILE TOKEN|- [ACCEPT|-]
local common = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local paths = {}
local headers = {}
local i = 0

setup = common.setup
done = common.done

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  assert(#paths > 0, "no paths in " .. tostring(args[1]))
  common.auth(headers, args[2])
  if args[3] and args[3] ~= "-" then
    headers["Accept"] = args[3]
  end
  -- Threads start at different places in the list.
  i = ((tid or 0) * 7919) % #paths
end

function request()
  i = i + 1
  if i > #paths then
    i = 1
  end
  return wrk.format("GET", paths[i], headers)
end
