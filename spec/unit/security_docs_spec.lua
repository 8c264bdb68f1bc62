-- docs/security.md carries the rules of issue 21 items 9-13 and 18-22, so
-- an operator can find them: the config-file errors, the proxy rule,
-- SSLKEYLOGFILE, store deadlines and skew, private journals, journal
-- binding and lock, and SIGTERM.
local util = require "support.util"

describe("docs/security.md", function()
  local text
  setup(function()
    text = util.read(util.root .. "/docs/security.md")
  end)

  local MUST = {
    ["SSLKEYLOGFILE (item 11)"] = { "SSLKEYLOGFILE", "session keys" },
    ["the proxy rule (item 10)"] = { "https_proxy", "CONNECT",
      "never goes to an environment proxy" },
    ["config errors (items 9, 18)"] = { "--config", "one_line" },
    ["store deadlines (item 12)"] = { "no answer within" },
    ["skew (item 13)"] = { "(max(burst,\n  1) + 256) / rate + 60" },
    ["private files (item 21)"] = { "`0600`", "failures" },
    ["binding (item 19)"] = { "--journal-rebind", "fingerprint" },
    ["lock (item 20)"] = { "in use by another run", "taken over" },
    ["SIGTERM (item 22)"] = { "SIGTERM", "143" },
  }
  for what, needles in pairs(MUST) do
    it("documents " .. what, function()
      for _, s in ipairs(needles) do
        assert.truthy(text:find(s, 1, true), s)
      end
    end)
  end
end)
