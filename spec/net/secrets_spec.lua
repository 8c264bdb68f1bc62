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
local part = {}                         -- what the running collector wrote
local parts = {}                        -- collector name -> its part

local function note(text)
  seen[#seen + 1] = text
  part[#part + 1] = text
end

local function keep(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "table" then
      note(tostring(v))
      for k, x in pairs(v) do
        note(tostring(k) .. "=" .. tostring(x))
        if type(x) == "table" then keep(x) end
      end
    else
      note(tostring(v))
    end
  end
end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  note(out)
  return out
end

-- The markers found in a list of texts, sorted by name.
local function markers_in(list)
  local text, hits = table.concat(list, "\n"), {}
  for name, marker in pairs(M) do
    if text:find(marker, 1, true) then hits[#hits + 1] = name end
  end
  table.sort(hits)
  return hits
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

-- The collectors drive every path once, in setup (so no test depends on
-- another having run first); each test then checks what its collector
-- wrote, and the last one everything.
local collect = {}

function collect.kinds()
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
end

function collect.cli()
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
     .. " --dry-run --show-requests")
  sh(env .. cli .. " apply questionpro --input " .. csv .. " --map " .. mapf
     .. " --base-url " .. sandbox.url() .. " --journal " .. db)
  sh(cli .. " failures --journal " .. db .. " --format jsonl")
  sh(cli .. " failures --journal " .. db .. " --format csv")
  sh(cli .. " apply questionpro --input " .. csv .. " --map " .. mapf)
  for _, p in ipairs({ db, db .. "-wal", db .. "-shm", script, csv, mapf }) do
    os.remove(p)
  end
end

describe("secrets audit", function()
  setup(function()
    sandbox.start()
    for _, name in ipairs({ "kinds", "cli" }) do
      sandbox.reset()
      part = {}
      parts[name] = part
      collect[name]()
    end
  end)

  it("tostring of clients and requests, prepare and every kind", function()
    assert.is_true(#parts.kinds > 200, "too little was driven")
    assert.are.same({}, markers_in(parts.kinds))
  end)

  it("progress, journal bytes, failures and the CLI", function()
    assert.is_true(#parts.cli >= 9, "too little was driven")
    assert.are.same({}, markers_in(parts.cli))
  end)

  it("finds no marker in anything written", function()
    local text = table.concat(seen, "\n")
    assert.is_true(#seen > 300, "too little was driven: " .. #seen)
    assert.are.same({}, markers_in(seen))
    print(("\n# %d secrets checked in %d outputs (%d bytes)"):format(10,
          #seen, #text))
  end)
end)

-- The hostile echo audit (issue 12, item 5).  The sandbox's "echo" fault
-- reflects the whole request (request line, every header, the body), after
-- a growing run of dots, into every string of the vendor's error shape, into
-- requestID and into X-Request-Id: a credential anywhere in what the client
-- sends comes back in every channel, at every offset, so every truncation
-- boundary is crossed.  The markers carry +, / and = (and " and \), so their
-- URL-encoded and JSON-escaped forms differ from the raw ones.
local E = {
  sm_user = "MKesmU+s/r=1", sm_pass = "MKesmP+p/w=2", ti_key = "MKetiK+t/i=3",
  bb_token = "MKebbT+o/k=4", bb_user = "MKebbU+u/b=5",
  bb_pass = 'MKebbP"a\\q/s=6', bb_login = "MKebbL+l/gin==7",
  ff_key = "MKeffK+f/f=8", qp_key = "MKeqpK+q/p=9", px_pass = "MKepxP+x/ss=10",
}
local CANARY = "CANARYua7"              -- reflected, not secret: the teeth
local UP, LOW = { FirstName = "A" }, { firstName = "A" }

local function urlenc(s)
  return (s:gsub("[^%w%-%._~]", function(ch)
    return ("%%%02X"):format(ch:byte())
  end))
end

local function jsonesc(s)
  return (s:gsub('[\\"]', function(ch) return "\\" .. ch end))
end

local function b64(s)
  local t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    for k = 3, 0, -1 do
      local idx = math.floor(v / 64 ^ k) % 64
      out[#out + 1] = t:sub(idx + 1, idx + 1)
    end
    if not c then out[#out] = "=" end
    if not b then out[#out - 1] = "=" end
  end
  return table.concat(out)
end

-- name -> every form the client itself puts on the wire.
local function all_forms()
  local forms = {}
  for name, s in pairs(E) do
    forms[name] = { s, urlenc(s), jsonesc(s) }
  end
  forms.sm_basic = { b64(E.sm_user .. ":" .. E.sm_pass) }
  forms.px_basic = { b64("pxuser99:" .. E.px_pass) }
  return forms
end

-- The secrets (or parts of 6 bytes or more: a cut must not leave a piece)
-- found in text, matched without regard to case.
local function leaks(text)
  local low, hits = text:lower(), {}
  for name, forms in pairs(all_forms()) do
    for _, f in ipairs(forms) do
      f = f:lower()
      for i = 1, #f - 5 do
        if low:find(f:sub(i, i + 5), 1, true) then
          hits[name] = true
          break
        end
      end
    end
  end
  local list = {}
  for name in pairs(hits) do list[#list + 1] = name end
  table.sort(list)
  return list
end

local out = {}                          -- channel -> { text, ... }
local group = {}                        -- the running collector's channels
local groups = {}                       -- collector name -> its channels
local function put(channel, v)
  if v == nil then return end
  for _, t in ipairs({ out, group }) do
    t[channel] = t[channel] or {}
    table.insert(t[channel], tostring(v))
  end
end
local function keep_err(prefix, u, err, info)
  if err then
    put(prefix .. "err.message", err.message)
    put(prefix .. "err.vendor_code", err.vendor_code)
    put(prefix .. "err.request_id", err.request_id)
    put(prefix .. "tostring(err)", tostring(err))
  end
  if info then put(prefix .. "info.request_id", info.request_id) end
  if u then put(prefix .. "user", tostring(u)) end
end

local function opts(t)
  t.base_url = t.base_url or sandbox.url()
  t.rate, t.retries, t.timeout, t.user_agent = 0, 0, 5, CANARY
  return t
end
local function echo_clients()
  local px = ("http://pxuser99:%s@%s"):format(urlenc(E.px_pass),
                                            sandbox.url():match("//(.*)"))
  return {
    { userupd.smartermeasure(opts{ username = E.sm_user,
                                   password = E.sm_pass }), 1, UP },
    { userupd.thoughtindustries(opts{ api_key = E.ti_key }), ids[2], LOW },
    { userupd.blackbaud(opts{ token = E.bb_token }), 1574489, UP },
    { userupd.formsonfire(opts{ company_id = 9,
                                integration_key = E.ff_key }), ids[5], UP },
    { userupd.questionpro(opts{ api_key = E.qp_key }), 1234599, LOW },
    { userupd.questionpro(opts{ api_key = E.qp_key, proxy = px }), 1, LOW },
    { userupd.questionpro(opts{ api_key = E.qp_key, key_in = "header" }),
      1, LOW },
  }
end

-- Every listed channel of one collector carries the reflection (the audit
-- has teeth there) and no secret, whole or in part.
local function check_group(name, channels)
  local g = assert(groups[name], "collector " .. name .. " did not run")
  for _, ch in ipairs(channels) do
    assert.is_truthy(g[ch], "nothing from " .. ch)
    local text = table.concat(g[ch], "\n")
    assert.is_truthy(text:find(CANARY, 1, true) or
                     text:find("PUT /", 1, true) or
                     text:find("POST /", 1, true), "no reflection in " .. ch)
  end
  local bad = {}
  for ch, list in pairs(g) do
    local hits = leaks(table.concat(list, "\n"))
    if #hits > 0 then bad[ch] = table.concat(hits, ",") end
  end
  assert.are.same({}, bad)
end

-- The collectors: each drives one set of paths against the echo fault.
local echo = {}

function echo.sync()
  sandbox.fault{ fault = "echo:status=400,step=7" }
  for _, c in ipairs(echo_clients()) do
    put("tostring(client)", tostring(c[1]))
    for _ = 1, 88 do                    -- 88 x 7 > 600: every offset
      keep_err("", c[1]:update(c[2], c[3]))
    end
    keep_err("get.", c[1]:get(c[2]))
  end
  sandbox.clear_faults()
  sandbox.fault{ fault = "echo:status=200,step=7", vendor = "formsonfire" }
  local ff = echo_clients()[4]
  for _ = 1, 88 do keep_err("ff200.", ff[1]:update(ff[2], UP)) end
end

function echo.login()
  local bb = userupd.blackbaud(opts{ username = E.bb_user,
                                     password = E.bb_pass })
  sandbox.fault{ fault = "echo:status=401,step=7" }
  for _ = 1, 88 do keep_err("login.", bb:update(1574489, UP)) end
  sandbox.clear_faults()
  sandbox.fault{ fault = "bb-token:token=" .. E.bb_login,
                 path = "/api/authentication/login" }
  sandbox.fault{ fault = "echo:status=400,step=7" }
  bb = userupd.blackbaud(opts{ username = E.bb_user, password = E.bb_pass })
  for _ = 1, 88 do
    keep_err("token.", bb:update(1574489, { FirstName = "A" }))
  end
  put("token.tostring(req)", tostring(bb:prepare(1574489, UP)))
end

function echo.lua()
  local st = require "support.socket_transport"
  sandbox.fault{ fault = "echo:status=400,step=7" }
  local ti = userupd.thoughtindustries(opts{ api_key = E.ti_key,
                                             transport = st.new() })
  for _ = 1, 88 do keep_err("lua.", ti:update(ids[2], LOW)) end
  local qp = userupd.questionpro(opts{ api_key = E.qp_key })
  for _ = 1, 20 do
    qp:submit(1234599, { firstName = "A" }, function(...)
      keep_err("async.", ...)
    end)
  end
  local deadline = os.time() + 20
  while userupd.poll(0.05) > 0 and os.time() < deadline do end
end

function echo.many()
  sandbox.fault{ fault = "echo:status=400,step=7" }
  local db = os.tmpname() .. ".db"
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(([[
    local userupd = require "userupd"
    local q = userupd.questionpro{ api_key = %q, base_url = %q, rate = 0,
                                   retries = 0, user_agent = %q }
    local t = {}
    for i = 1, 88 do t[i] = { i, { firstName = "P" } } end
    q:update_many(t, { journal = %q, progress = true,
      on_result = function(id, u, e, info)
        io.stderr:write(tostring(e), " ", tostring(info.request_id), "\n")
      end })
  ]]):format(E.qp_key, sandbox.url(), CANARY, db))
  f:close()
  local function run(channel, cmd)
    local p = assert(io.popen(cmd .. " 2>&1"))
    put(channel, p:read("*a"))
    p:close()
  end
  run("progress+on_result", util.lua() .. " " .. script)
  local j = assert(userupd.journal(db))
  for _, r in ipairs(j:failures()) do
    put("journal.message", r.message)
    put("journal.vendor_code", r.vendor_code)
  end
  j:close()
  for _, suffix in ipairs({ "", "-wal", "-shm" }) do
    local fh = io.open(db .. suffix, "rb")
    if fh then put("journal.bytes", fh:read("*a")); fh:close() end
  end
  local cli = util.lua() .. " " .. util.root .. "/bin/userupd"
  run("failures.csv", cli .. " failures --journal " .. db .. " --format csv")
  run("failures.jsonl", cli .. " failures --journal " .. db ..
     " --format jsonl")
  local csv = os.tmpname() .. ".csv"
  local mapf = os.tmpname() .. ".lua"
  f = assert(io.open(csv, "w"))
  f:write("id,name\n1,Ann\n2,Bo\n")
  f:close()
  f = assert(io.open(mapf, "w"))
  f:write("return function(r, v) return tonumber(r.id), " ..
          "v == 'smartermeasure' and { FirstName = r.name } or " ..
          "{ firstName = r.name } end\n")
  f:close()
  local px = ("http://pxuser99:%s@%s"):format(urlenc(E.px_pass),
                                            sandbox.url():match("//(.*)"))
  local env = ("USERUPD_QUESTIONPRO_API_KEY='%s' " ..
               "USERUPD_QUESTIONPRO_USER_AGENT='%s' "):format(E.qp_key, CANARY)
  run("cli.stderr", env .. cli .. " apply questionpro --input " .. csv ..
     " --map " .. mapf .. " --base-url " .. sandbox.url() ..
     " --journal " .. db .. "2")
  run("cli.stderr", env .. "USERUPD_QUESTIONPRO_PROXY='" .. px .. "' " ..
      cli .. " apply questionpro --input " .. csv .. " --map " .. mapf ..
      " --base-url " .. sandbox.url())
  -- Basic credentials (5a) through the CLI, its journal and failures
  env = ("USERUPD_SMARTERMEASURE_USERNAME='%s' " ..
         "USERUPD_SMARTERMEASURE_PASSWORD='%s' " ..
         "USERUPD_SMARTERMEASURE_USER_AGENT='%s' "):format(E.sm_user,
                                                      E.sm_pass, CANARY)
  run("cli.stderr", env .. cli .. " apply smartermeasure --input " .. csv ..
      " --map " .. mapf .. " --base-url " .. sandbox.url() ..
      " --journal " .. db .. "3")
  run("failures.csv", cli .. " failures --journal " .. db .. "3 --format csv")
  run("failures.jsonl", cli .. " failures --journal " .. db ..
      "3 --format jsonl")
  for _, p in ipairs({ db, db .. "-wal", db .. "-shm", db .. "2",
                       db .. "2-wal", db .. "2-shm", db .. "3", db .. "3-wal",
                       db .. "3-shm", script, csv, mapf }) do
    os.remove(p)
  end
end

describe("secrets audit against a hostile echo server", function()
  it("uses markers that share no 6-byte piece, in any form", function()
    local owner = {}
    for name, forms in pairs(all_forms()) do
      for _, f in ipairs(forms) do
        f = f:lower()
        for i = 1, #f - 5 do
          local piece = f:sub(i, i + 5)
          assert.is_true(owner[piece] == nil or owner[piece] == name,
                         piece .. " in " .. name .. " and " ..
                         tostring(owner[piece]))
          owner[piece] = name
        end
      end
    end
  end)

  -- Every collector runs once here, each on a freshly reset sandbox, so
  -- no test depends on another having run before it.
  setup(function()
    sandbox.start()
    for _, name in ipairs({ "sync", "login", "lua", "many" }) do
      sandbox.reset()
      group = {}
      groups[name] = group
      echo[name]()
    end
  end)

  it("sync calls: message, vendor_code, request ids at every offset",
     function()
    check_group("sync", { "err.message", "err.vendor_code", "err.request_id",
      "info.request_id", "tostring(err)", "get.err.message",
      "ff200.err.message" })
  end)

  it("a Blackbaud login echoed, and a session token with + / =", function()
    check_group("login", { "login.err.message", "token.err.message",
      "token.err.request_id" })
  end)

  it("the Lua transport and submit/poll paths", function()
    check_group("lua", { "lua.err.message", "lua.err.request_id",
      "async.err.message", "async.err.request_id" })
  end)

  it("update_many: progress, journal bytes, failures and the CLI",
     function()
    check_group("many", { "journal.message", "journal.vendor_code",
      "journal.bytes", "failures.csv", "failures.jsonl", "cli.stderr",
      "progress+on_result" })
  end)

  it("has teeth: the request as sent shows every secret", function()
    -- with redaction off, the client would show what it sends:
    local sent = {}
    for _, c in ipairs(echo_clients()) do
      local req = c[1]:prepare(c[2], c[3])
      sent[#sent + 1] = req.url .. " " .. (req.body or "")
      for k, v in pairs(req.headers) do sent[#sent + 1] = k .. ": " .. v end
    end
    local found = leaks(table.concat(sent, "\n"))
    for _, name in ipairs({ "sm_basic", "ti_key", "bb_token", "ff_key",
                            "qp_key" }) do
      assert.is_truthy(table.concat(found, " "):find(name, 1, true), name)
    end
    assert.are.same({ "qp_key" }, leaks("x " .. E.qp_key:sub(1, 6):upper()))
  end)

  it("finds no secret, whole or in part, in any channel", function()
    local bad, n = {}, 0
    for ch, list in pairs(out) do
      n = n + #list
      local hits = leaks(table.concat(list, "\n"))
      if #hits > 0 then bad[ch] = table.concat(hits, ",") end
    end
    assert.is_true(n > 1000, "too little was driven: " .. n)
    assert.are.same({}, bad)
  end)
end)
