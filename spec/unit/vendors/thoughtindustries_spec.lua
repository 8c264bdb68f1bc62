-- Thought Industries: PUT /incoming/v2/users/:id, Bearer key, seed 001.
-- What every vendor shares is tested from its descriptor in
-- spec/unit/vendors_spec.lua; this file keeps what is this vendor's own.
local userupd = require "userupd"
local util = require "support.util"

local ID = "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"

describe("thoughtindustries", function()
  local ti = userupd.thoughtindustries{ subdomain = "acme",
                                        api_key = "ti_test_k" }

  it("reproduces the seed's example, with the other required lists as []",
     function()
    -- The seed's example shows two of the eleven lists its table marks
    -- Required; the rest go out as [] (a merge with nothing changes no
    -- access), in the table's order.
    local seed = util.fixture("seeds/thoughtindustries.json")
    local fields = userupd.json_decode(seed)
    local req = assert(ti:prepare(ID, fields))
    local expected = util.minify(seed):gsub("}$", "") ..
      ',"studentLicenseIds":[],"managerLicenseIds":[],"courseIds":[],' ..
      '"courseSlugs":[],"courseSkus":[],"bundleSlugs":[],' ..
      '"learningPathSlugs":[],"learningPathSkus":[],"learningPathIds":[]}'
    assert.are.equal(expected, req.body)
    local back = userupd.json_decode(req.body)
    for k, v in pairs(fields) do
      assert.is_true(util.same(v, back[k]), k)
    end
  end)

  it("uses the tenant subdomain and a Bearer header", function()
    local req = ti:prepare(ID, { email = "a@example.org" })
    assert.are.equal("https://acme.thoughtindustries.com/incoming/v2/users/"
                     .. ID, req.url)
    assert.are.equal("Bearer ti_test_k", req.headers.Authorization)
  end)

  it("writes lists, objects, numbers and flags by their seed types", function()
    local req = assert(ti:prepare(ID, {
      courseIds = { "00000000-0000-0000-0000-000000000001" },
      customFields = { zeta = 1, alpha = { 1, 2 }, mid = userupd.null },
      balance = 12.5, dualRole = true, ref10 = "x",
      panoramaEnrollmentOptions = { sendEmail = false },
      replaceCourseAccess = true, courseSlugs = {}, courseSkus = { "C-1" },
    }))
    local b = userupd.json_decode(req.body)
    assert.are.same({ "00000000-0000-0000-0000-000000000001" }, b.courseIds)
    assert.matches('"customFields":{"alpha":[1,2],"mid":null,"zeta":1}',
                   req.body, 1, true)
    assert.matches('"balance":12.5', req.body, 1, true)
    assert.matches('"panoramaEnrollmentOptions":{"sendEmail":false}',
                   req.body, 1, true)
    assert.matches('"courseSlugs":[]', req.body, 1, true)
  end)

  it("checks UUIDs in the id, in uuid fields and in uuid lists", function()
    for _, bad in ipairs({ { clientId = "nope" },
                           { courseIds = { ID, "12345" } },
                           { sfContactId = ID .. "0" } }) do
      local _, err = ti:prepare(ID, bad)
      assert.are.equal("invalid", err.kind)
    end
    local _, err = ti:prepare("not-a-uuid", {})
    assert.are.equal("id", err.field)
    assert.is_nil((ti:prepare(ID, { courseIds = { ID, 7 } })))
  end)

  it("takes a UUID or a Salesforce id (15 or 18 letters and digits) in "
     .. "sfContactId and sfAccountId", function()
    for _, good in ipairs({ ID, "0031U00001abcdeQAA", "0031U00001abcde",
                            "001D000000IqhSLIAZ" }) do
      local req = assert(ti:prepare(ID, { sfContactId = good,
                                          sfAccountId = good }))
      assert.matches('"sfContactId":"' .. good .. '","sfAccountId":"'
                     .. good .. '"', req.body, 1, true)
    end
    for _, bad in ipairs({ "0031U00001abcdeQA", "0031U00001abcdeQAAX",
                           "0031U00001-bcdeQAA", "0031U00001abcd\195\169AA",
                           "" }) do
      for _, name in ipairs({ "sfContactId", "sfAccountId" }) do
        local _, err = ti:prepare(ID, { [name] = bad })
        assert.are.equal("invalid", err.kind)
        assert.are.equal(name, err.field)
        assert.matches("Salesforce id", err.message, 1, true)
      end
    end
  end)
end)
