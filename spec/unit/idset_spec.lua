-- spec/unit/idset_spec.lua: userupd.idset(), the CLI's duplicate check
-- that keeps no Lua value per id (issue 22): exact answers from the
-- pending list, from the database after a write, and after the Bloom
-- filter grows.
local userupd = require "userupd"

describe("userupd.idset", function()
  it("answers nil for a new id and the first line for a repeated one",
    function()
      local set = userupd.idset()
      assert.is_nil(set:add("100001", 2))
      assert.is_nil(set:add("100002", 3))
      assert.equal(2, set:add("100001", 9))
      assert.equal(2, set:add("100001", 10))   -- the first line stays
      assert.is_nil(set:add("1000010", 11))
      set:close()
    end)

  it("compares bytes exactly, NULs and case included", function()
    local set = userupd.idset()
    assert.is_nil(set:add("a\0b", 1))
    assert.is_nil(set:add("a\0c", 2))
    assert.is_nil(set:add("A\0b", 3))
    assert.is_nil(set:add("", 4))
    assert.equal(1, set:add("a\0b", 5))
    assert.equal(4, set:add("", 6))
    set:close()
  end)

  it("stays exact past a write to disk and a grown filter", function()
    local set = userupd.idset()
    local n = 120000                    -- > 8192 pending, > 87,381 filter
    for i = 1, n do
      assert.is_nil(set:add(tostring((i * 7919) % 1000003), i))
    end
    for _, i in ipairs({ 1, 2, 8191, 8192, 8193, 87381, 87382, n }) do
      assert.equal(i, set:add(tostring((i * 7919) % 1000003), n + i))
    end
    local fresh = 0
    for i = n + 1, n + 2000 do
      if set:add(tostring((i * 7919) % 1000003), i) == nil then
        fresh = fresh + 1
      end
    end
    assert.equal(2000, fresh)
    set:close()
  end)

  it("closes twice, and refuses use after close", function()
    local set = userupd.idset()
    set:close()
    set:close()
    assert.has_error(function() set:add("x", 1) end,
                     "attempt to use a closed id set")
  end)

  it("refuses a key that is not a string and a line that is not one",
    function()
      local set = userupd.idset()
      assert.has_error(function() set:add({}, 1) end)
      assert.has_error(function() set:add("x", -1) end)
      assert.has_error(function() set:add("x", 0 / 0) end)
      set:close()
    end)
end)
