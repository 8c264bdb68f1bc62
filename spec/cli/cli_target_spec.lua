-- Every run names its target first (issue 23 #11): vendor, endpoint host
-- and where it came from, a short account fingerprint that is never the
-- credential, and which of two places setting one option wins.
local cli = require "support.clirun"

local KEY = "S3CRET-target-key-5d1e"
local MAP = "return function(r) return tonumber(r.id), " ..
            "{ firstName = r.first } end"

local function dry(extra, env)
  local argv = { "apply", "questionpro", "--input",
                 cli.write(cli.tmp(".csv"), "id,first\n7001,Ann\n0,Bad\n"),
                 "--map", cli.write(cli.tmp(".lua"), MAP), "--dry-run",
                 "--log-format", "plain",
                 env = env or { USERUPD_QUESTIONPRO_API_KEY = KEY } }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  return cli.run(argv)
end

local function target(err)
  return err:match("target: [^\n]*")
end

describe("the target line", function()
  after_each(function() cli.cleanup() end)

  it("comes first, names vendor, host, fingerprint and their sources",
  function()
    local r = dry()
    assert.are.equal(1, r.rc, r.err)
    local t = target(r.err)
    assert.truthy(r.err:find("^target: "), r.err)    -- before any row line
    assert.matches("^target: QuestionPro at api%.questionpro%.com %(vendor " ..
      "default%), account %x%x%x%x%x%x%x%x %(api_key from environment " ..
      "USERUPD_QUESTIONPRO_API_KEY%)$", t)
    assert.not_matches(KEY, r.err .. r.out, 1, true)
    -- the same account, the same fingerprint; another key, another one
    local fp = t:match("account (%x+)")
    assert.are.equal(fp, target(dry().err):match("account (%x+)"))
    local other = dry(nil, { USERUPD_QUESTIONPRO_API_KEY = KEY .. "x" })
    assert.are_not.equal(fp, target(other.err):match("account (%x+)"))
  end)

  it("says a flag set the host", function()
    local r = dry({ "--base-url", "http://127.0.0.1:9" })
    assert.matches("target: QuestionPro at 127.0.0.1:9 (flag --base-url)",
                   r.err, 1, true)
  end)

  it("says which wins when the environment and --config disagree",
  function()
    local cfg = cli.write(cli.tmp(".lua"),
      'return { base_url = "http://127.0.0.1:7", api_key = "cfg-key" }')
    local r = dry({ "--config", cfg }, {
      USERUPD_QUESTIONPRO_API_KEY = KEY,
      USERUPD_QUESTIONPRO_BASE_URL = "http://127.0.0.1:8" })
    assert.matches("target: QuestionPro at 127.0.0.1:8 (environment " ..
                   "USERUPD_QUESTIONPRO_BASE_URL)", r.err, 1, true)
    assert.matches("note: base_url: environment USERUPD_QUESTIONPRO_BASE_URL " ..
                   "wins over config " .. cfg .. " (the environment is read " ..
                   "after --config)", r.err, 1, true)
    assert.matches("note: api_key: environment USERUPD_QUESTIONPRO_API_KEY " ..
                   "wins over config", r.err, 1, true)
    assert.not_matches("cfg-key", r.err, 1, true)
    -- without the environment the file's host is named as the source
    r = dry({ "--config", cfg }, {})
    assert.matches("target: QuestionPro at 127.0.0.1:7 (config " .. cfg ..
                   "), account ", r.err, 1, true)
    assert.matches("(api_key from config " .. cfg .. ")", r.err, 1, true)
  end)

  it("leaves a password out of the fingerprint", function()
    local function fp(password)
      local r = cli.run{ "apply", "smartermeasure", "--input",
        cli.write(cli.tmp(".csv"), "id,first\n7001,Ann\n"), "--map",
        cli.write(cli.tmp(".lua"), MAP), "--dry-run",
        env = { USERUPD_SMARTERMEASURE_USERNAME = "school-admin",
                USERUPD_SMARTERMEASURE_PASSWORD = password } }
      local t = assert(target(r.err), r.err)
      assert.not_matches(password, r.err, 1, true)
      assert.matches("(username from environment " ..
                     "USERUPD_SMARTERMEASURE_USERNAME)", t, 1, true)
      return t:match("account (%x+)")
    end
    assert.are.equal(fp("hunter2-pw"), fp("correct-horse-pw"))
  end)
end)
