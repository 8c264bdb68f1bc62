-- The second run at the library level: the journal skips a record only
-- when its payload is the one that last succeeded, a record carrying a
-- password leaves no testable fingerprint, old journals migrate, and a
-- run stops early on systemic failure.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

local function qp(t)
  t = t or {}
  t.api_key = t.api_key or "second-key"
  t.base_url = sandbox.url()
  t.rate = 0
  t.retries = t.retries or 0
  return userupd.questionpro(t)
end

local function tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

local function records(n, email_of)
  local t = {}
  for i = 1, n do
    t[i] = { i, { firstName = "N" .. i,
                  emailAddress = (email_of and email_of(i)) or
                                 ("u" .. i .. "@school.example") } }
  end
  return t
end

local function puts() return sandbox.stats().puts end

local sqlite = util.sqlite

describe("the second run", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("sends a changed record by default and skips the unchanged", function()
    local db = tmpdb()
    local s = qp():update_many(records(20), { journal = db, progress = false })
    assert.are.same({ 20, 0 }, { s.ok, s.unchanged })
    local before = puts()
    local skipped = {}
    s = qp():update_many(records(20, function(i)
      if i == 7 then return "new7@school.example" end
    end), { journal = db, progress = false,
            on_skip = function(_, why) skipped[#skipped + 1] = why end })
    assert.are.same({ 1, 19, 0 }, { s.ok, s.unchanged, s.skipped })
    assert.are.equal(before + 1, puts())
    assert.are.equal(19, #skipped)
    assert.are.equal("unchanged", skipped[1])
    assert.are.equal("new7@school.example",
                     sandbox.user("questionpro", 7).emailAddress)
    -- and skip_unchanged = false sends everything again
    s = qp():update_many(records(20), { journal = db, progress = false,
                                        skip_unchanged = false })
    assert.are.same({ 20, 0 }, { s.ok, s.unchanged })
    os.remove(db)
  end)

  it("sends a record whose last attempt failed again, even when the " ..
     "payload that succeeded before comes back (the failure may have " ..
     "reached the vendor)", function()
    local db = tmpdb()
    qp():update_many(records(3), { journal = db, progress = false })
    sandbox.fault{ fault = "500", count = 100, path = "/users/2?" }
    local s = qp():update_many(records(3, function(i)
      if i == 2 then return "changed@school.example" end
    end), { journal = db, progress = false })
    assert.are.same({ 0, 1, 2 }, { s.ok, s.failed, s.unchanged })
    sandbox.clear_faults()
    local before = puts()
    s = qp():update_many(records(3), { journal = db, progress = false })
    assert.are.same({ 1, 2 }, { s.ok, s.unchanged })
    assert.are.equal(before + 1, puts())
    os.remove(db)
  end)

  it("keeps no testable fingerprint of a record carrying a password",
     function()
    local db1, db2 = tmpdb(), tmpdb()
    local rec = { { 5, { firstName = "P", password = "hunter2" } } }
    qp():update_many(rec, { journal = db1, progress = false })
    qp():update_many(rec, { journal = db2, progress = false })
    local j1, j2 = userupd.journal(db1), userupd.journal(db2)
    local r1, r2 = j1:get(5), j2:get(5)
    j1:close(); j2:close()
    assert.is_nil(r1.ok_payload)               -- no payload is kept
    assert.truthy(r1.ok_hash)
    assert.are_not.equal(r1.ok_hash, r2.ok_hash)   -- keyed per journal
    -- another credential, same journal (rebound on purpose: issue 21
    -- #19): another key, so it is resent
    local before = puts()
    local s = qp{ api_key = "other-key" }:update_many(rec, { journal = db1,
      progress = false, journal_rebind = true })
    assert.are.same({ 1, 0 }, { s.ok, s.unchanged })
    -- the same credential again: unchanged, nothing sent
    s = qp{ api_key = "other-key" }:update_many(rec, { journal = db1,
                                                     progress = false })
    assert.are.same({ 0, 1 }, { s.ok, s.unchanged })
    assert.are.equal(before + 1, puts())
    -- a new password is sent
    s = qp{ api_key = "other-key" }:update_many(
      { { 5, { firstName = "P", password = "hunter3" } } },
      { journal = db1, progress = false })
    assert.are.same({ 1, 0 }, { s.ok, s.unchanged })
    os.remove(db1); os.remove(db2)
  end)

  it("migrates a schema 1 journal and refuses a newer one", function()
    local db = tmpdb()
    qp():update_many({ { 1, { firstName = "A" } },
                       { 2, { firstName = "B", password = "pw" } } },
                     { journal = db, progress = false })
    -- make it look like schema 1: no key, a plain hash for the password
    sqlite(db, "DELETE FROM meta WHERE key IN ('hash_key', 'account', " ..
               "'endpoint');" ..
               "ALTER TABLE records DROP COLUMN line;" ..
               "UPDATE meta SET value = 1 WHERE key = 'schema';" ..
               "UPDATE records SET ok_hash = 12345 WHERE id = '2';")
    local before = puts()
    local s = qp():update_many({ { 1, { firstName = "A" } },
                                 { 2, { firstName = "B", password = "pw" } } },
                               { journal = db, progress = false })
    -- the plain hash is gone (record 2 sent once more), record 1 kept
    assert.are.same({ 1, 1 }, { s.ok, s.unchanged })
    assert.are.equal(before + 1, puts())
    assert.matches("^2", sqlite(db, "SELECT value FROM meta WHERE key = " ..
                                    "'schema'"))
    assert.matches("^16", sqlite(db, "SELECT length(value) FROM meta " ..
                                     "WHERE key = 'hash_key'"))
    sqlite(db, "UPDATE meta SET value = 9 WHERE key = 'schema';")
    local ok, msg = pcall(qp().update_many, qp(), {}, { journal = db })
    assert.is_false(ok)
    assert.matches("newer userupd (journal schema 9; this one reads up " ..
                   "to 3)", tostring(msg), 1, true)
    os.remove(db)
  end)

  it("stops after 5 auth failures in a row; the journal keeps them",
     function()
    local db = tmpdb()
    local before = sandbox.stats().requests
    local s = qp{ api_key = "bad-key" }:update_many(records(200),
      { journal = db, progress = false, concurrency = 1 })
    assert.are.equal("auth", s.stopped)
    assert.are.same({ 0, 5 }, { s.ok, s.failed })
    assert.are.equal(5, s.by_kind.auth)
    assert.are.equal(before + 5, sandbox.stats().requests)
    local j = userupd.journal(db)
    assert.are.equal(5, j:summary().failed)
    j:close()
    -- a good key resumes: the 200 go out, nothing twice
    s = qp():update_many(records(200), { journal = db, progress = false })
    assert.are.same({ 200, 0 }, { s.ok, s.unchanged })
    assert.is_nil(s.stopped)
    os.remove(db)
  end)

  it("stops after max_failures failures in a row, or never with 0",
     function()
    sandbox.fault{ fault = "500", count = 1000 }
    local s = qp():update_many(records(40), { progress = false,
                                              concurrency = 2,
                                              max_failures = 3 })
    assert.are.equal("max_failures", s.stopped)
    assert.is_true(s.failed >= 3 and s.failed <= 4, "failed " .. s.failed)
    s = qp{ api_key = "bad-key" }:update_many(records(12), {
      progress = false, concurrency = 1, max_auth_failures = 0 })
    assert.is_nil(s.stopped)
    assert.are.equal(12, s.failed)
    local ok, msg = pcall(qp().update_many, qp(), {}, { max_failures = -1 })
    assert.is_false(ok)
    assert.matches("max_failures must be 0 or more", tostring(msg), 1, true)
  end)
end)
