-- userupd.isatty, userupd.term_width and userupd.is_blank: what the CLI
-- asks about its terminal (no fork of `test -t 2`), and the map's helper
-- for blank cells (docs/cli.md, --blank).
local userupd = require "userupd"

-- The interpreter running this spec, so a child loads the same build.
local LUA = arg and arg[-1] or "lua5.4"

local function child(code, wrap)
  local cmd = ("LUA_CPATH=%q %s -e %q"):format(package.cpath, LUA, code)
  if wrap then cmd = wrap(cmd) end
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

describe("terminal questions", function()
  local probe = "local u = require 'userupd'; io.stdout:write(" ..
    "tostring(u.isatty(2)), ' ', tostring(u.term_width(2)))"

  it("a file or pipe is not a terminal and has no width", function()
    assert.are.equal("false nil", child(probe, function(cmd)
      return cmd .. " 2>/dev/null"
    end))
    assert.is_false(userupd.isatty(2 ^ 16 - 1))
    assert.is_nil(userupd.term_width(2 ^ 16 - 1))
  end)

  it("a pseudo-terminal is one, with the width stty gave it", function()
    local out = child(probe, function(cmd)
      return ("script -qec %q /dev/null"):format("stty cols 57; " .. cmd)
    end)
    assert.truthy(out:find("true 57", 1, true), out)
  end)

  it("refuses a descriptor out of range", function()
    assert.has_error(function() userupd.isatty(-1) end)
    assert.has_error(function() userupd.isatty("x") end)
  end)
end)

describe("userupd.is_blank", function()
  local cases = {
    { nil, true }, { "", true }, { "  \t\r\n", true },
    { userupd.null, true }, { " x ", false }, { "0", false },
    { 0, false }, { false, false }, { {}, false },
  }
  for i, c in ipairs(cases) do
    it(("case %d: %s"):format(i, tostring(c[1])), function()
      assert.are.equal(c[2], userupd.is_blank(c[1]))
    end)
  end
  it("with no argument is true", function()
    assert.is_true(userupd.is_blank())
  end)
end)
