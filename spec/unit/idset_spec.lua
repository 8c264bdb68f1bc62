-- spec/unit/idset_spec.lua: userupd.idset(), the CLI's duplicate check
-- that keeps no Lua value per id (issue 22): exact answers from the
-- pending list, from the sorted runs on disk after a write and a merge,
-- and after the Bloom filter grows, also when ids share a hash.
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

  it("stays exact when ids share a hash: their bytes tell them apart",
    function()
      -- 3 hash bits: 8 hashes for 2,000 ids, so every lookup past the
      -- filter meets ids with the same hash, in the pending list and in
      -- runs written every 16 ids and merged (1, 2, 4, ... lists)
      local set = userupd.idset{ filter_bits = 1024, pending = 16,
                                 hash_bits = 3 }
      local n, ids = 2000, {}
      for i = 1, n do
        ids[i] = tostring((i * 7919) % 100003)
        if i % 7 == 0 then ids[i] = ids[i] .. "0" end   -- prefixes too
        if i % 11 == 0 then ids[i] = "" .. ids[i] .. "\0" end
      end
      local first = {}
      for i = 1, n do
        local want = first[ids[i]]
        assert.equal(want, set:add(ids[i], i))
        first[ids[i]] = first[ids[i]] or i
      end
      for i = 1, n, 37 do
        assert.equal(first[ids[i]], set:add(ids[i], n + i))
      end
      local fresh = 0
      for i = 1, 300 do
        local id = "x" .. ids[i]
        if set:add(id, n + i) == nil then fresh = fresh + 1 end
        assert.equal(n + i, set:add(id, 1))
      end
      assert.equal(300, fresh)
      set:close()
    end)

  it("keeps empty and long ids exact across runs and merges", function()
    local set = userupd.idset{ pending = 4, hash_bits = 2 }
    local long = {}
    for i = 1, 12 do
      long[i] = string.rep(string.char(64 + i), 3000 * i)   -- 3 to 36 KB
    end
    assert.is_nil(set:add("", 1))
    for i = 1, 12 do assert.is_nil(set:add(long[i], 10 + i)) end
    for i = 1, 12 do
      assert.is_nil(set:add(long[i] .. "!", 100 + i))   -- same prefix
      assert.is_nil(set:add(long[i]:sub(2), 200 + i))   -- one byte less
    end
    for i = 1, 12 do assert.equal(10 + i, set:add(long[i], 0)) end
    assert.equal(1, set:add("", 0))
    set:close()
  end)

  it("holds 100,000 ids exactly across writes at the default sizes",
    function()
      -- the pending list is written every 32,768 ids and the runs merged;
      -- the filter grows past 65,536 ids
      local set = userupd.idset()
      local n = 100000
      for i = 1, n do
        assert.is_nil(set:add(tostring((i * 48271) % 2147483647), i))
      end
      for _, i in ipairs({ 1, 2, 32768, 32769, 65536, 65537, 98304,
                           98305, n }) do
        assert.equal(i, set:add(tostring((i * 48271) % 2147483647), 0))
      end
      for i = n + 1, n + 1000 do
        assert.is_nil(set:add(tostring((i * 48271) % 2147483647), i))
      end
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

  it("takes an integer key as its decimal digits, as tostring writes them",
    function()
      -- the CLI hands numeric ids over as integers (no string per row)
      local set = userupd.idset()
      local max = math.maxinteger or 2 ^ 53
      local min = math.mininteger or -2 ^ 53
      for i, v in ipairs({ 0, 7, -7, 100001, max, min }) do
        if math.type == nil then v = tostring(v) end   -- 5.1: strings only
        assert.is_nil(set:add(v, i))
        assert.are.equal(i, set:add(tostring(v), 100 + i))
      end
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
