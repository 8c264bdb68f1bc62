-- userupd.cli.metrics: `userupd apply --metrics-file PATH`, a Prometheus
-- text-format file for node_exporter's textfile collector (or any reader
-- of the format), so a cron or systemd job can be watched and alerted on.
--
-- It is written whole to PATH.tmp and renamed over PATH, so a reader never
-- sees half a file: every few seconds while the run goes (run="running"
-- then), and once at the end (run="finished", with the exit status).  The
-- rows come from the run's one summary table (userupd.cli.summary), the
-- requests, retries and waits from the client's on_attempt hook.  No
-- label holds anything but the vendor's name and fixed words: no id, no
-- credential, no URL.
--
--   local m = metrics.new(path, counts, vendor)
--   opts.on_attempt = m:hook(opts.on_attempt)   -- before the client
--   ...  m:tick()                               -- now and then, cheap
--   m:write(exit_code)                          -- the end
local summary = require "userupd.cli.summary"

local metrics = {}

-- Seconds between two writes while the run goes.
metrics.EVERY = 5

local Metrics = {}
Metrics.__index = Metrics

-- The families, in the order written: name, type, help.
local FAMILIES = {
  { "userupd_rows", "gauge", "Rows of the last run by outcome." },
  { "userupd_requests", "gauge",
    "Requests the last run sent, by HTTP status (transport: no answer)." },
  { "userupd_retries", "gauge", "Attempts that were retries." },
  { "userupd_wait_seconds", "gauge",
    "Seconds the last run waited before its attempts, by reason." },
  { "userupd_stopped_early", "gauge",
    "1 if the last run stopped before the end of its input (reason " ..
    "says why), else 0." },
  { "userupd_run_finished", "gauge",
    "0 while a run is going, 1 once it has ended." },
  { "userupd_exit_code", "gauge", "The exit status of the last run." },
  { "userupd_run_start_timestamp_seconds", "gauge",
    "When the last run started (Unix time)." },
  { "userupd_run_duration_seconds", "gauge",
    "How long the last run took (so far, while it goes)." },
  { "userupd_last_success_timestamp_seconds", "gauge",
    "When a row last succeeded (Unix time; kept from earlier runs)." },
}

local WAIT_REASONS = { "pacing", "retry_after", "backoff", "budget" }

-- now: a clock with sub-second resolution if there is one.
function metrics.new(path, counts, vendor, now)
  return setmetatable({
    path = path, counts = counts, vendor = vendor, now = now or os.time,
    started = (now or os.time)(), requests = {}, retries = 0, waits = {},
    last_write = 0, last_success = nil, seen_ok = 0,
  }, Metrics)
end

-- An on_attempt hook that counts, then calls the one given (if any).
function Metrics:hook(chain)
  return function(a)
    local code = a.status and tostring(a.status) or "transport"
    self.requests[code] = (self.requests[code] or 0) + 1
    if (a.attempt or 1) > 1 then self.retries = self.retries + 1 end
    if a.wait and a.wait > 0 and a.wait_reason then
      self.waits[a.wait_reason] = (self.waits[a.wait_reason] or 0) + a.wait
    end
    self:tick()
    if chain then return chain(a) end
  end
end

-- Notes the time of a success when the ok count moved.
function Metrics:note_success()
  local ok = self.counts.ok or 0
  if ok ~= self.seen_ok then
    self.seen_ok = ok
    self.last_success = self.now()
  end
end

-- Notes a success, and writes the file if the last write is EVERY
-- seconds old.  A write that fails here is tried again at the next tick;
-- the one at the end says why.
function Metrics:tick()
  self:note_success()
  if self.now() - self.last_write >= metrics.EVERY then self:write() end
end

-- An on_result hook that calls fn, then ticks.
function Metrics:wrap(fn)
  return function(...)
    if fn then fn(...) end
    self:tick()
  end
end

-- A label value, escaped as the format asks.
local function label(v)
  return '"' .. tostring(v):gsub("\\", "\\\\"):gsub("\n", "\\n")
    :gsub('"', '\\"') .. '"'
end

local function number(v)
  if v == math.floor(v) and math.abs(v) < 2^53 then
    return ("%d"):format(v)
  end
  return ("%.6f"):format(v)
end

-- The last success of an earlier run, read back from the file (the run
-- may have had none).
local function earlier_success(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local text = fh:read("*a")
  fh:close()
  return tonumber(text:match("\nuserupd_last_success_timestamp_seconds{[^}]*} "
                             .. "(%S+)"))
end

-- The samples of every family, name -> { {labels, value}, ... }.
function Metrics:samples(code)
  local c, s = self.counts, {}
  local function add(name, labels, value)
    s[name] = s[name] or {}
    local l = { vendor = self.vendor }
    for k, x in pairs(labels or {}) do l[k] = x end
    table.insert(s[name], { l, value })
  end
  for _, k in ipairs(summary.COUNTS) do add("userupd_rows", { outcome = k },
                                           c[k] or 0) end
  local codes = {}
  for k in pairs(self.requests) do codes[#codes + 1] = k end
  table.sort(codes)
  for _, k in ipairs(codes) do
    add("userupd_requests", { status = k }, self.requests[k])
  end
  add("userupd_retries", nil, self.retries)
  for _, r in ipairs(WAIT_REASONS) do
    add("userupd_wait_seconds", { reason = r }, self.waits[r] or 0)
  end
  add("userupd_stopped_early", { reason = c.stopped or "" },
      c.stopped and 1 or 0)
  add("userupd_run_finished", nil, code and 1 or 0)
  if code then add("userupd_exit_code", nil, code) end
  add("userupd_run_start_timestamp_seconds", nil, self.started)
  add("userupd_run_duration_seconds", nil, self.now() - self.started)
  local last = self.last_success or earlier_success(self.path)
  if last then add("userupd_last_success_timestamp_seconds", nil, last) end
  return s
end

-- The file's text.
function Metrics:render(code)
  local s = self:samples(code)
  local out = {}
  for _, f in ipairs(FAMILIES) do
    local name = f[1]
    if s[name] then
      out[#out + 1] = ("# HELP %s %s"):format(name, f[3])
      out[#out + 1] = ("# TYPE %s %s"):format(name, f[2])
      for _, sample in ipairs(s[name]) do
        local keys, parts = {}, {}
        for k in pairs(sample[1]) do keys[#keys + 1] = k end
        table.sort(keys)
        for i, k in ipairs(keys) do parts[i] = k .. "=" .. label(sample[1][k]) end
        out[#out + 1] = ("%s{%s} %s"):format(name, table.concat(parts, ","),
                                             number(sample[2]))
      end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

-- Writes the file (code: the exit status, at the end of the run): whole,
-- to PATH.tmp, then renamed over PATH.  true, or nil and why.
function Metrics:write(code)
  self.last_write = self.now()
  self:note_success()
  local text = self:render(code)
  local tmp = self.path .. ".tmp"
  local fh, why = io.open(tmp, "wb")
  if not fh then return nil, why end
  local ok, werr = fh:write(text)
  fh:close()
  if not ok then
    os.remove(tmp)
    return nil, werr
  end
  local renamed, rerr = os.rename(tmp, self.path)
  if not renamed then
    os.remove(tmp)
    return nil, rerr
  end
  return true
end


return metrics
