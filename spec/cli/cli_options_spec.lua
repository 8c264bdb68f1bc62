-- Hostile option values through the CLI (the library side:
-- spec/unit/hostile_options_spec.lua): a control character in a
-- USERUPD_<VENDOR>_* variable is refused before anything is sent.
-- bin/userupd runs in a subprocess.
local util = require "support.util"

describe("control characters in options", function()
  it("refuses it through the CLI's USERUPD_<VENDOR>_USER_AGENT", function()
    local csv = os.tmpname() .. ".csv"
    local f = assert(io.open(csv, "w"))
    f:write("id,name\n1,Ann\n")
    f:close()
    local map = os.tmpname()
    f = assert(io.open(map, "w"))
    f:write("return function(r) return 1, { firstName = r.name } end\n")
    f:close()
    local cmd = ("USERUPD_QUESTIONPRO_API_KEY=k " ..
      "USERUPD_QUESTIONPRO_USER_AGENT=\"$(printf 'x\\r\\nX-Injected: yes')\" " ..
      "%s %s/bin/userupd apply questionpro --input %s --map %s " ..
      "--base-url http://127.0.0.1:9 2>&1; echo \"rc=$?\"")
      :format(util.lua(), util.root, csv, map)
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    os.remove(csv)
    os.remove(map)
    assert.matches("user_agent", out, 1, true)
    assert.matches("control", out, 1, true)
    assert.is_nil(out:find("rc=0", 1, true), out)
  end)
end)
