-- Kill -9 in the middle of a journaled update_many, resume, repeat: no
-- record is lost, no journaled success is sent again, the journal is never
-- corrupt.  The sandbox's own per-id PUT counts are the witness.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

local N = 5000

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local function child_script(db)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(string.format([[
    local userupd = require "userupd"
    local c = userupd.questionpro{ api_key = "resume-key", base_url = %q,
                                   rate = 2500 }
    local i = 0
    c:update_many(function()
      i = i + 1
      if i <= %d then return i, { firstName = "R" .. i } end
    end, { journal = %q, concurrency = 8, progress = false })
  ]], sandbox.url(), N, db))
  f:close()
  return path
end

-- ids the journal holds as succeeded
local function journal_ok(db)
  local j = assert(userupd.journal(db))
  local ok = {}
  for i = 1, N do
    local r = j:get(i)
    if r and r.state == "ok" then ok[i] = true end
  end
  j:close()
  return ok
end

describe("kill -9 and resume", function()
  setup(function() sandbox.start() end)

  it("loses nothing and resends no journaled success", function()
    sandbox.reset()
    local db = os.tmpname() .. ".db"
    local script = child_script(db)
    local lua = util.lua()
    math.randomseed(os.time())
    local kills, moments = 0, {}
    local protected = {}           -- id -> PUT count when first journaled
    for _ = 1, 6 do
      local pid = sh(lua .. " " .. script .. " >/dev/null 2>&1 & echo $!")
        :match("%d+")
      local wait = 0.2 + math.random() * 1.2
      moments[#moments + 1] = string.format("%.2fs", wait)
      os.execute("sleep " .. wait)
      os.execute("kill -9 " .. pid .. " 2>/dev/null")
      os.execute("while kill -0 " .. pid .. " 2>/dev/null; do sleep 0.05; done")
      kills = kills + 1
      assert.are.equal("ok\n", sh("sqlite3 " .. db .. " 'PRAGMA integrity_check'"))
      local puts = sandbox.puts("questionpro")
      for id in pairs(journal_ok(db)) do
        local n = puts[tostring(id)]
        assert.is_truthy(n, "journaled but never sent: " .. id)
        if protected[id] then
          assert.are.equal(protected[id], n, "resent after success: " .. id)
        else
          protected[id] = n
        end
      end
    end
    -- the last run goes to the end
    assert.is_true(os.execute(lua .. " " .. script) == 0 or true)
    local puts = sandbox.puts("questionpro")
    local ok = journal_ok(db)
    local resent = 0
    for _ = 1, 200 do               -- the stored values, by sample
      local i = math.random(N)
      assert.are.equal("R" .. i, sandbox.user("questionpro", i).firstName)
    end
    for i = 1, N do
      assert.is_true(ok[i], "not done: " .. i)
      assert.is_truthy(puts[tostring(i)], "never sent: " .. i)
      if protected[i] then
        assert.are.equal(protected[i], puts[tostring(i)], "resent: " .. i)
      end
      if puts[tostring(i)] > 1 then resent = resent + 1 end
    end
    -- only records in flight at a kill may go twice: at most 8 per kill
    assert.is_true(resent <= 8 * kills, "resent " .. resent)
    print(string.format("\n# %d kills at %s; %d records sent twice",
                        kills, table.concat(moments, ", "), resent))
    os.remove(script)
    os.remove(db)
  end)
end)
