-- The CLI's pure-text helpers: grouping keys, --max-invalid, fitting the
-- progress line, did-you-mean, possessives (issue 23 #3, #7, #9).
local util = require "userupd.cli.util"
local reasons = require "userupd.cli.reasons"
local term = require "userupd.cli.term"
local progress = require "userupd.progress"

describe("reasons.key", function()
  local cases = {
    { 'departmentID: expected integer, got string "12a"',
      'departmentID: expected integer, got string "..."' },
    { "unknown field 'departmentId' (did you mean 'departmentID'?)",
      "unknown field 'departmentId' (did you mean 'departmentID'?)" },
    { 'column "first" is not valid UTF-8 (byte 17)',
      'column "first" is not valid UTF-8 (byte N)' },
    { "http: user 100234 not found", "http: user N not found" },
    { "line 12: map: boom", "map: boom" },
  }
  for i, c in ipairs(cases) do
    it("case " .. i, function()
      assert.are.equal(c[2], reasons.key(c[1]))
    end)
  end
end)

describe("reasons.limit", function()
  it("takes N and N%, refuses the rest", function()
    assert.are.same({ count = 12 }, reasons.limit("12"))
    assert.are.same({ percent = 50 }, reasons.limit("50%"))
    assert.are.same({ percent = 2.5 }, reasons.limit("2.5%"))
    assert.is_nil(reasons.limit("150%"))
    assert.is_nil(reasons.limit("x"))
    assert.is_nil(reasons.limit("-1"))
  end)
end)

describe("term.fit", function()
  local parts = { { "[=====>    ]", 1 }, { "812/2,000  41%", 9 },
                  { "5.0/s", 4 }, { "ETA 3:58", 6 }, { "ok 800", 3 },
                  { "failed 2", 5 } }
  it("keeps everything when it fits", function()
    local line = term.fit(parts, 200)
    assert.are.equal("[=====>    ]  812/2,000  41%  5.0/s  ETA 3:58  " ..
                     "ok 800  failed 2", line)
  end)
  it("drops the lowest parts first, keeping the order", function()
    local line = term.fit(parts, 40)
    assert.is_true(#line <= 39)
    assert.are.equal("812/2,000  41%  ETA 3:58  failed 2", line)
    assert.are.equal("812/2,000  41%", term.fit(parts, 16))
    assert.are.equal("812/2,00", term.fit(parts, 9))
  end)
  it("reads COLUMNS, else the terminal, else 80", function()
    local env = function(k) return k == "COLUMNS" and "132" or nil end
    assert.are.equal(132, term.width(env, nil))
    assert.are.equal(80, term.width(function() return nil end, nil))
    assert.are.equal(61, term.width(function() return nil end,
      { term_width = function() return 61 end }))
  end)
  it("picks redraw only for a terminal that is not dumb", function()
    local tty = { isatty = function() return true end }
    local file = { isatty = function() return false end }
    local function env(t) return function(k) return t[k] end end
    assert.are.equal("redraw", term.mode({}, env{ TERM = "xterm" }, tty))
    assert.are.equal("lines", term.mode({}, env{ TERM = "dumb" }, tty))
    assert.are.equal("lines", term.mode({}, env{}, tty))
    assert.are.equal("lines", term.mode({}, env{ TERM = "xterm" }, file))
    assert.are.equal("off", term.mode({ progress_every = 0 },
                                      env{ TERM = "xterm" }, file))
    assert.are.equal("off", term.mode({ no_progress = true },
                                      env{ TERM = "xterm" }, tty))
  end)
end)

describe("util.nearest", function()
  it("names the file's spelling for spacing and case", function()
    assert.are.equal("id ", util.nearest("id", { "id ", "Email " }))
    assert.are.equal("Email ", util.nearest("email", { "id ", "Email " }))
    assert.are.equal("questionpro", util.nearest("qestionpro",
      { "blackbaud", "questionpro", "smartermeasure" }))
    assert.is_nil(util.nearest("zzzz", { "blackbaud", "questionpro" }))
  end)
end)

describe("possessives", function()
  it("Thought Industries', QuestionPro's", function()
    assert.are.equal("Thought Industries'",
                     util.possessive("Thought Industries"))
    assert.are.equal("QuestionPro's", util.possessive("QuestionPro"))
    assert.are.equal("2,000 rows at Thought Industries' 1/s: about 33 min",
                     progress.estimate(2000, 1, "Thought Industries"))
  end)
end)

describe("options the default host is made from", function()
  it("are required unless base_url (docs/reference.md says so)", function()
    local userupd = require "userupd"
    local ti = userupd.vendors.thoughtindustries.options
    assert.are.equal("base_url", ti.subdomain.required_unless)
    assert.is_nil(ti.api_key.required_unless)        -- required outright
    assert.is_true(ti.api_key.required)
  end)
end)
