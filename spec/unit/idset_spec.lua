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

  it("stays exact past writes to disk and grown filters", function()
    -- a 1024-bit filter grows past 85 ids, then 170, 341, ...; the
    -- pending list is written every 16 ids
    local set = userupd.idset{ filter_bits = 1024, pending = 16 }
    local n = 3000
    for i = 1, n do
      assert.is_nil(set:add(tostring((i * 7919) % 1000003), i))
    end
    for _, i in ipairs({ 1, 2, 15, 16, 17, 85, 86, 171, 2999, n }) do
      assert.equal(i, set:add(tostring((i * 7919) % 1000003), n + i))
    end
    local fresh = 0
    for i = n + 1, n + 500 do
      if set:add(tostring((i * 7919) % 1000003), i) == nil then
        fresh = fresh + 1
      end
    end
    assert.equal(500, fresh)
    set:close()
  end)

  it("closes twice, and refuses use after close", function()
    local set = userupd.idset()
    set:close()
    set:close()
    assert.has_error(function() set:add("x", 1) end,
                     "attempt to use a closed id set")
  end)

  it("holds 20,000 ids exactly at the default sizes", function()
    local set = userupd.idset()
    for i = 1, 20000 do set:add(tostring(i), i) end
    assert.equal(8192, set:add("8192", 0))
    assert.equal(20000, set:add("20000", 0))
    assert.is_nil(set:add("20001", 0))
    set:close()
  end)

  it("refuses bad options", function()
    assert.has_error(function() userupd.idset{ pending = -1 } end)
    assert.has_error(function() userupd.idset{ filter_bits = "x" } end)
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
