-- userupd apply --metrics-file: the Prometheus textfile, read back with a
-- strict check of the text format (every line a HELP, a TYPE or a sample;
-- one HELP and TYPE per family, before its samples; names and labels as
-- the format allows; no series twice; a final newline), after a run with
-- a retry, failures and an early stop, and while a run is still going.
local sandbox = require "support.sandbox"
local cli = require "support.clirun"
local sleep = require("system").sleep

local KEY = "S3CRET-metrics-key-91"
local MAP = [[
return function(row) return tonumber(row.id), { firstName = row.first } end]]

local function roster(n)
  local t = { "id,first" }
  for i = 1, n do t[#t + 1] = ("%d,First%d"):format(7100 + i, i) end
  return table.concat(t, "\n") .. "\n"
end

local function argv_for(csv, metrics, ...)
  local argv = { "apply", "questionpro", "--input", csv, "--map",
                 cli.write(cli.tmp(".lua"), MAP), "--base-url", sandbox.url(),
                 "--no-progress", "--concurrency", "1", "--metrics-file",
                 metrics,
                 env = { USERUPD_QUESTIONPRO_API_KEY = KEY,
                         USERUPD_QUESTIONPRO_RETRY_BASE = "0.05" } }
  for _, a in ipairs({ ... }) do argv[#argv + 1] = a end
  return argv
end

local NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*"
local LABEL = "[a-zA-Z_][a-zA-Z0-9_]*"

-- label="value",... -> { label = value }, or nil and why.
local function parse_labels(s)
  local labels, i = {}, 1
  while i <= #s do
    local name, rest = s:match("^(" .. LABEL .. ")=\"()", i)
    if not name then return nil, "bad label at " .. s:sub(i) end
    local j, value = rest, {}
    while true do
      local ch = s:sub(j, j)
      if ch == "" then return nil, "unterminated label value" end
      if ch == '"' then break end
      if ch == "\\" then
        local nx = s:sub(j + 1, j + 1)
        if nx == "n" then value[#value + 1] = "\n"
        elseif nx == "\\" or nx == '"' then value[#value + 1] = nx
        else return nil, "bad escape \\" .. nx end
        j = j + 2
      elseif ch == "\n" then
        return nil, "newline in a label value"
      else
        value[#value + 1] = ch
        j = j + 1
      end
    end
    if labels[name] then return nil, "label " .. name .. " twice" end
    labels[name] = table.concat(value)
    i = j + 1
    if s:sub(i, i) == "," then i = i + 1
    elseif i <= #s then return nil, "expected , after a label" end
  end
  return labels
end

-- The text format, strictly: { family = { type =, help =, samples = {
-- { labels, value } } } }; raises naming the line that breaks a rule.
local function parse(text)
  assert(text:sub(-1) == "\n", "the file does not end with a newline")
  local families, current, series, n = {}, nil, {}, 0
  for line in text:gmatch("([^\n]*)\n") do
    n = n + 1
    local where = ("line %d: %q"):format(n, line)
    local help_name, help = line:match("^# HELP (" .. NAME .. ") (.+)$")
    local type_name, kind = line:match("^# TYPE (" .. NAME .. ") (%a+)$")
    if help_name then
      assert(not families[help_name], where .. ": family seen before")
      families[help_name] = { help = help, samples = {} }
      current = help_name
    elseif type_name then
      assert(type_name == current, where .. ": TYPE without its HELP")
      assert(not families[current].type, where .. ": second TYPE")
      assert(({ gauge = true, counter = true, untyped = true })[kind],
             where .. ": unknown type")
      families[current].type = kind
    else
      local name, labels, value = line:match("^(" .. NAME ..
                                             "){(.*)} (%S+)$")
      assert(name, where .. ": not a HELP, TYPE or sample line")
      assert(name == current and families[current].type,
             where .. ": sample outside its family")
      local l, why = parse_labels(labels)
      assert(l, where .. ": " .. tostring(why))
      local v = tonumber(value)
      assert(v and value:match("^%-?[%d.]+e?[-+]?%d*$"),
             where .. ": bad value")
      assert(not series[name .. "{" .. labels .. "}"], where ..
             ": series twice")
      series[name .. "{" .. labels .. "}"] = true
      table.insert(families[name].samples, { l, v })
    end
  end
  return families
end

-- The value of the sample of family name whose labels include want.
local function value(families, name, want)
  local f = assert(families[name], "no family " .. name)
  for _, s in ipairs(f.samples) do
    local match = true
    for k, v in pairs(want or {}) do
      if s[1][k] ~= v then match = false end
    end
    if match then return s[2] end
  end
  error(("no sample of %s with those labels"):format(name))
end

describe("apply --metrics-file", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("after a run with a retry, failures and an early stop", function()
    local metrics = cli.tmp(".prom")
    -- 7101: a 429 (Retry-After 1) then ok; 7102 ok; 7103, 7104: 500 twice
    -- in a row stops the run (--max-failures 2) with 7105-7107 left
    sandbox.fault({ fault = "429:retry_after=1", path = "/7101", count = 1 })
    sandbox.fault({ fault = "500", path = "/7103" })
    sandbox.fault({ fault = "500", path = "/7104" })
    local before = os.time()
    local r = cli.run(argv_for(cli.write(cli.tmp(".csv"), roster(7)),
                               metrics, "--max-failures", "2"))
    assert.are.equal(75, r.rc, r.err)
    local text = assert(cli.slurp(metrics), "no metrics file")
    assert.is_false(cli.exists(metrics .. ".tmp"))
    local f = parse(text)
    local qp = { vendor = "questionpro" }
    local function rows(outcome)
      return value(f, "userupd_rows", { vendor = "questionpro",
                                        outcome = outcome })
    end
    assert.are.same({ 2, 2, 0, 3 }, { rows("ok"), rows("failed"),
                                      rows("invalid"), rows("left") })
    local function requests(status)
      return value(f, "userupd_requests", { vendor = "questionpro",
                                            status = status })
    end
    assert.are.same({ 2, 1, 2 }, { requests("200"), requests("429"),
                                   requests("500") })
    assert.are.equal(1, value(f, "userupd_retries", qp))
    local waited = value(f, "userupd_wait_seconds",
                         { vendor = "questionpro", reason = "retry_after" })
    assert.is_true(waited >= 1 and waited < 5, "waited " .. waited)
    assert.are.equal(1, value(f, "userupd_stopped_early",
                              { vendor = "questionpro",
                                reason = "max_failures" }))
    assert.are.equal(1, value(f, "userupd_run_finished", qp))
    assert.are.equal(75, value(f, "userupd_exit_code", qp))
    local last = value(f, "userupd_last_success_timestamp_seconds", qp)
    assert.is_true(last >= before and last <= os.time() + 1)
    for name, fam in pairs(f) do
      assert.are.equal("gauge", fam.type, name)
      assert.matches("^userupd_", name)
    end
    assert.is_nil(text:find(KEY, 1, true))
    for _, fam in pairs(f) do                      -- no ids in labels
      for _, sample in ipairs(fam.samples) do
        for _, v in pairs(sample[1]) do assert.not_matches("%d%d%d%d", v) end
      end
    end

    -- a run with no success keeps the last success of the one before
    sandbox.fault({ fault = "500", path = "/71" })
    r = cli.run(argv_for(cli.write(cli.tmp(".csv"), roster(2)), metrics))
    assert.are.equal(1, r.rc, r.err)   -- both rows failed
    f = parse(cli.slurp(metrics))
    assert.are.equal(last, value(f, "userupd_last_success_timestamp_seconds",
                                 qp))
    assert.are.equal(0, value(f, "userupd_stopped_early", qp))
    assert.are.equal(2, value(f, "userupd_rows", { vendor = "questionpro",
                                                   outcome = "failed" }))
  end)

  it("is a whole file while the run goes", function()
    local metrics = cli.tmp(".prom")
    local done = cli.tmp(".rc")
    sandbox.config({ delay_ms = 700 })
    local cmd = "(" .. cli.command(argv_for(
      cli.write(cli.tmp(".csv"), roster(4)), metrics)) .. ") >/dev/null " ..
      "2>&1 </dev/null; echo $? > " .. cli.q(done)
    os.execute("(" .. cmd .. ") &")
    local mid
    for _ = 1, 100 do                       -- 10 s at most
      if cli.exists(done) then break end
      mid = cli.slurp(metrics)
      if mid then break end
      sleep(0.1)
    end
    for _ = 1, 200 do                       -- 20 s at most for the end
      if cli.exists(done) and (cli.slurp(done) or "") ~= "" then break end
      sleep(0.1)
    end
    sandbox.config({ delay_ms = 0 })
    assert.truthy(mid, "no metrics file while the run went")
    local f = parse(mid)
    assert.are.equal(0, value(f, "userupd_run_finished",
                              { vendor = "questionpro" }))
    assert.are.equal("0", (cli.slurp(done) or ""):match("%d+"))
    f = parse(cli.slurp(metrics))
    assert.are.equal(1, value(f, "userupd_run_finished",
                              { vendor = "questionpro" }))
    assert.are.equal(4, value(f, "userupd_rows", { vendor = "questionpro",
                                                   outcome = "ok" }))
  end)

  it("a file it cannot write is a usage error before any row", function()
    -- decided with issue 23's rule (user mistakes are usage errors, exit
    -- 2, before any row is read): found out at the end, the run had been
    -- sent with exit 0 and no file; a write that fails later (a full
    -- disk) is still said on stderr and the run's status stands
    local r = cli.run(argv_for(cli.write(cli.tmp(".csv"), roster(1)),
                               "/nonexistent-dir/m.prom"))
    assert.are.equal(2, r.rc, r.err)
    assert.matches("--metrics-file /nonexistent-dir/m.prom: cannot write it",
                   r.err, 1, true)
  end)
end)
