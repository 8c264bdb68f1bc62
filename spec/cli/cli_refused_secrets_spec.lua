-- New cases of issue 21's secret class for the refused rows the journal
-- keeps for `userupd failures` (issue 23): a password stays out of the
-- journal and the export even when its column's name does not look like a
-- secret and the row was refused before the map said what it holds (the
-- map raised), and when the map's own message quotes it.
local cli = require "support.clirun"
local sandbox = require "support.sandbox"

local PW1, PW2, PW3 = "Tr0ub4dor-Horse-77", "Corr3ct-Battery-55",
                      "Sw0rdfish-Lamp-31"

local function run(csv_text, map_text, extra)
  local journal = cli.tmp(".db")
  local argv = { "apply", "questionpro",
                 "--input", cli.write(cli.tmp(".csv"), csv_text),
                 "--map", cli.write(cli.tmp(".lua"), map_text),
                 "--base-url", sandbox.url(), "--journal", journal,
                 env = { USERUPD_QUESTIONPRO_API_KEY = "refused-key" } }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  local r = cli.run(argv)
  local f = cli.run{ "failures", "--journal", journal,
                     env = { USERUPD_QUESTIONPRO_API_KEY = "refused-key" } }
  return r, f, cli.slurp(journal) or ""
end

local function absent(secret, where, text)
  assert.is_nil(text:find(secret, 1, true),
                ("%s holds %s:\n%s"):format(where, secret, text))
end

describe("refused rows keep no password", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("in a column whose name does not say so, the map having raised",
  function()
    local r, f, db = run(
      "id,first,dept,initial\n" ..
      "7201,Ada,x," .. PW1 .. "\n" ..
      "7202,Cy,1," .. PW2 .. "\n",
      'return function(r) if r.dept == "x" then error("bad dept") end ' ..
      "return tonumber(r.id), { firstName = r.first, " ..
      "password = r.initial } end")
    assert.are.equal(1, r.rc, r.err)
    assert.matches("bad dept", f.out)        -- the refused row is listed
    absent(PW1, "userupd failures", f.out)
    absent(PW1, "the journal file", db)
  end)

  it("quoted by the map's own message", function()
    local sum = cli.tmp(".json")
    local r, f, db = run(
      "id,first,pw2\n" ..
      "7211,Ada," .. PW3 .. "\n" ..
      "7212,Cy," .. PW2 .. "\n",
      "return function(r) if r.first == 'Ada' then " ..
      "error('too weak: ' .. r.pw2) end " ..
      "return tonumber(r.id), { firstName = r.first, " ..
      "password = r.pw2 } end", { "--summary-json", sum })
    assert.are.equal(1, r.rc, r.err)
    absent(PW3, "userupd failures", f.out)
    absent(PW3, "the journal file", db)
    absent(PW3, "--summary-json", cli.slurp(sum) or "")
    -- the by-reason table under the summary is printed once the later
    -- rows have taught that pw2 feeds the password field
    absent(PW3, "the summary's by-reason table", r.out)
  end)

  it("quoted by the map's own message, on stderr as the row is refused",
  function()
    local r = run(
      "id,first,new_password\n" ..
      "7221,Ada," .. PW3 .. "\n" ..
      "7222,Cy," .. PW2 .. "\n",
      "return function(r) if r.first == 'Ada' then " ..
      "error('too weak: ' .. r.new_password) end " ..
      "return tonumber(r.id), { firstName = r.first, " ..
      "password = r.new_password } end")
    assert.are.equal(1, r.rc, r.err)
    assert.matches("too weak: [redacted]", r.err, 1, true)
    absent(PW3, "stderr", r.err)
    absent(PW3, "stdout", r.out)
  end)
end)
