-- Request bodies have a documented cap, max_body (default 4 MiB), checked
-- while the body is built (issue 21 item 16): a free-form table of shared
-- subtables (no cycle, but 2^depth paths) that would write gigabytes, a
-- long list, many long strings, a big extra member: each is an invalid
-- record, refused early, with nothing sent.
local userupd = require "userupd"

-- 25 nodes, each holding the next twice: depth 24, 2^24 leaves when
-- written out (the probe's 134 MB body; depth 31 would be 17 GB).
local function dag(depth)
  local node = { leaf = ("x"):rep(4) }
  for _ = 1, depth do node = { a = node, b = node } end
  return node
end

local function ti(opts)
  opts = opts or {}
  opts.api_key = "k"
  opts.base_url = "http://127.0.0.1:1"
  return userupd.thoughtindustries(opts)
end

local UUID = "2ebc64a3-6a0d-400d-0123-4567890abc01"

local function assert_big(body, err, field)
  assert.is_nil(body)
  assert.are.equal("invalid", err.kind)
  assert.are.equal(field, err.field)
  assert.matches("larger than max_body", err.message, 1, true)
end

describe("max_body", function()
  -- A small cap keeps these quick under valgrind; the default is checked
  -- once, with long strings.
  local small = 64 * 1024

  it("refuses customFields of shared subtables early, in bounded time",
     function()
    local c = ti{ max_body = small }
    for _, depth in ipairs{ 24, 31 } do
      local t0 = os.clock()
      local body, err = c:encode(UUID, { customFields = dag(depth) })
      assert_big(body, err, "customFields")
      assert.matches("max_body (65536 bytes)", err.message, 1, true)
      assert.is_true(os.clock() - t0 < 30, "took " .. (os.clock() - t0))
    end
  end)

  it("is 4 MiB by default", function()
    local s = ("z"):rep(64000)
    local list = {}
    for i = 1, 70 do list[i] = s end               -- 4.48 MB of strings
    local body, err = ti():encode(UUID, {}, { extra = { big = list } })
    assert_big(body, err, "extra.big")
    assert.matches("max_body (4194304 bytes)", err.message, 1, true)
    list[70] = nil
    list[69] = nil                                 -- 4.35 MB: still over
    assert.is_nil((ti():encode(UUID, {}, { extra = { big = list } })))
    for i = 66, 68 do list[i] = nil end            -- 4.16 MB: fits
    assert(ti():encode(UUID, {}, { extra = { big = list } }))
  end)

  it("refuses an extra member of shared subtables", function()
    local body, err = ti{ max_body = small }:encode(UUID, {},
      { extra = { big = dag(30) } })
    assert_big(body, err, "extra.big")
  end)

  it("refuses a long list and many long strings", function()
    local list = {}
    for i = 1, 3000 do list[i] = UUID end          -- 114 KB as JSON
    local body, err = ti{ max_body = 100000 }:encode(UUID,
                                                     { courseIds = list })
    assert.is_nil(body)
    assert.matches("larger than max_body", err.message, 1, true)
    local s = ("y"):rep(60000)
    body, err = ti{ max_body = 100000 }:encode(UUID, { firstName = s,
                                                       lastName = s })
    assert.is_nil(body)
    assert.are.equal("lastName", err.field)
    assert.matches("max_body (100000 bytes)", err.message, 1, true)
  end)

  it("takes what fits, and a larger max_body takes more", function()
    local body = assert(ti():encode(UUID, { customFields = dag(10) }))
    assert.is_true(#body > 10000 and #body < small)
    assert.is_nil((ti{ max_body = small }:encode(UUID,
                                                 { customFields = dag(12) })))
    assert(ti{ max_body = 1024 * 1024 }:encode(UUID,
                                               { customFields = dag(12) }))
  end)

  it("refuses a max_body out of range", function()
    for _, v in ipairs{ 0, 100, 2 ^ 40, 0 / 0, "x" } do
      local ok, err = pcall(ti, { max_body = v })
      assert.is_false(ok)
      assert.matches("max_body", err, 1, true)
    end
  end)

  it("update_many counts it invalid and sends nothing", function()
    local s = ti{ max_body = small }:update_many(
      { { UUID, { customFields = dag(28) } } }, { progress = false })
    assert.are.equal(1, s.invalid)
    assert.are.equal(0, s.ok + s.failed)
  end)
end)
