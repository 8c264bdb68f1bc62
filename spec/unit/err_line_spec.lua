-- util.err_line is the last guard of stderr (issue 21, item 18): whatever
-- path a text from outside takes, no escape sequence, carriage return or
-- C1 control reaches the terminal; intended line breaks stay.
local util = require "userupd.cli.util"

describe("util.err_line", function()
  local real, got
  before_each(function()
    real, got = io.stderr, {}
    io.stderr = { write = function(_, ...)          -- luacheck: ignore 122
      for _, s in ipairs({ ... }) do got[#got + 1] = s end
    end }
  end)
  after_each(function()
    io.stderr = real                                 -- luacheck: ignore 122
  end)

  it("escapes control characters, keeps line breaks", function()
    util.log.format = "plain"
    util.err_line("a\27]0;owned\7b\rc\tz\194\155d", "\nsecond line")
    local text = table.concat(got)
    assert.equal("a\\x1b]0;owned\\x07b\\rc\\tz\\u009bd\nsecond line\n", text)
  end)
end)
