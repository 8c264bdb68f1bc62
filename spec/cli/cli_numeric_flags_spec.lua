-- New cases of issue 23 item 4 (a user mistake must be a usage error: one
-- clear line naming the flag, exit 2, nothing sent; never "internal
-- error") for numbers out of range in the flags that take counts.
local cli = require "support.clirun"
local sandbox = require "support.sandbox"

local MAP = "return function(r) return tonumber(r.id), " ..
            "{ firstName = r.first } end"

local CASES = {
  { "--concurrency", "300" }, { "--concurrency", "1e300" },
  { "--max-failures", "1e300" }, { "--max-rate-limited", "1e300" },
}

describe("a count flag out of range", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  for _, case in ipairs(CASES) do
    it(("%s %s is a usage error naming the flag"):format(case[1], case[2]),
    function()
      local r = cli.run{ "apply", "questionpro",
        "--input", cli.write(cli.tmp(".csv"), "id,first\n7301,Ann\n"),
        "--map", cli.write(cli.tmp(".lua"), MAP),
        "--base-url", sandbox.url(), "--log-format", "plain",
        case[1], case[2],
        env = { USERUPD_QUESTIONPRO_API_KEY = "flags-key" } }
      assert.are.equal(2, r.rc, r.err)
      assert.is_nil(r.err:find("internal error", 1, true), r.err)
      -- the line that says what is wrong names the flag (the usage text
      -- above it lists every flag anyway)
      local why = r.err:match("Error: [^\n]*") or
                  r.err:match("userupd: [^\n]*") or ""
      assert.truthy(why:find(case[1], 1, true), r.err)
      local n = 0
      for _, k in pairs(sandbox.puts("questionpro")) do n = n + k end
      assert.are.equal(0, n)
    end)
  end
end)
