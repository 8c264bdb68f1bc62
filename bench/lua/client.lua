-- client.lua MODE [args]: the Lua side of bench/run, one measurement per
-- process (so peak RSS and CPU belong to that measurement alone).  Prints
-- one "k=v ..." line; secs and cpu cover the measured part only.
--
--   setup DIR                 writes DIR/body, DIR/headers, DIR/url (the exact
--                             request prepare builds), for the C loops and wrk
--   micro N                   prepare vs cjson.encode, decoders, N times each
--   update N MAXS             sequential client:update
--   many CONC CB N MAXS       update_many (CB=1: with an on_result callback)
--   tls_many CONC HV N MAXS  update_many with on_result over HTTPS with slow
--                             answers (BENCH_TLS_BASE, BENCH_CA); HV: auto,
--                             1.1 or 2 (the http_version option)
--   tls_cold CONC HV N        the short run from a cold pool: a new client,
--                             one update_many of N records with on_result
--                             over HTTPS with slow answers, timed from the
--                             call to its return (handshake and tail in)
--   mem_prepare N MAXS        prepare of N generated records, iterator style
--   mem_many N MAXS           N real updates through update_many (fast route)
--   rate LIMIT WINDOW K       Thought Industries budget, K windows
--   skip N PCT DIR            journal + skip_unchanged, second run's requests
local B = require "common"
local ru, userupd = B.ru, B.userupd
local mode = arg[1]

local function num(i, default)
  return tonumber(arg[i]) or default
end

local function check_user(user, err)
  if not user then error("update failed: " .. tostring(err), 2) end
end

-- An iterator over n copies of the benchmark record that also stops once
-- max_secs have passed since its first call (every load loop is bounded).
local function records(n, max_secs)
  local i, deadline = 0, nil
  return function()
    if i >= n then return nil end
    if i % 64 == 0 then
      local t = ru.now()
      deadline = deadline or t + max_secs
      if t > deadline then return nil end
    end
    i = i + 1
    return B.ID, B.FIELDS
  end, function() return i end
end

-- Admin calls to the sandbox (plain curl; never counted by the sandbox).
local function admin(method, path, body)
  local cjson = require "cjson"
  local cmd = string.format("curl -fsS -m 5 -X %s %s '%s/_sandbox/%s'",
    method, body and ("-H 'Content-Type: application/json' -d '" .. body .. "'") or "",
    B.URL, path)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return cjson.decode(out)
end

local modes = {}

function modes.setup()
  local dir = assert(arg[2])
  local c = B.client("smartermeasure")
  local req = assert(c:prepare(B.ID, B.FIELDS))
  local function write(name, s)
    local f = assert(io.open(dir .. "/" .. name, "wb"))
    f:write(s)
    f:close()
  end
  write("body", req.body)
  write("url", req.url .. "\n")
  local names = {}
  for k in pairs(req.headers) do names[#names + 1] = k end
  table.sort(names)
  local lines = {}
  for _, k in ipairs(names) do lines[#lines + 1] = k .. ": " .. req.headers[k] end
  write("headers", table.concat(lines, "\n") .. "\n")
  B.emit { body_bytes = #req.body, url = req.url }
end

function modes.micro()
  local n = num(2, 200000)
  local cjson = require "cjson"
  local c = B.client("smartermeasure")
  local id, fields = B.ID, B.FIELDS
  local answer = io.open(arg[3] or "", "rb")
  answer = answer and answer:read("*a") or nil
  local function per_op(fn)
    fn(math.floor(n / 10))                                    -- warm-up
    local secs = B.measure(function() fn(n) end)
    return secs / n * 1e9
  end
  local r = {}
  r.prepare_ns = per_op(function(k) for _ = 1, k do c:prepare(id, fields) end end)
  r.body_ns = per_op(function(k) for _ = 1, k do c:encode(id, fields) end end)
  r.encode_ns = per_op(function(k) for _ = 1, k do cjson.encode(fields) end end)
  r.uu_encode_ns = per_op(function(k)
    local enc = userupd.json_encode
    for _ = 1, k do enc(fields) end
  end)
  if answer then
    r.answer_bytes = #answer
    r.cjson_decode_ns = per_op(function(k)
      for _ = 1, k do cjson.decode(answer) end
    end)
    r.uu_decode_ns = per_op(function(k)
      local dec = userupd.json_decode
      for _ = 1, k do dec(answer) end
    end)
  end
  B.emit(r)
end

-- An on_attempt hook that does the least a real one does: look at the
-- trace (the cost of on_attempt set: bench rows *_trace).
local traced = 0
local function trace_hook(a)
  if a.status then traced = traced + 1 end
end

function modes.update()
  local n, max_secs, trace = num(2, 10000), num(3, 3), num(4, 0) == 1
  local c = B.client("smartermeasure",
                     { on_attempt = trace and trace_hook or nil })
  for _ = 1, 200 do check_user(c:update(B.ID, B.FIELDS)) end   -- warm-up
  local secs, cpu, done = B.measure(function()
    local deadline = ru.now() + max_secs
    local i = 0
    while i < n do
      i = i + 1
      check_user(c:update(B.ID, B.FIELDS))
      if i % 64 == 0 and ru.now() > deadline then break end
    end
    return i
  end)
  B.emit { n = done, secs = secs, cpu = cpu, rss_kb = ru.maxrss() }
end

function modes.many()
  local conc, cb, n, max_secs = num(2, 16), num(3, 0) == 1, num(4, 50000), num(5, 3)
  local c = B.client("smartermeasure",
                     { on_attempt = num(6, 0) == 1 and trace_hook or nil })
  local seen, bad = 0, 0
  local opts = { concurrency = conc, progress = false }
  if cb then
    opts.on_result = function(_, user, _, info)
      -- the answer arrives decoded: a table with the vendor's fields
      if type(user) == "table" and user.UserId and info.status == 200 then
        seen = seen + 1
      else
        bad = bad + 1
      end
    end
  end
  c:update_many(records(math.max(200, 4 * conc), 60), opts)     -- warm-up
  seen, bad = 0, 0
  local src, count = records(n, max_secs)
  local secs, cpu, sum = B.measure(function() return c:update_many(src, opts) end)
  if sum.failed > 0 or sum.invalid > 0 or bad > 0 or (cb and seen ~= sum.ok) then
    error(string.format("update_many: ok %d failed %d invalid %d bad %d",
      sum.ok, sum.failed, sum.invalid, bad))
  end
  B.emit { n = sum.ok, pulled = count(), secs = secs, cpu = cpu, rss_kb = ru.maxrss() }
end

-- The real-world row: HTTPS, answers after 100 ms (the sandbox's /_slow/
-- route), decoded answers through on_result, one client (one pool).  Timed
-- as C multi_loop is: one run, the first WARM answers are the warm-up, the
-- clock and CPU start at answer WARM, records stop MAXS later and what is
-- in flight drains (a second update_many call would start with an empty
-- pipe, which the C loop never has).
function modes.tls_many()
  local conc, hv, n, max_secs = num(2, 16), arg[3], num(4, 50000), num(5, 3)
  local c = B.client("smartermeasure", {
    base_url = assert(os.getenv("BENCH_TLS_BASE"), "BENCH_TLS_BASE not set"),
    ca_file = os.getenv("BENCH_CA"),
    http_version = hv ~= "auto" and hv or nil })
  local warm = math.max(200, 4 * conc)
  local done, bad, pulled, t0, c0, deadline = 0, 0, 0, nil, nil, math.huge
  local function src()
    if pulled >= n + warm or (pulled % 8 == 0 and ru.now() > deadline) then
      return nil
    end
    pulled = pulled + 1
    return B.ID, B.FIELDS
  end
  local sum = c:update_many(src, { concurrency = conc, progress = false,
    on_result = function(_, user, _, info)
      if type(user) ~= "table" or not user.UserId or info.status ~= 200 then
        bad = bad + 1
      end
      done = done + 1
      if done == warm then
        t0, c0 = ru.now(), ru.cpu()
        deadline = t0 + max_secs
      end
    end })
  local secs, cpu = ru.now() - t0, ru.cpu() - c0
  if sum.failed > 0 or bad > 0 then
    error(string.format("tls_many: ok %d failed %d bad %d", sum.ok, sum.failed, bad))
  end
  B.emit { n = done - warm, secs = secs, cpu = cpu, rss_kb = ru.maxrss() }
end

-- The short run from a cold pool (issue 22): a client that has never
-- connected, N records at CONC in flight, the clock running from the
-- call to its return, so the first handshake, the ramp to full
-- concurrency and the tail are all in it.  req_ms is a record's mean
-- time from its slot to its answer (info.elapsed).
function modes.tls_cold()
  local conc, hv, n = num(2, 256), arg[3], num(4, 5120)
  local c = B.client("smartermeasure", {
    base_url = assert(os.getenv("BENCH_TLS_BASE"), "BENCH_TLS_BASE not set"),
    ca_file = os.getenv("BENCH_CA"),
    http_version = hv ~= "auto" and hv or nil })
  local pulled, bad, took = 0, 0, 0
  local function src()
    if pulled >= n then return nil end
    pulled = pulled + 1
    return B.ID, B.FIELDS
  end
  local opts = { concurrency = conc, progress = false,
    on_result = function(_, user, _, info)
      if type(user) ~= "table" or not user.UserId or info.status ~= 200 then
        bad = bad + 1
      end
      took = took + info.elapsed
    end }
  local secs, cpu, sum = B.measure(function() return c:update_many(src, opts) end)
  if sum.ok ~= n or bad > 0 then
    error(string.format("tls_cold: ok %d failed %d bad %d", sum.ok, sum.failed, bad))
  end
  B.emit { n = sum.ok, secs = secs, cpu = cpu, rss_kb = ru.maxrss(),
           req_ms = took / n * 1000 }
end

-- Generated records: every one a fresh table, as a CSV reader would give.
local function gen_user(i)
  return {
    FirstName = "First" .. i, LastName = "Last-" .. (i % 9973),
    Email = "user" .. i .. "@students.example.org",
    InternalID = "STU-" .. i, Gender = (i % 2 == 0) and "F" or "M",
    EthnicityID = i % 7, AgeRange = "25-34", HowManyCoursesTaken = tostring(i % 5),
  }
end

function modes.mem_prepare()
  local n, max_secs = num(2, 1000000), num(3, 60)
  local c = B.client("smartermeasure")
  local bytes = 0
  local secs, cpu, done = B.measure(function()
    local deadline = ru.now() + max_secs
    local i = 0
    while i < n do
      i = i + 1
      local req = c:prepare(10000000 + i, gen_user(i))
      bytes = bytes + #req.body
      if i % 1024 == 0 and ru.now() > deadline then break end
    end
    return i
  end)
  B.emit { n = done, secs = secs, cpu = cpu, rss_kb = ru.maxrss(), body_bytes = bytes }
end

function modes.mem_many()
  local n, max_secs = num(2, 100000), num(3, 60)
  local c = B.client("smartermeasure")
  local i, deadline, ok = 0, nil, 0
  local function src()
    if i >= n then return nil end
    if i % 64 == 0 then
      deadline = deadline or ru.now() + max_secs
      if ru.now() > deadline then return nil end
    end
    i = i + 1
    return 10000000 + i, gen_user(i)
  end
  local secs, cpu, sum = B.measure(function()
    return c:update_many(src, { concurrency = 16, progress = false,
      on_result = function(_, user) if user then ok = ok + 1 end end })
  end)
  B.emit { n = sum.ok, seen = ok, failed = sum.failed, secs = secs, cpu = cpu,
           rss_kb = ru.maxrss() }
end

function modes.rate()
  local limit, window, k = num(2, 60), num(3, 3), num(4, 4)
  admin("POST", "reset")
  admin("POST", "config", string.format('{"ti_limit":%d,"ti_window":%g}', limit, window))
  local c = B.client("thoughtindustries", {
    base_url = B.URL, rate = limit / window, retries = 3, subdomain = "bench" })
  local n, i = limit * k, 0
  local started, deadline
  local function src()
    if i >= n or ru.now() > deadline then return nil end
    i = i + 1
    return string.format("3f2b9c1e-8d4a-4e6f-9a1b-%012x", i),
      { email = "ti" .. i .. "@example.org", firstName = "T" .. i }
  end
  local retried, statuses = 0, {}
  -- start at a window boundary, so K windows of budget are K windows of time
  local w = ru.wall()
  local wait = window - (w % window) + 0.01
  os.execute(string.format("sleep %.3f", wait))
  started = ru.now()
  deadline = started + window * (k + 2)
  local sum = c:update_many(src, { concurrency = 4, progress = false,
    on_result = function(_, _, _, info)
      if info.attempts and info.attempts > 1 then retried = retried + 1 end
      statuses[info.status or 0] = (statuses[info.status or 0] or 0) + 1
    end })
  local elapsed = ru.now() - started
  local st = admin("GET", "stats")
  local by = st.by_status or {}
  admin("POST", "config", '{"ti_limit":0}')
  local accepted = tonumber(by["200"]) or 0
  B.emit { n = n, limit = limit, window = window, windows = elapsed / window,
           secs = elapsed, ok = sum.ok, failed = sum.failed, accepted = accepted,
           s429 = tonumber(by["429"]) or 0, retried = retried,
           share = accepted / (limit * elapsed / window) }
end

function modes.skip()
  local n, pct, dir = num(2, 10000), num(3, 1), assert(arg[4])
  local path = dir .. "/skip.journal"
  os.remove(path); os.remove(path .. "-wal"); os.remove(path .. "-shm")
  local c = B.client("smartermeasure", { base_url = B.URL })
  local changed = {}
  local every = math.floor(100 / pct)
  local function source()
    local i = 0
    return function()
      if i >= n then return nil end
      i = i + 1
      local u = gen_user(i)
      if changed[i] then u.FirstName = u.FirstName .. "-changed" end
      return 10000000 + i, u
    end
  end
  local function requests()
    return tonumber(admin("GET", "stats").requests) or 0
  end
  local opts = { concurrency = 16, progress = false, journal = path,
                 skip_unchanged = true }
  local r0 = requests()
  local s1 = c:update_many(source(), opts)
  local r1 = requests()
  for i = every, n, every do changed[i] = true end
  local t0 = ru.now()
  local sent2 = 0
  opts.on_result = function() sent2 = sent2 + 1 end
  local s2 = c:update_many(source(), opts)
  local secs2 = ru.now() - t0
  local r2 = requests()
  local size = 0
  for _, p in ipairs { path, path .. "-wal" } do
    local f = io.open(p, "rb")
    if f then size = size + f:seek("end"); f:close() end
  end
  B.emit { n = n, changed = math.floor(n / every), first_ok = s1.ok, first_sent = r1 - r0,
           second_sent = r2 - r1, second_reported = sent2,
           second_unchanged = s2.unchanged or -1, second_secs = secs2,
           journal_bytes = size, journal_per_record = size / n }
end

local fn = modes[mode]
if not fn then
  io.stderr:write("client.lua: unknown mode ", tostring(mode), "\n")
  os.exit(2)
end
fn()
