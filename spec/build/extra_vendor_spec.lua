-- A sixth vendor needs one descriptor file and its line in the vendor
-- table, nothing else: build the module with a test-only descriptor
-- (spec/fixtures/vendor/example.c) and use it like the other five.
local util = require "support.util"

describe("a sixth vendor", function()
  local userupd, so

  setup(function()
    local version = _VERSION:match("5%.%d")
    if jit then version = "jit" end
    local ok = os.execute("make -s -C " .. util.root .. " extra-vendor "
                          .. "LUA_VERSION=" .. version .. " >/dev/null")
    assert.is_true(ok == true or ok == 0, "build failed")
    so = util.root .. "/build/extra/" .. version .. "/userupd.so"
    local loader = assert(package.loadlib(so, "luaopen_userupd"))
    userupd = loader()
  end)

  it("gets a constructor and a description like the others", function()
    assert.are.equal("function", type(userupd.example))
    assert.are.equal("uuid", userupd.vendors.example.id)
    assert.is_true(userupd.vendors.example.options.token.secret)
    assert.are.equal("function", type(userupd.questionpro))
  end)

  it("marshals, names its auth header and redacts it", function()
    local c = userupd.example{ token = "tok-XYZ" }
    local id = "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"
    local req = assert(c:prepare(id, { first_name = "Ada", level = "high" }))
    assert.are.equal("PATCH", req.method)
    assert.are.equal("https://api.example.org/people/" .. id .. "?v=2",
                     req.url)
    assert.are.equal("tok-XYZ", req.headers["X-Token"])
    assert.are.equal('{"givenName":"Ada","level":"high","tags":[]}', req.body)
    assert.is_nil(tostring(req):find("tok-XYZ", 1, true))
    local _, err = c:prepare(id, { level = "mid" })
    assert.are.equal("level", err.field)
    _, err = c:prepare(id, { givenNam = "x" })
    assert.matches("did you mean 'givenName'", err.message, 1, true)
  end)

  it("passes the generated vendor spec from its descriptor and seed alone",
     function()
    -- spec/unit/vendors_spec.lua, run on this build: every check it makes
    -- of the five runs for the sixth (its seed: seeds/example.json)
    -- (LUA_CPATH_5_x would win over LUA_CPATH: tools/apicheck sets one)
    local lua = jit and "luajit" or ("lua" .. _VERSION:match("5%.%d"))
    local cmd = ("cd %s && env -u LUA_CPATH_5_2 -u LUA_CPATH_5_3 " ..
                 "-u LUA_CPATH_5_4 LUA_CPATH=%s %s /usr/bin/busted -o TAP " ..
                 "spec/unit/vendors_spec.lua 2>&1"):format(util.q(util.root),
      util.q(so:match("^(.*)/userupd%.so$") .. "/?.so;;"), lua)
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    local _, example = out:gsub("\nok %d+ %- example ", "")
    assert.is_true(example >= 13, out)
    assert.is_nil(out:find("\nnot ok", 1, true), out)
    assert.is_nil(out:find("# SKIP", 1, true), out)
  end)
end)
