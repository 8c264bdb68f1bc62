-- spec/net/unchanged_rule_spec.lua: what the journal's "unchanged" rule
-- compares (issue 21 item 3).  It used to compare a 64-bit FNV-1a hash of
-- the payload, and a chosen pair of values with the same hash made a real
-- change count as unchanged.  Now the payload kept in the journal is
-- compared byte for byte (records with a secret: a keyed SipHash), and a
-- journal written by a9fd2d4 resumes as it is.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

local function qp()
  return sandbox.questionpro("rule-key", { retries = 0 })
end

local tmpdb = util.tmpdb

local sqlite = util.sqlite

local function puts() return sandbox.stats().puts end

local function one(name) return { { 7, { firstName = name } } } end

describe("the unchanged rule", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("sends a change even when the stored hash equals the new payload's",
    function()
      -- The collision an attacker would search for, planted: db_old holds
      -- the old payload with the hash the new payload gets (copied from a
      -- journal that sent the new one).
      local db_new, db_old = tmpdb(), tmpdb()
      qp():update_many(one("Mallory"), { journal = db_new, progress = false })
      qp():update_many(one("Alice"), { journal = db_old, progress = false })
      sqlite(db_old, ("ATTACH %s AS n; UPDATE records SET ok_hash = " ..
        "(SELECT ok_hash FROM n.records WHERE id = '7');"):format(
        "'" .. db_new:gsub("'", "''") .. "'"))
      local before = puts()
      local s = qp():update_many(one("Mallory"), { journal = db_old,
                                                  progress = false })
      assert.are.same({ 1, 0 }, { s.ok, s.unchanged })
      assert.are.equal(before + 1, puts())
      local j = userupd.journal(db_old)
      assert.are.equal('{"firstName":"Mallory"}', j:get(7).ok_payload)
      j:close()
      os.remove(db_new); os.remove(db_old)
    end)

  it("skips a payload equal byte for byte, and sends one byte off", function()
    local db = tmpdb()
    qp():update_many(one("Alice"), { journal = db, progress = false })
    local s = qp():update_many(one("Alice"), { journal = db, progress = false })
    assert.are.same({ 0, 1 }, { s.ok, s.unchanged })
    s = qp():update_many(one("Alicf"), { journal = db, progress = false })
    assert.are.same({ 1, 0 }, { s.ok, s.unchanged })
    os.remove(db)
  end)

  it("resumes a journal written by a9fd2d4 without sending again", function()
    local db = tmpdb()
    util.write(db, util.fixture("journal/a9fd2d4_questionpro.db"))
    local before = puts()
    local s = qp():update_many({ { 101, { firstName = "Ann" } },
                                 { 102, { firstName = "Bob" } },
                                 { 103, { firstName = "Cy" } },
                                 { 104, { firstName = "Di" } } },
                               { journal = db, progress = false })
    assert.are.same({ 1, 3 }, { s.ok, s.unchanged })
    assert.are.equal(before + 1, puts())
    s = qp():update_many({ { 102, { firstName = "Bobby" } } },
                         { journal = db, progress = false })
    assert.are.same({ 1, 0 }, { s.ok, s.unchanged })
    os.remove(db)
  end)
end)
