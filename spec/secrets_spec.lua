-- The secrets audit: every credential carries a unique marker; every
-- path that writes anything (errors, info, tostring, progress, the CLI,
-- the journal's bytes on disk) is driven, and nothing written may hold a
-- marker.  No secret is exempt, not even inside a vendor's error text.
local userupd = require "userupd"
local sandbox = require "support.sandbox"
local util = require "support.util"

local M = {
  sm_user = "MKsmuser7a1", sm_pass = "MKsmpass7a2", ti_key = "MKtikey7a3",
  bb_token = "MKbbtoken7a4", bb_user = "MKbbuser7a5", bb_pass = "MKbbpass7a6",
  ff_key = "MKffkey7a7", qp_key = "MKqpkey7a8", qp_pw = "MKqpfieldpw7a9",
  ff_pw = "MKfffieldpw7b1",
}

local seen = {}                         -- everything written, as text

local function keep(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "table" then
      seen[#seen + 1] = tostring(v)
      for k, x in pairs(v) do
        seen[#seen + 1] = tostring(k) .. "=" .. tostring(x)
        if type(x) == "table" then keep(x) end
      end
    else
      seen[#seen + 1] = tostring(v)
    end
  end
end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  seen[#seen + 1] = out
  return out
end

local function clients(prefix, url)
  prefix = prefix or ""
  local base = { base_url = url or sandbox.url(), rate = 0, retries = 1,
                 retry_base = 0.01, max_retry_wait = 0.02, timeout = 2 }
  local function o(t)
    for k, v in pairs(base) do t[k] = v end
    return t
  end
  return {
    userupd.smartermeasure(o{ username = prefix .. M.sm_user,
                              password = prefix .. M.sm_pass }),
    userupd.thoughtindustries(o{ api_key = prefix .. M.ti_key }),
    userupd.blackbaud(o{ token = prefix .. M.bb_token }),
    userupd.blackbaud(o{ username = prefix .. M.bb_user,
                         password = prefix .. M.bb_pass }),
    userupd.formsonfire(o{ company_id = 9, integration_key = prefix .. M.ff_key }),
    userupd.questionpro(o{ api_key = prefix .. M.qp_key }),
  }
end

local ids = { 10000001, "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b", 1574489,
              1574489, "2ebc64a36a0d400d0123456789abcdef", 1234599 }
local good = { { FirstName = "A" }, { firstName = "A" }, { FirstName = "A" },
               { FirstName = "A" }, { FirstName = "A", Password = M.ff_pw },
               { firstName = "A", password = M.qp_pw } }

describe("secrets audit", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  it("tostring of clients and requests, prepare and every kind", function()
    for i, c in ipairs(clients()) do
      keep(tostring(c), tostring(c:prepare(ids[i], good[i])))
      keep(c:prepare(ids[i], { bogus = M.qp_pw }))       -- invalid
      keep(c:update(ids[i], good[i], { verify = true }))  -- success
      keep(c:get(ids[i]))
      keep(c:update(999999999, good[i]))                   -- not_found etc.
      sandbox.fault{ fault = "nonjson", count = 1 }
      keep(c:update(ids[i], good[i]))                      -- decode
      sandbox.fault{ fault = "429", count = 5 }
      keep(c:update(ids[i], good[i]))                      -- rate_limited
      sandbox.clear_faults()
    end
    for _, c in ipairs(clients("bad")) do                  -- auth, echoed
      for i = 1, 6 do keep(c:update(ids[i], good[i])) end
    end
    for i, c in ipairs(clients(nil, "http://127.0.0.1:9")) do   -- transport
      keep(c:update(ids[i], good[i]))
    end
    for i, c in ipairs(clients(nil, sandbox.tls_url())) do      -- TLS
      keep(c:update(ids[i], good[i]))
    end
    keep(pcall(userupd.questionpro, { api_key = M.qp_key .. "\n" }))
    -- a vendor echoing the key in its error code and text
    local echo = userupd.thoughtindustries{ api_key = M.ti_key, rate = 0,
      base_url = sandbox.url(),
      retries = 0, transport = function()
        return 401, '{"error":"invalid key ' .. M.ti_key ..
          '","message":"bad key ' .. M.ti_key .. '"}', {}
      end }
    keep(echo:update(ids[2], {}))
    -- a key passed by mistake as the id, or as a field value
    local ff = clients()[5]
    keep(ff:prepare(M.ff_key, {}), ff:prepare(ids[5], { Type = M.ff_key }))
    keep(pcall(userupd.thoughtindustries, { api_key = M.ti_key,
                                            base_url = "http://x.org" }))
  end)

  it("progress, journal bytes, failures and the CLI", function()
    local db = os.tmpname() .. ".db"
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
      local userupd = require "userupd"
      local q = userupd.questionpro{ api_key = %q, base_url = %q, rate = 0 }
      local t = {}
      for i = 1, 40 do t[i] = { i, { firstName = "P", password = %q } } end
      t[41] = { 999999999, { firstName = "ghost" } }
      t[42] = { 3, { firstName = 7 } }
      q:update_many(t, { journal = %q, progress = true,
        on_result = function(id, u, e, info) print(id, e, info.status) end })
    ]]):format(M.qp_key, sandbox.url(), M.qp_pw, db))
    f:close()
    sh(util.lua() .. " " .. script)
    local j = assert(userupd.journal(db))
    keep(j:failures(), j:summary(), tostring(j), j:get(1), j:get(999999999))
    j:close()
    for _, suffix in ipairs({ "", "-wal", "-shm" }) do
      local fh = io.open(db .. suffix, "rb")
      if fh then seen[#seen + 1] = fh:read("*a"); fh:close() end
    end
    local env = ("USERUPD_QUESTIONPRO_API_KEY=%s "):format(M.qp_key)
    local cli = util.lua() .. " " .. util.root .. "/bin/userupd"
    local csv = os.tmpname() .. ".csv"
    local mapf = os.tmpname() .. ".lua"
    f = assert(io.open(csv, "w"))
    f:write("id,name\n1,Ann\n2,Bo\nx,Bad\n")
    f:close()
    f = assert(io.open(mapf, "w"))
    f:write("return function(r) return tonumber(r.id) or r.id, " ..
            "{ firstName = r.name, password = '" .. M.qp_pw .. "' } end\n")
    f:close()
    sh(env .. cli .. " apply questionpro --input " .. csv .. " --map " .. mapf
       .. " --dry-run")
    sh(env .. cli .. " apply questionpro --input " .. csv .. " --map " .. mapf
       .. " --base-url " .. sandbox.url() .. " --journal " .. db)
    sh(cli .. " failures --journal " .. db .. " --format jsonl")
    sh(cli .. " failures --journal " .. db .. " --format csv")
    sh(cli .. " apply questionpro --input " .. csv .. " --map " .. mapf)
    for _, p in ipairs({ db, db .. "-wal", db .. "-shm", script, csv, mapf }) do
      os.remove(p)
    end
  end)

  it("finds no marker in anything written", function()
    local text = table.concat(seen, "\n")
    assert.is_true(#seen > 300, "too little was driven: " .. #seen)
    local hits = {}
    for name, marker in pairs(M) do
      if text:find(marker, 1, true) then hits[#hits + 1] = name end
    end
    table.sort(hits)
    assert.are.same({}, hits)
    print(("\n# %d secrets checked in %d outputs (%d bytes)"):format(10,
          #seen, #text))
  end)
end)
