-- Reading before and after writing: verified updates, and runs that send
-- only what changed (skip_unchanged, changed_fields) across two runs.
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local function tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

local function sm()
  return userupd.smartermeasure{ username = "u", password = "p",
                                 base_url = sandbox.url(), rate = 0 }
end

local function puts()
  return sandbox.stats().puts
end

describe("verified updates", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("reads back and finds every field applied", function()
    local c = userupd.smartermeasure{ username = "u", password = "p",
      base_url = sandbox.url(), rate = 0, send_null = true }
    local user, err, info = c:update(10000001, { FirstName = "Ann",
      external_id = "S-9", Gender = "F", AgeRange = userupd.null },
      { verify = true })
    assert.is_nil(err, tostring(err))
    assert.truthy(user)
    assert.is_true(info.verified)
    assert.are.same({}, info.unapplied)
  end)

  it("lists a field the vendor accepted but ignored", function()
    sandbox.fault{ fault = "ignore-field:name=FirstName", count = 1 }
    local user, err, info = sm():update(10000001, { FirstName = "Cy",
      LastName = "Dee" }, { verify = true })
    assert.is_nil(err)
    assert.truthy(user)
    assert.are.same({ "FirstName" }, info.unapplied)
  end)

  it("turns an ignored field into rejected when strict", function()
    sandbox.fault{ fault = "ignore-field:name=InternalID", count = 1 }
    local user, err, info = sm():update(10000001, { external_id = "X-1" },
                                        { verify = "strict" })
    assert.is_nil(user)
    assert.are.equal("rejected", err.kind)
    assert.are.equal("InternalID", err.field)
    assert.are.same({ "InternalID" }, info.unapplied)
  end)

  it("verifies on every vendor", function()
    local cases = {
      { userupd.thoughtindustries{ api_key = "k", base_url = sandbox.url(),
          rate = 0 }, "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b",
        { firstName = "V", ref2 = "r" } },
      { userupd.blackbaud{ token = "t", base_url = sandbox.url() }, 1574489,
        { FirstName = "V", BirthDate = "2001-02-03" } },
      { userupd.formsonfire{ company_id = 1, integration_key = "k",
          base_url = sandbox.url() }, string.rep("ab", 16),
        { FirstName = "V", Type = "Lite", DoNotEmail = true } },
      { userupd.questionpro{ api_key = "k", base_url = sandbox.url(),
          rate = 0 }, 1234599, { firstName = "V", departmentID = 12 } },
    }
    for _, case in ipairs(cases) do
      local user, err, info = case[1]:update(case[2], case[3],
                                             { verify = "strict" })
      assert.is_nil(err, case[1]:vendor() .. ": " .. tostring(err))
      assert.truthy(user)
      assert.are.same({}, info.unapplied, case[1]:vendor())
    end
  end)

  it("reports a failed read without failing the write", function()
    sandbox.fault{ fault = "500", count = 10, method = "GET" }
    local c = userupd.smartermeasure{ username = "u", password = "p",
      base_url = sandbox.url(), rate = 0, retries = 0 }
    local user, err, info = c:update(10000001, { FirstName = "R" },
                                     { verify = true })
    assert.truthy(user)
    assert.is_nil(err)
    assert.is_false(info.verified)
    assert.are.equal("http", info.verify_error.kind)
  end)
end)

describe("sending only what changed", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  local function roster(n, changed)
    local t = {}
    for i = 1, n do
      t[i] = { i, { firstName = "F" .. i, lastName = "L" .. i,
                    departmentID = 100 + i } }
    end
    for _, i in ipairs(changed or {}) do t[i][2].lastName = "Changed" end
    return t
  end

  local function qp()
    return userupd.questionpro{ api_key = "k", base_url = sandbox.url(),
                                rate = 0 }
  end

  it("skip_unchanged sends nothing for the same input again", function()
    local db = tmpdb()
    qp():update_many(roster(200), { journal = db, progress = false,
                                    skip_unchanged = true })
    local before = puts()
    local s = qp():update_many(roster(200), { journal = db, progress = false,
                                              skip_unchanged = true })
    assert.are.same({ 0, 200 }, { s.ok, s.unchanged })
    assert.are.equal(before, puts())
    os.remove(db)
  end)

  it("skip_unchanged sends only the records whose payload changed",
     function()
    local db = tmpdb()
    qp():update_many(roster(200), { journal = db, progress = false,
                                    skip_unchanged = true })
    local before = puts()
    local s = qp():update_many(roster(200, { 5, 77 }), { journal = db,
      progress = false, skip_unchanged = true })
    assert.are.same({ 2, 198 }, { s.ok, s.unchanged })
    assert.are.equal(before + 2, puts())
    assert.are.equal("Changed", sandbox.user("questionpro", 77).lastName)
    os.remove(db)
  end)

  it("changed_fields sends only the fields that differ", function()
    local db = tmpdb()
    qp():update_many(roster(50), { journal = db, progress = false,
                                   changed_fields = true })
    local s = qp():update_many(roster(50, { 9 }), { journal = db,
      progress = false, changed_fields = true })
    assert.are.same({ 1, 49 }, { s.ok, s.unchanged })
    assert.are.equal('{"lastName":"Changed"}',
                     sandbox.last("questionpro").body)
    -- the journal remembers the whole record, so a third run sends nothing
    s = qp():update_many(roster(50, { 9 }), { journal = db, progress = false,
                                              changed_fields = true })
    assert.are.same({ 0, 50 }, { s.ok, s.unchanged })
    os.remove(db)
  end)

  it("changed_fields keeps a replace group whole (Thought Industries)",
     function()
    local db = tmpdb()
    local ti = userupd.thoughtindustries{ api_key = "k", rate = 0,
                                          base_url = sandbox.url() }
    local id = "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"
    local function rec(slugs)
      return { { id, { city = "Oslo", replaceCourseAccess = true,
                       courseIds = {}, courseSkus = { "SKU-1" },
                       courseSlugs = slugs } } }
    end
    ti:update_many(rec({ "a" }), { journal = db, progress = false,
                                   changed_fields = true })
    local s = ti:update_many(rec({ "a", "b" }), { journal = db,
      progress = false, changed_fields = true })
    assert.are.equal(1, s.ok)
    local body = userupd.json_decode(sandbox.last("thoughtindustries").body)
    assert.is_true(body.replaceCourseAccess)
    assert.are.same({ "SKU-1" }, body.courseSkus)   -- unchanged, still sent
    assert.are.same({ "a", "b" }, body.courseSlugs)
    assert.is_nil(body.city)                        -- unchanged, left out
    os.remove(db)
  end)
end)
