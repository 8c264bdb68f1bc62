-- New cases of issue 21 items 3 and 5 together: the journal knows a user
-- by its id, and the vendors read a UUID or GUID without regard to case
-- (Forms On Fire without regard to dashes either).  So one user written
-- under two spellings of its id is one user to the journal too: after
-- Ada (lower case), then Eve (upper case), Ada again is a change, never
-- "unchanged" while the vendor holds Eve.
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local function tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

local CASES = {
  { vendor = "thoughtindustries", field = "firstName",
    opts = { api_key = "forms-key" },
    ids = { "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b",
            "3F2B9C1E-8D4A-4E6F-9A1B-2C3D4E5F6A7B" } },
  { vendor = "formsonfire", field = "FirstName",
    opts = { company_id = 4242, integration_key = "forms-key" },
    ids = { "2ebc64a36a0d400d0123456789abcdef",
            "2EBC64A3-6A0D-400D-0123-456789ABCDEF" } },
}

describe("the journal and the spellings of one id", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  for _, case in ipairs(CASES) do
    it(case.vendor .. ": a change under another spelling is not skipped",
    function()
      local path = tmpdb()
      local function run(id, name)
        local o = { base_url = sandbox.url(), rate = 0 }
        for k, v in pairs(case.opts) do o[k] = v end
        local s = userupd[case.vendor](o):update_many(
          { { id, { [case.field] = name } } },
          { journal = path, progress = false })
        return s
      end
      assert.are.equal(1, run(case.ids[1], "Ada").ok)
      assert.are.equal(1, run(case.ids[2], "Eve").ok)
      local s = run(case.ids[1], "Ada")            -- the vendor holds Eve
      assert.are.equal(0, s.unchanged, "Ada skipped while the vendor " ..
                                       "holds Eve")
      assert.are.equal(1, s.ok)
      -- the same values under the other spelling: unchanged where the id
      -- is in the URL only (Forms On Fire's body holds the id as given,
      -- so its payload differs and it is sent: never wrong, only more)
      s = run(case.ids[2], "Ada")
      if case.vendor == "thoughtindustries" then
        assert.are.equal(1, s.unchanged)
      else
        assert.are.equal(1, s.ok + s.unchanged)
      end
      for _, x in ipairs{ "", "-wal", "-shm", ".lock" } do
        os.remove(path .. x)
      end
    end)
  end
end)
