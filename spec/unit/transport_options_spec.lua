-- A Lua transport receives every connection option of its client (proxy,
-- ca_file, http_version) in each request, so it can honour it or refuse
-- it; nothing is dropped on the way.  (userupd.transport.ngx refuses what
-- cosockets cannot do: spec/openresty/ngx_parity_spec.lua.)
local userupd = require "userupd"

-- a CA file that exists (the client checks it can read it)
local CA = os.tmpname()
do
  local fh = assert(io.open(CA, "w"))
  fh:write("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
  fh:close()
end

local function capture(opts)
  local got = {}
  opts.api_key = "k-opt-Secret-5"
  opts.base_url = "http://127.0.0.1:9"
  opts.retries = 0
  opts.transport = function(req)
    got[#got + 1] = req
    return 200, '{"response":{"id":1}}', {}
  end
  return userupd.questionpro(opts), got
end

describe("Lua transport options", function()
  it("passes proxy, ca_file and http_version with every request", function()
    local c, got = capture{ proxy = "http://proxy.example:3128",
                            ca_file = CA,
                            http_version = "1.1" }
    assert.truthy(c:update(1, { firstName = "A" }))
    assert.truthy(c:get(1))
    assert.are.equal(2, #got)
    for _, req in ipairs(got) do
      assert.are.equal("http://proxy.example:3128", req.proxy)
      assert.are.equal(CA, req.ca_file)
      assert.are.equal("1.1", req.http_version)
    end
    c, got = capture{ http_version = "2" }
    assert.truthy(c:update(1, { firstName = "B" }))
    assert.are.equal("2", got[1].http_version)
  end)

  it("leaves out what the client was not given", function()
    local c, got = capture{}
    assert.truthy(c:update(1, { firstName = "C" }))
    assert.is_nil(got[1].proxy)
    assert.is_nil(got[1].ca_file)
    assert.is_nil(got[1].http_version)
    assert.is_number(got[1].timeout)
  end)

  it("a proxy password is in the request, never in its tostring", function()
    local c, got = capture{ proxy = "http://u:Pr0xyPw-77@proxy.example:3128" }
    assert.truthy(c:update(1, { firstName = "D" }))
    assert.matches("Pr0xyPw-77", got[1].proxy, 1, true)
    assert.is_nil(tostring(got[1]):find("Pr0xyPw-77", 1, true))
  end)

  it("a transport's refusal is the call's error, not retried", function()
    local calls = 0
    local c = userupd.questionpro{ api_key = "k", retries = 3,
      base_url = "http://127.0.0.1:9", proxy = "http://proxy.example:3128",
      transport = function(req)
        calls = calls + 1
        if req.proxy then return nil, "cannot go through a proxy", "url" end
        return 200, "{}", {}
      end }
    local user, err, info = c:update(1, { firstName = "E" })
    assert.is_nil(user)
    assert.are.equal("transport", err.kind)
    assert.matches("cannot go through a proxy", err.message, 1, true)
    assert.are.equal(1, info.attempts)
    assert.are.equal(1, calls)
  end)
  teardown(function() os.remove(CA) end)
end)
