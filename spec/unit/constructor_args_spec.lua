-- A constructor's errors name the argument the options really are (issue
-- 23, library ergonomics): userupd.<vendor>(opts) takes them as #1,
-- userupd.new(vendor, opts) as #2.  Every option of every vendor, each
-- given a value of the wrong type, and a few whole-table mistakes.
local userupd = require "userupd"

-- A value of the wrong type for each declared type.
local wrong = { number = "x", integer = 1.5, string = {}, boolean = "yes" }

-- Valid values for the required options, so only the bad one is wrong.
local function valid(vendor)
  local o = {}
  for name, info in pairs(userupd.vendors[vendor].options) do
    if info.required then
      o[name] = info.type == "integer" and 7 or "v-" .. name
    end
  end
  return o
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

describe("constructor errors name the right argument", function()
  for vendor, vinfo in pairs(userupd.vendors) do
    for name, info in pairs(vinfo.options) do
      local bad = wrong[info.type]
      if bad ~= nil then
        it(("%s option %s (%s)"):format(vendor, name, info.type), function()
          local opts = copy(valid(vendor))
          opts[name] = bad
          local ok, err = pcall(userupd.new, vendor, opts)
          assert.is_false(ok)
          assert.matches("^bad argument #2 to 'new' %(option '" ..
                         name:gsub("%p", "%%%0") .. "'", err)
          ok, err = pcall(userupd[vendor], opts)
          assert.is_false(ok)
          assert.matches("^bad argument #1 to '" .. vendor ..
                         "' %(option '" .. name:gsub("%p", "%%%0") .. "'",
                         err)
        end)
      end
    end
  end

  it("names new's argument for an unknown option, a missing one, a non-table",
     function()
    for _, case in ipairs{
      { { api_key = "k", timeout_ms = 5 }, "option 'timeout_ms'" },
      { {}, "option 'api_key'" },
      { 5, "table expected, got number" },
    } do
      local ok, err = pcall(userupd.new, "questionpro", case[1])
      assert.is_false(ok)
      assert.matches("^bad argument #2 to 'new' %(", err)
      assert.matches(case[2], err, 1, true)
    end
    local ok, err = pcall(userupd.new, "nosuchvendor", {})
    assert.is_false(ok)
    assert.matches("bad argument #1 to", err, 1, true)
    assert.matches("unknown vendor 'nosuchvendor'", err, 1, true)
  end)
end)
