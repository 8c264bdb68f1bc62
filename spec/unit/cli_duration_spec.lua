-- userupd.cli.util.duration turns a number of seconds into text with %d:
-- a pace of 1e-300/s (--rate, USERUPD_<VENDOR>_RATE) made the estimate
-- ask for the integer of 1e300 seconds and end the run as an "internal
-- error".  Any number it is given gives text.
local util = require "userupd.cli.util"

describe("util.duration", function()
  it("says something for any number of seconds", function()
    for _, s in ipairs{ 0, 0.4, 59.6, 3600, 1e9, 1e18, 1e300, math.huge,
                        -1, 0 / 0 } do
      local ok, text = pcall(util.duration, s)
      assert.is_true(ok, tostring(s) .. ": " .. tostring(text))
      assert.is_string(text)
    end
    assert.are.equal("45 s", util.duration(45))
    assert.are.equal("1 h 05 min", util.duration(3900))
  end)
end)
