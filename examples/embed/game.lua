-- The Lua side of examples/embed/host.c: keep up to 4 updates in flight
-- and poll once per frame.  The sandbox URL comes from USERUPD_BASE_URL.
local userupd = require "userupd"

local client = userupd.questionpro{
  api_key = os.getenv("USERUPD_QUESTIONPRO_API_KEY") or "embed-demo",
  base_url = os.getenv("USERUPD_BASE_URL") or "http://127.0.0.1:8089",
  rate = 0,
}

local total = tonumber(os.getenv("EMBED_UPDATES")) or 24
local submitted, ok, failed = 0, 0, 0

local function done(user, err)
  if user then ok = ok + 1 else failed = failed + 1; print(err) end
end

-- One frame: top the pipeline up, advance it without blocking.
function frame()
  while submitted < total and userupd.pending() < 4 do
    submitted = submitted + 1
    client:submit(submitted, { firstName = "Frame" .. submitted }, done)
  end
  local pending = userupd.poll(0)
  if ok + failed == total then return nil end
  return pending
end

function report()
  return string.format("%d ok, %d failed", ok, failed)
end
