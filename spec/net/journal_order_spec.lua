-- Journal lookups in any order of ids (issue 22): a lookup steps the
-- journal's cursor forward while the ids asked for ascend in the
-- journal's own order (bytes, then length), and seeks otherwise.  Every
-- order must give the answers a lookup by key gives: the plan of a dry
-- run says new, changed or nothing (unchanged) for each id, and a real
-- run, which writes between lookups, sends exactly the same ids.
local sandbox = require "support.sandbox"
local util = require "support.util"

local function qp()
  return sandbox.questionpro("order-key", { retry_base = 0.01 })
end

local tmpdb = util.tmpdb

local N = 5200   -- past one read transaction's 4,096 lookups
-- night 1 journals every id but multiples of 3; night 2 changes the
-- multiples of 7 and adds the rest
local function in_journal(i) return i % 3 ~= 0 and i <= 5000 end
local function changed(i) return i % 7 == 0 end

local function expected(i)
  if not in_journal(i) then return "new" end
  if changed(i) then return "changed" end
  return nil                                       -- unchanged
end

local function orders()
  local numeric, text, shuffled = {}, {}, {}
  for i = 1, N do numeric[i], text[i], shuffled[i] = i, i, i end
  table.sort(text, function(a, b) return tostring(a) < tostring(b) end)
  local seed = 12345
  for i = N, 2, -1 do                      -- a fixed shuffle (LCG)
    seed = (seed * 1103515245 + 12345) % 2147483648
    local k = seed % i + 1
    shuffled[i], shuffled[k] = shuffled[k], shuffled[i]
  end
  local reversed, sparse = {}, {}
  for i = 1, N do reversed[i] = text[N + 1 - i] end
  for i = 1, N, 13 do sparse[#sparse + 1] = text[i] end  -- far ahead
  return { numeric = numeric, text = text, shuffled = shuffled,
           reversed = reversed, sparse = sparse }
end

local function source(list)
  local k = 0
  return function()
    k = k + 1
    local i = list[k]
    if i == nil then return nil end
    return i, { firstName = (changed(i) and "B" or "A") .. i }
  end
end

describe("journal lookups", function()
  local journal
  setup(function()
    sandbox.start()
    sandbox.reset()
    journal = tmpdb()
    local first = {}
    for i = 1, 5000 do
      if in_journal(i) then first[#first + 1] = { i, { firstName = "A" .. i } } end
    end
    local s = qp():update_many(first, { journal = journal, concurrency = 16,
                                        progress = false })
    assert.are.equal(#first, s.ok)
  end)
  teardown(function() util.remove_db(journal) end)

  for name, list in pairs(orders()) do
    it("answers as a lookup by key does, ids " .. name, function()
      local got, skipped = {}, 0
      local s = qp():update_many(source(list), { journal = journal,
        dry_run = true, progress = false,
        on_plan = function(id, why) got[id] = why end,
        on_skip = function() skipped = skipped + 1 end })
      local want_skips = 0
      for _, i in ipairs(list) do
        assert.are.equal(expected(i), got[i], "id " .. i)
        if expected(i) == nil then want_skips = want_skips + 1 end
      end
      assert.are.equal(want_skips, skipped)
      assert.are.equal(want_skips, s.unchanged)
    end)
  end

  it("sends the same ids when outcomes are written between lookups",
  function()
    for _, name in ipairs({ "shuffled", "text" }) do
      local copy = tmpdb()
      util.write(copy, util.read(journal))
      local sent = {}
      local s = qp():update_many(source(orders()[name]), { journal = copy,
        concurrency = 4, progress = false,
        on_result = function(id, _, err)
          assert.is_nil(err)
          sent[id] = true
        end })
      local n = 0
      for i = 1, N do
        assert.are.equal(expected(i) ~= nil, sent[i] == true, "id " .. i)
        if expected(i) then n = n + 1 end
      end
      assert.are.equal(n, s.ok)
      assert.are.equal(N - n, s.unchanged)
      util.remove_db(copy)
    end
  end)
end)
