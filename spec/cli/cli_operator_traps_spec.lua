-- New cases of issue 21 item 18: text from outside (a CSV header, a file
-- name, a --config path) reaches stderr as one printable line, with its
-- terminal escapes shown, not sent, on every Lua (5.1's %q passes them).
-- And of issue 23's usage errors: an output the operator asked for that
-- cannot be written is refused before any row is sent, not found missing
-- after the whole run with exit 0.
local cli = require "support.clirun"
local sandbox = require "support.sandbox"

local ESC = "\27]0;PWNED\7\27[31m"
local MAP = "return function(r) return tonumber(r.id), " ..
            "{ firstName = r.first } end"

local function apply(input, extra, env)
  local argv = { "apply", "questionpro", "--input", input,
                 "--map", cli.write(cli.tmp(".lua"), MAP),
                 "--base-url", sandbox.url(),
                 env = env or { USERUPD_QUESTIONPRO_API_KEY = "trap-key" } }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  return cli.run(argv)
end

local function csv(text, suffix)
  return cli.write(cli.tmp(suffix or ".csv"), text)
end

local function no_controls(text)
  local c = text:gsub("\n", ""):find("[%z\1-\31\127]")
  assert.is_nil(c, ("a raw control byte at %s in: %s"):format(tostring(c),
                                                             text))
end

local function sent() -- luacheck: ignore (used by the usage-error cases)
  local n = 0
  for _, k in pairs(sandbox.puts("questionpro")) do n = n + k end
  return n
end

describe("operator traps", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("--summary-json in a missing directory is a usage error, nothing sent",
  function()
    local r = apply(csv("id,first\n7101,Ann\n7102,Bob\n"),
                    { "--summary-json", "/nonexistent-h9/dir/s.json" })
    assert.are.equal(2, r.rc, r.err)
    assert.matches("summary%-json", r.err)
    assert.are.equal(0, sent())
  end)

  it("--metrics-file in a missing directory is a usage error, nothing sent",
  function()
    local r = apply(csv("id,first\n7111,Ann\n7112,Bob\n"),
                    { "--metrics-file", "/nonexistent-h9/dir/m.prom" })
    assert.are.equal(2, r.rc, r.err)
    assert.matches("metrics%-file", r.err)
    assert.are.equal(0, sent())
  end)

  it("a one-column header with escapes is shown escaped (every Lua)",
  function()
    local r = apply(csv("id;first" .. ESC .. "\n7121;Ann\n"), { "--dry-run" })
    assert.matches("warning: the header has one column", r.err)
    no_controls(r.err)
  end)

  it("an input path with escapes in a CSV warning is shown escaped",
  function()
    local path = csv('id,first\n7131,An"n\n', ESC .. ".csv")
    local r = apply(path, { "--dry-run" })
    assert.matches("quote inside an unquoted field", r.err)
    no_controls(r.err)
  end)

  it("a --config path with escapes is shown escaped in the target line",
  function()
    local cfg = cli.write(cli.tmp(ESC .. ".lua"),
                         'return { api_key = "trap-key" }')
    local r = apply(csv("id,first\n7141,Ann\n"), { "--dry-run", "--config",
                                                   cfg }, {})
    assert.matches("target: QuestionPro", r.err)
    no_controls(r.err)
  end)
end)
