-- spec/net/journal_layout_spec.lua: the journal's layout (issue 22).  New
-- journals are schema 3: records WITHOUT ROWID (one B-tree, the id stored
-- once) and each kept payload in a compact form (the vendor's field names
-- as one byte each) that reads back byte for byte, and elapsed times in
-- whole microseconds.  A journal of schema 2
-- (a9fd2d4's fixture) keeps its layout when it is written to.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

local function qp()
  return sandbox.questionpro("layout-key", { retries = 0 })
end

local tmpdb, remove = util.tmpdb, util.remove_db

local function sqlite(db, sql)
  return (util.sqlite(db, sql):gsub("\n$", ""))
end

local function send(db, records)
  return qp():update_many(records, { journal = db, progress = false })
end

local function puts() return sandbox.stats().puts end

-- Names that look like field names inside values, JSON escapes, commas,
-- braces, non-ASCII: the compact form must give back every byte.
local tricky = {
  'say "firstName":"x"', '{"firstName":1}', ',"lastName":', '\\"email\\":',
  "Zoë \226\128\148 O'Brien", 'tab\there', "new\nline", '"', '\\', '',
  '"firstName":', ':', '{', ',', 'firstName', "\1\2\31",
}

local function records()
  local t = {}
  for i, v in ipairs(tricky) do
    t[#t + 1] = { 100 + i, { firstName = v, lastName = v .. v, email =
                             "u" .. i .. "@example.org" } }
  end
  return t
end

describe("the journal layout", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("makes new journals schema 3, WITHOUT ROWID, payloads compact",
    function()
      local db = tmpdb()
      send(db, { { 7, { firstName = 'say "firstName":"x"' } } })
      assert.equal("3", sqlite(db, "SELECT value FROM meta WHERE key = " ..
                                   "'schema'"))
      assert.matches("WITHOUT ROWID", sqlite(db, "SELECT sql FROM " ..
        "sqlite_master WHERE name = 'records'"), 1, true)
      assert.equal("blob", sqlite(db, "SELECT typeof(ok_payload) FROM " ..
                                      "records"))
      local want = '{"firstName":"say \\"firstName\\":\\"x\\""}'
      assert.equal(tostring(#want - #'"firstName":' + 1),
                   sqlite(db, "SELECT length(ok_payload) FROM records"))
      -- elapsed: whole microseconds on disk (1 to 4 bytes), seconds out
      assert.equal("1", sqlite(db, "SELECT elapsed = round(elapsed) AND " ..
                                   "elapsed > 0 FROM records"))
      local j = userupd.journal(db)
      local row = j:get(7)
      assert.equal(want, row.ok_payload)
      assert.is_true(row.elapsed > 0 and row.elapsed < 60)
      assert.equal(tonumber(sqlite(db, "SELECT elapsed FROM records")) / 1e6,
                   row.elapsed)
      j:close()
      remove(db)
    end)

  it("reads every payload back byte for byte: the same bytes a schema 2 " ..
     "journal keeps as text, and unchanged on the next run", function()
    local new, old = tmpdb(), tmpdb()
    util.write(old, util.fixture("journal/a9fd2d4_questionpro.db"))
    send(new, records())
    send(old, records())
    assert.equal("2", sqlite(old, "SELECT value FROM meta WHERE key = " ..
                                  "'schema'"))
    assert.equal("text", sqlite(old, "SELECT DISTINCT typeof(ok_payload)" ..
                                     " FROM records WHERE id > '110'"))
    local jn, jo = userupd.journal(new), userupd.journal(old)
    for i = 1, #tricky do
      local a, b = jn:get(100 + i), jo:get(100 + i)
      assert.equal(b.ok_payload, a.ok_payload)
      assert.matches('"emailAddress":"u' .. i .. '@example.org"', a.ok_payload,
                     1, true)
    end
    jn:close(); jo:close()
    local before = puts()
    local s = send(new, records())
    assert.are.same({ 0, #tricky }, { s.ok, s.unchanged })
    assert.equal(before, puts())
    local changed = records()
    changed[3][2].lastName = changed[3][2].lastName .. " "
    s = send(new, changed)
    assert.are.same({ 1, #tricky - 1 }, { s.ok, s.unchanged })
    remove(new); remove(old)
  end)

  it("keeps a schema 2 journal's layout when it writes to it", function()
    local db = tmpdb()
    util.write(db, util.fixture("journal/a9fd2d4_questionpro.db"))
    send(db, { { 102, { firstName = "Bobby" } },
               { 900, { firstName = "New" } } })
    assert.equal("2", sqlite(db, "SELECT value FROM meta WHERE key = " ..
                                 "'schema'"))
    assert.not_matches("WITHOUT ROWID", sqlite(db, "SELECT sql FROM " ..
      "sqlite_master WHERE name = 'records'"), 1, true)
    assert.equal("text", sqlite(db, "SELECT DISTINCT typeof(ok_payload)" ..
                                    " FROM records"))
    assert.equal('{"firstName":"New"}', sqlite(db, "SELECT ok_payload " ..
                                                 "FROM records WHERE id = '900'"))
    remove(db)
  end)

  it("refuses a compact payload naming a field it has no name for",
    function()
      local db = tmpdb()
      send(db, { { 7, { firstName = "Ann" } } })
      sqlite(db, "UPDATE meta SET value = 'firstName' WHERE key = 'keys';" ..
                 "UPDATE records SET ok_payload = x'7b0231' WHERE id = '7'")
      local ok, err = pcall(send, db, { { 7, { firstName = "Ann" } } })
      assert.is_false(ok)
      assert.matches("a kept payload is damaged", tostring(err), 1, true)
      remove(db)
    end)
end)
