-- `userupd fields VENDOR` and `userupd get VENDOR ID` (issue 23 #16): the
-- fields come from the descriptor (userupd.vendors[v].field_info), and
-- docs/cli.md carries the same tables, checked here line for line.
local sandbox = require "support.sandbox"
local cli = require "support.clirun"
local userupd = require "userupd"

local VENDORS = { "blackbaud", "formsonfire", "questionpro", "smartermeasure",
                  "thoughtindustries" }

-- The block of docs/cli.md between "<!-- userupd fields V -->" and the
-- next "<!-- end -->", without its code fence.
local function doc_block(vendor)
  local text = assert(cli.slurp("docs/cli.md"))
  local block = text:match("<!%-%- userupd fields " .. vendor ..
                           " %-%->\n(.-)<!%-%- end %-%->")
  assert.truthy(block, "docs/cli.md has no fields block for " .. vendor)
  return (block:gsub("^```[^\n]*\n", ""):gsub("```\n$", ""))
end

describe("userupd fields", function()
  after_each(function() cli.cleanup() end)

  for _, vendor in ipairs(VENDORS) do
    it("lists every field of " .. vendor .. " as docs/cli.md shows it",
    function()
      local r = cli.run{ "fields", vendor }
      assert.are.equal(0, r.rc, r.err)
      local v = userupd.vendors[vendor]
      for _, name in ipairs(v.fields) do
        assert.truthy(r.out:find("\n" .. name .. " ", 1, true),
                      name .. " missing")
      end
      assert.are.equal(r.out, doc_block(vendor))
    end)
  end

  it("shows types, enums, cross-vendor names, lists, clearing", function()
    local r = cli.run{ "fields", "formsonfire" }
    assert.matches("\nType +enum .* one of Full, Premium, Standard, Lite",
                   r.out)
    assert.matches("\nFirstName +string +%- +first_name +not documented",
                   r.out)
    r = cli.run{ "fields", "blackbaud" }
    assert.matches("\nEmail +string +%- +email +yes, FieldsToNull", r.out)
    r = cli.run{ "fields", "thoughtindustries" }
    assert.matches("\ncourseIds +uuid list +list +%- +no %(send {} to " ..
                   "empty it%) +sent as %[%] when absent", r.out)
    assert.matches("\ncustomFields +object +object", r.out)
    r = cli.run{ "fields", "QuestionPro", "--format", "json" }
    local list = userupd.json_decode(r.out)
    assert.are.equal("departmentID", list[1].name)
    assert.are.equal("integer", list[1].type)
    assert.are.equal(true, list[4].secret)          -- password
    assert.are.equal(#userupd.vendors.questionpro.fields, #list)
  end)

  it("refuses an unknown vendor with exit 2", function()
    local r = cli.run{ "fields", "nosuchvendor" }
    assert.are.equal(2, r.rc)
    assert.matches("unknown vendor", r.err, 1, true)
  end)
end)

describe("userupd get", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("prints the vendor's current record as JSON", function()
    local env = { USERUPD_QUESTIONPRO_API_KEY = "S3CRET-get-key" }
    local r = cli.run{ "get", "questionpro", "7002", "--base-url",
                       sandbox.url(), env = env }
    assert.are.equal(0, r.rc, r.err)
    local user = userupd.json_decode(r.out)
    assert.are.equal(7002, user.userID)
    assert.are.equal(sandbox.user("questionpro", 7002).emailAddress,
                     user.emailAddress)
    assert.matches("target: QuestionPro at 127.0.0.1", r.err, 1, true)
    assert.not_matches("S3CRET", r.out .. r.err, 1, true)
    r = cli.run{ "get", "questionpro", "abc", "--base-url", sandbox.url(),
                 env = env }
    assert.are.equal(2, r.rc)
    assert.matches('^userupd: get abc: id: expected a positive integer, ' ..
                   'got "abc"\n$', r.err)       -- one line, nothing read
    r = cli.run{ "get", "questionpro", "7002", "--base-url", sandbox.url(),
                 env = { USERUPD_QUESTIONPRO_API_KEY = "bad-key" } }
    assert.are.equal(1, r.rc)
    assert.matches("get 7002 at QuestionPro: ", r.err, 1, true)
    r = cli.run{ "get", "questionpro", "900000001", "--base-url",
                 sandbox.url(), env = env }
    assert.are.equal(1, r.rc)
    assert.matches("get 900000001 at QuestionPro: ", r.err, 1, true)
  end)
end)
