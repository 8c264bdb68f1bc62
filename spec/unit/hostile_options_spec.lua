-- Hostile and careless option values (issue 12, items 3 and 4): the
-- plain-http rule parses the host, and every option that reaches a header,
-- the URL or the body is refused at construction when it holds a control
-- character; a proxy libcurl cannot use and an unreadable ca_file are
-- refused there too, not at send time.
local userupd = require "userupd"

-- The options each vendor needs besides the one under test.
local needs = {
  smartermeasure = { username = "u", password = "p" },
  thoughtindustries = { subdomain = "acme", api_key = "k" },
  blackbaud = { school = "acme", token = "t" },
  formsonfire = { company_id = 9, integration_key = "k" },
  questionpro = { api_key = "k" },
}

local function opts(vendor, extra)
  local t = {}
  for k, v in pairs(needs[vendor]) do t[k] = v end
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

local function refused(vendor, o)
  local ok, err = pcall(userupd.new, vendor, o)
  assert.is_false(ok, "accepted: " .. vendor)
  return tostring(err)
end

describe("the plain-http rule", function()
  local loopback = {
    "http://localhost", "http://localhost:8080", "http://localhost/api",
    "http://127.0.0.1", "http://127.0.0.1:33000/prefix", "http://127.1.2.3",
    "http://127.255.255.254:1", "http://[::1]", "http://[::1]:8080/x",
  }
  local hostile = {
    "http://127.attacker.example", "http://127.0.0.1.nip.io",
    "http://127.0.0.1.nip.io:8080/", "http://localhost.evil",
    "http://localhost.evil:80", "http://127.0.0.1.", "http://localhost.",
    "http://127.0.0.256", "http://127.0.0.1.2", "http://127.0.0",
    "http://0127.0.0.1", "http://127.00.0.1", "http://128.0.0.1",
    "http://10.0.0.1", "http://[::1].evil", "http://[::2]",
    "http://[::ffff:127.0.0.1]", "http://evil.example",
    "http://localhostx", "http://xlocalhost", "http://127.0.0.1x",
    "http://evil.example#@127.0.0.1", "http://evil.example\\@127.0.0.1",
    "http://127.0.0.1\\@evil.example", "http://127.0.0.1%2f@evil",
    "http://LOCALHOST.evil", "http://127.0.0.1:80:80",
    "http://127.0.0.1:99999", "http://127.0.0.1:8a", "http://127.0.0.1:",
  }

  it("takes exactly localhost, 127.0.0.0/8 literals and [::1]", function()
    for _, url in ipairs(loopback) do
      local ok, c = pcall(userupd.questionpro, opts("questionpro",
                                                    { base_url = url }))
      assert.is_true(ok, url .. ": " .. tostring(c))
      c:close()
    end
  end)

  it("refuses every other host without allow_http, naming base_url",
     function()
    for _, url in ipairs(hostile) do
      local msg = refused("questionpro", opts("questionpro",
                                              { base_url = url }))
      assert.matches("base_url", msg, 1, true)
    end
  end)

  it("refuses userinfo and backslash tricks even with allow_http", function()
    for _, url in ipairs({ "http://127.0.0.1@evil.example",
                           "http://127.0.0.1:80@evil.example",
                           "http://user:pw@127.0.0.1",
                           "http://evil.example\\@127.0.0.1",
                           "http://127.0.0.1%2f@evil" }) do
      local msg = refused("questionpro", opts("questionpro",
        { base_url = url, allow_http = true }))
      assert.matches("base_url", msg, 1, true)
    end
  end)

  it("lets allow_http through to a real host name", function()
    local c = userupd.questionpro(opts("questionpro",
      { base_url = "http://127.0.0.1.nip.io:8080", allow_http = true }))
    assert.matches("127.0.0.1.nip.io:8080", tostring(c), 1, true)
    c:close()
  end)

  it("applies to Forms On Fire's host the same way", function()
    for _, host in ipairs({ "http://127.attacker.example",
                            "http://127.0.0.1.nip.io",
                            "http://localhost.evil" }) do
      local msg = refused("formsonfire", opts("formsonfire", { host = host }))
      assert.matches("host", msg, 1, true)
    end
    local c = userupd.formsonfire(opts("formsonfire",
      { host = "http://127.0.0.1:9" }))
    c:close()
    c = userupd.formsonfire(opts("formsonfire",
      { host = "eforms.mobileform.net" }))
    assert.matches("https://eforms.mobileform.net", tostring(c), 1, true)
    c:close()
    refused("formsonfire", opts("formsonfire", { host = "a.example/x@b" }))
    refused("formsonfire", opts("formsonfire", { host = "a b.example" }))
  end)
end)

describe("control characters in options", function()
  local bad = { "x\r\nX-Injected: yes", "x\nX-Injected: yes", "x\rY",
                "x\0y", "x\ty", "x\27[31m", "x\127", "x\194\133y" }

  -- Every string option of every vendor, common ones included: an option
  -- added later is covered without editing this spec.
  it("refuses CR, LF, NUL and other controls in every string option",
     function()
    local checked = 0
    for vendor, spec in pairs(userupd.vendors) do
      if needs[vendor] then
        for name, o in pairs(spec.options) do
          if o.type == "string" then
            for _, v in ipairs(bad) do
              local msg = refused(vendor, opts(vendor, { [name] = v }))
              assert.matches("'" .. name .. "'", msg, 1, true)
              assert.is_nil(msg:find("Injected", 1, true), msg)
              checked = checked + 1
            end
          end
        end
      end
    end
    assert.is_true(checked >= 25 * #bad, "options checked: " .. checked)
  end)

  it("refuses the header injection from the issue, sending nothing",
     function()
    local sent = 0
    local ok, err = pcall(userupd.questionpro, opts("questionpro", {
      user_agent = "x\r\nX-Injected: yes\r\nAuthorization: Basic AAAA",
      transport = function() sent = sent + 1; return 200, "{}", {} end }))
    assert.is_false(ok)
    assert.matches("user_agent", tostring(err), 1, true)
    assert.are.equal(0, sent)
  end)

  it("keeps a plain user agent, UTF-8 included", function()
    local c = userupd.questionpro(opts("questionpro",
      { user_agent = "acme-sync/1.0 (Zürich)" }))
    local req = c:prepare(1, { firstName = "A" })
    assert.are.equal("acme-sync/1.0 (Zürich)", req.headers["User-Agent"])
    c:close()
  end)
end)

describe("options refused at construction, not at send time", function()
  it("refuses a base_url with an embedded NUL", function()
    for _, url in ipairs({ "http://127.0.0.1:9\0.evil", "https://a.example\0",
                           "https://a.example/p\0q" }) do
      local msg = refused("questionpro", opts("questionpro",
                                              { base_url = url }))
      assert.matches("base_url", msg, 1, true)
    end
  end)

  it("refuses a proxy scheme libcurl will not take", function()
    for _, p in ipairs({ "ftp://127.0.0.1:21", "gopher://127.0.0.1:70",
                         "file:///etc/passwd", "ldap://127.0.0.1",
                         "htp://127.0.0.1:3128", "http://" }) do
      local msg = refused("questionpro", opts("questionpro", { proxy = p }))
      assert.matches("proxy", msg, 1, true)
    end
    for _, p in ipairs({ "http://127.0.0.1:3128", "https://127.0.0.1:3129",
                         "socks4://127.0.0.1:1080", "socks5h://127.0.0.1:1",
                         "socks4a://127.0.0.1:1", "socks5://127.0.0.1:1",
                         "HTTP://127.0.0.1:3128", "127.0.0.1:3128", "" }) do
      local ok, c = pcall(userupd.questionpro, opts("questionpro",
                                                    { proxy = p }))
      assert.is_true(ok, p .. ": " .. tostring(c))
      c:close()
    end
  end)

  it("never quotes a proxy password in the refusal", function()
    local msg = refused("questionpro", opts("questionpro",
      { proxy = "ftp://user:Pr0xyPw9@127.0.0.1:21" }))
    assert.is_nil(msg:find("Pr0xyPw9", 1, true), msg)
  end)

  it("refuses a ca_file that is missing, a directory or empty", function()
    local empty = os.tmpname()
    for _, path in ipairs({ "/nonexistent/ca.pem", "/tmp", empty }) do
      local msg = refused("questionpro", opts("questionpro",
                                              { ca_file = path }))
      assert.matches("ca_file", msg, 1, true)
    end
    os.remove(empty)
    local ca = os.tmpname()
    local f = assert(io.open(ca, "w"))
    f:write("-----BEGIN CERTIFICATE-----\n")
    f:close()
    local c = userupd.questionpro(opts("questionpro", { ca_file = ca }))
    c:close()
    os.remove(ca)
  end)
end)
