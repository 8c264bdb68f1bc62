-- New cases of issue 21 item 3 (a change skipped as unchanged): the
-- journal's last success no longer says what the vendor holds once a later
-- attempt failed in a way that may have been applied (an answer cut off,
-- a 5xx from a gateway, a timeout).  docs/guide.md: "changed and failed
-- records are sent".  So a record whose last attempt failed is sent again,
-- even when it equals the last success again (an operator reverting a
-- change): skipping it would leave the vendor with the failed attempt's
-- values.  A hostile server on 127.0.0.1 answers, and counts requests.
local userupd = require "userupd"
local hostile = require "support.hostile"

local next_port = tonumber(os.getenv("USERUPD_HOSTILE_PORT") or "") or
  (tonumber(os.getenv("USERUPD_SANDBOX_PORT") or "8089") + 350)
local function port()
  next_port = next_port + 1
  return next_port
end

local OK = hostile.answer("200 OK", { "Content-Type: application/json" },
                          '{"response":{"userID":300001}}')
local CUT = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" ..
            "Content-Length: 500\r\n\r\n{\"response\":"
local E502 = hostile.answer("502 Bad Gateway",
                            { "Content-Type: text/plain" }, "bad gateway")

local function tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

describe("a record whose last attempt failed", function()
  local srv, path
  after_each(function()
    if srv then srv:stop() end
    srv = nil
    if path then
      for _, s in ipairs{ "", "-wal", "-shm", ".lock" } do
        os.remove(path .. s)
      end
    end
  end)

  local function run(fields)
    local c = userupd.questionpro{ api_key = "heal-key", base_url = srv.url,
                                   rate = 0, retries = 0, timeout = 5 }
    local before = srv:requests()
    local s = c:update_many({ { 300001, fields } },
                            { journal = path, progress = false })
    return s, srv:requests() - before
  end

  for _, case in ipairs{ { "an answer cut off", CUT },
                         { "a 502 from a gateway", E502 } } do
    for _, secret in ipairs{ false, true } do
      local label = ("is sent again after %s%s"):format(case[1],
        secret and " (a record carrying a password)" or "")
      it(label, function()
        srv = hostile.start(port(), { OK, case[2], OK, OK })
        path = tmpdb()
        local P = { emailAddress = "a@x.example" }
        local Q = { emailAddress = "b@x.example" }
        if secret then
          P.password, Q.password = "Heal-Pass-0001", "Heal-Pass-0001"
        end
        local s, n = run(P)
        assert.are.same({ 1, 1 }, { s.ok, n })
        s, n = run(Q)                      -- may have reached the vendor
        assert.are.same({ 1, 1 }, { s.failed, n })
        s, n = run(P)                      -- the operator reverts
        assert.are.equal(0, s.unchanged, "skipped as unchanged")
        assert.are.same({ 1, 1 }, { s.ok, n })
        s, n = run(P)                      -- now it is unchanged
        assert.are.same({ 1, 0 }, { s.unchanged, n })
      end)
    end
  end
end)
