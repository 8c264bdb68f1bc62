-- spec/unit/summary_spec.lua: userupd.cli.summary, the run's one summary table
-- (the summary line, --summary-json and the metrics file read it).
local summary = require "userupd.cli.summary"
local userupd = require "userupd"

describe("userupd.cli.summary", function()
  it("starts every shared count at 0 and refuses an unknown name", function()
    local s = summary.new("questionpro")
    for _, k in ipairs({ "ok", "failed", "invalid", "unchanged", "skipped",
                         "duplicate", "ready", "left" }) do
      assert.are.equal(0, s[k])
    end
    s:add("ok")
    s:add("failed", 2)
    assert.are.equal(1, s.ok)
    assert.are.equal(2, s.failed)
    assert.has_error(function() s:add("oks") end,
                     "summary: no count named 'oks'")
  end)

  it("groups refused rows by reason, most rows first", function()
    local s = summary.new("questionpro")
    s:reason("bad email")
    s:reason("unknown field 'departmentId'", 3)
    s:reason("bad email")
    s:reason("short row")
    assert.are.same({ "unknown field 'departmentId'", "bad email",
                      "short row" }, s:reason_list())
    assert.are.equal(2, s.by_reason["bad email"])
  end)

  it("documents a dry run with ready, a real run without it", function()
    local dry = summary.new("formsonfire", { dry_run = true })
    dry:add("ready", 3)
    dry:add("unchanged", 7)
    dry:finish()
    local d = dry:document()
    assert.are.equal(summary.SCHEMA, d.schema)
    assert.are.equal("userupd.summary/1", d.schema)
    assert.is_true(d.dry_run)
    assert.are.same({ ok = 0, failed = 0, invalid = 0, unchanged = 7,
                      skipped = 0, duplicate = 0, ready = 3 }, d.counts)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", d.started)
    local real = summary.new("formsonfire")
    real:add("ok", 20)
    real:add("left", 39)
    real:finish("daily_quota")
    d = real:document()
    assert.is_false(d.dry_run)
    assert.is_nil(d.counts.ready)
    assert.are.equal(39, d.counts.left)
    assert.are.equal("daily_quota", d.stopped)
  end)

  it("writes a JSON object a program can read back", function()
    local s = summary.new("questionpro")
    s:add("ok", 2)
    s:reason("map: boom")
    s:finish()
    local path = os.tmpname()
    assert.is_true(s:write_json(path, userupd.json_encode, userupd.null))
    local fh = assert(io.open(path, "rb"))
    local text = fh:read("*a")
    fh:close()
    os.remove(path)
    assert.matches('"stopped":null', text, 1, true)
    local t = userupd.json_decode(text)
    assert.are.equal("userupd.summary/1", t.schema)
    assert.are.equal("questionpro", t.vendor)
    assert.are.equal(2, t.counts.ok)
    assert.are.equal(1, t.by_reason["map: boom"])
  end)
end)
