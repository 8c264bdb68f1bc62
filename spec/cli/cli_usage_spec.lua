-- User mistakes are usage errors (exit 2, one clear line, before any row
-- is read or anything sent), --help shows what is required and each
-- default, and the small things of issue 23: a misspelled vendor, JSON
-- Lines lines that are not one object, a column spelled differently in
-- the file, --blank=clear with ordinary string helpers.
local sandbox = require "support.sandbox"
local util = require "support.util"

local LUA = util.lua()
local q = util.q

local clirun = require "support.clirun"
local tmp, write = clirun.tmp, clirun.write

local MAP = [[
return function(row)
  return tonumber(row.id), { firstName = row.first }
end]]

-- argv as given; env on top of a clean USERUPD_* environment.
local function run(argv)
  local words = {}
  for i, a in ipairs(argv) do words[i] = q(a) end
  local env = { "USERUPD_QUESTIONPRO_API_KEY=k" }
  for k, v in pairs(argv.env or {}) do env[#env + 1] = k .. "=" .. q(v) end
  local err = tmp(".err")
  local cmd = ("for v in $(env | sed -n 's/^\\(USERUPD_[A-Za-z0-9_]*\\)=.*/" ..
    "\\1/p'); do unset \"$v\"; done; env %s %s bin/userupd %s 2>%s " ..
    "</dev/null; echo \"::rc=$?\""):format(table.concat(env, " "), LUA,
    table.concat(words, " "), err)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return { rc = tonumber(out:match("::rc=(%d+)%s*$")),
           out = out:gsub("::rc=%d+%s*$", ""), err = util.read_if(err) or "" }
end

local function apply(vendor, csv, map, extra)
  local argv = { "apply", vendor, "--input", csv, "--map",
                 write(tmp(".lua"), map or MAP), "--base-url", sandbox.url(),
                 "--rate", "0", "--log-format", "plain", env = extra.env }
  for _, a in ipairs(extra) do argv[#argv + 1] = a end
  return run(argv)
end

local function lines(s) return select(2, s:gsub("\n", "")) end

describe("userupd apply, usage errors", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  teardown(function()
    clirun.cleanup()
  end)

  local csv
  before_each(function()
    csv = write(tmp(".csv"), "id,first\n8801,Ann\n8802,Bob\n")
  end)

  it("a journal in a directory that does not exist", function()
    local r = apply("questionpro", csv, nil,
                    { "--journal", "/nonexistent-h7/dir/j.db" })
    assert.are.equal(2, r.rc)
    assert.are.equal("userupd: --journal /nonexistent-h7/dir/j.db: the " ..
                     "directory /nonexistent-h7/dir does not exist\n", r.err)
    assert.are.equal(0, sandbox.stats().requests)
  end)

  it("a journal of another vendor, before anything is sent", function()
    local journal = tmp(".journal")
    local r = apply("questionpro", csv, nil, { "--journal", journal })
    assert.are.equal(0, r.rc, r.err)
    sandbox.reset()
    local ti = [[return function(row) return
      "1f48dfa2-5b7c-4027-a49a-00000000000" .. row.id:sub(-1),
      { firstName = row.first } end]]
    r = apply("thoughtindustries", csv, ti, { "--journal", journal,
      env = { USERUPD_THOUGHTINDUSTRIES_API_KEY = "k",
              USERUPD_THOUGHTINDUSTRIES_SUBDOMAIN = "acme" } })
    assert.are.equal(2, r.rc, r.err)
    assert.matches("belongs to vendor questionpro, not thoughtindustries",
                   r.err, 1, true)
    assert.is_nil(r.err:find("internal error", 1, true), r.err)
    assert.are.equal(0, sandbox.stats().requests)
  end)

  it("a hint names where the value came from: flag or environment",
     function()
    local r = run{ "apply", "questionpro", "--input", csv, "--map",
                   write(tmp(".lua"), MAP), "--base-url", "http://example.com" }
    assert.are.equal(2, r.rc)
    assert.are.equal(1, lines(r.err), r.err)
    assert.matches("(base_url came from flag --base-url)", r.err, 1, true)
    assert.is_nil(r.err:find("set USERUPD_QUESTIONPRO_BASE_URL", 1, true))
    r = run{ "apply", "questionpro", "--input", csv, "--map",
             write(tmp(".lua"), MAP),
             env = { USERUPD_QUESTIONPRO_BASE_URL = "http://example.com" } }
    assert.are.equal(2, r.rc)
    assert.matches("(base_url came from environment " ..
                   "USERUPD_QUESTIONPRO_BASE_URL)", r.err, 1, true)
  end)

  it("a misspelled vendor gets a did-you-mean", function()
    local r = run{ "apply", "questonpro", "--input", csv, "--map",
                   write(tmp(".lua"), MAP) }
    assert.are.equal(2, r.rc)
    assert.are.equal(1, lines(r.err), r.err)
    assert.matches("unknown vendor 'questonpro' (did you mean " ..
                   "'questionpro'?)", r.err, 1, true)
  end)
end)

describe("userupd apply --help", function()
  it("marks what is required and shows every option's default",
     function()
    local r = run{ "apply", "--help" }
    assert.are.equal(0, r.rc)
    -- argparse wraps a long description onto lines of 20+ spaces
    local help = r.out:gsub("\n     +", " ")
    local checked = 0
    for line in help:gmatch("[^\n]+") do
      -- an option that takes a value ("--rate R", "--blank {a,b}") says
      -- its default or that it is required; flags are off unless given
      local name = line:match("^   (%-%-[%w-]+) [%u{][^ ]*")
      if name and name ~= "--help" then
        checked = checked + 1
        assert.truthy(line:find("(default: ", 1, true) or
                      line:find("(required)", 1, true), line)
      end
    end
    assert.is_true(checked >= 15, help)
    local function says(start, what)
      for line in help:gmatch("[^\n]+") do
        if line:sub(1, #start) == start then
          return line:find(what, 1, true) ~= nil
        end
      end
      return false
    end
    assert.is_true(says("   --input FILE", "(required)"))
    assert.is_true(says("   --map MAP.lua", "(required)"))
    assert.is_true(says("   --max-invalid N|N%", "(default: 50%)"))
    assert.is_true(says("   --progress-every S", "(default: 30)"))
    assert.is_true(says("   --max-rate-limited N", "(default: 5)"))
  end)
end)

describe("userupd apply, small things", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("a JSON Lines line that is not an object, or gives a key twice, is " ..
     "invalid with its line number", function()
    local jsonl = write(tmp(".jsonl"), table.concat({
      '{"id":8901,"first":"A"}', '[8902,"B"]', '"8903"',
      '{"id":8904,"first":"C","first":"D"}',
      '{"id":8905,"first":"E","x":{"k":1,"k":2}}' }, "\n") .. "\n")
    local r = apply("questionpro", jsonl, nil, { "--dry-run" })
    assert.are.equal(1, r.rc, r.err)
    assert.matches("line 2: invalid: not a JSON object", r.err, 1, true)
    assert.matches("line 3: invalid: not a JSON object", r.err, 1, true)
    assert.matches("line 4: invalid: key 'first' given twice", r.err, 1,
                   true)
    assert.is_nil(r.err:find("line 5:", 1, true), r.err)  -- nested: its own
    assert.matches("2 ready", r.out, 1, true)
  end)

  it("a column spelled with other spacing or case gets a did-you-mean " ..
     "naming the file's spelling", function()
    local csv = write(tmp(".csv"), "id ,First\n8911,Ann\n")
    local map = [[return function(row) return row.id, { firstName = row.first }
      end]]
    local r = apply("questionpro", csv, map, { "--dry-run" })
    assert.matches('id (did you mean "id "?)', r.out, 1, true)
    assert.matches('first (did you mean "First"?)', r.out, 1, true)
  end)

  it("--blank=clear: the map gets \"\" (string helpers work), a field " ..
     "returned as \"\" is cleared, and userupd.is_blank tells", function()
    local csv = write(tmp(".csv"), "id,first,email\n8921,ann,\n8922,,B@X.ORG\n")
    local map = [[local userupd = require "userupd"
      return function(row)
        return tonumber(row.id), { firstName = row.first:upper(),
          emailAddress = row.email:lower(),
          lastName = userupd.is_blank(row.first) and "(none)" or nil }
      end]]
    local r = apply("questionpro", csv, map, { "--blank=clear" })
    assert.are.equal(0, r.rc, r.err)
    local u1 = sandbox.user("questionpro", 8921)
    local u2 = sandbox.user("questionpro", 8922)
    assert.are.equal("ANN", u1.firstName)
    assert.are.equal("b@x.org", u2.emailAddress)
    assert.are.equal("(none)", u2.lastName)
    r = apply("questionpro", csv, map, { "--blank=clear", "--dry-run",
                                         "--show-requests" })
    assert.matches('"firstName":"ANN","emailAddress":null', r.out, 1, true)
    assert.matches('"firstName":null', r.out, 1, true)
  end)
end)
