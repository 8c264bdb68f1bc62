-- LuaRocks: the rockspec lints, and installs from a clean clone into a
-- private tree, from which the module loads and the CLI runs.
local util = require "support.util"

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, out
end

describe("luarocks", function()
  local rockspec = util.root .. "/userupd-scm-1.rockspec"

  it("lints the rockspec", function()
    local rc, out = sh("luarocks lint " .. rockspec)
    assert.are.equal(0, rc, out)
  end)

  it("installs from a clean clone; the module and bin/userupd work from the "
     .. "tree", function()
    local dir = os.tmpname()
    os.remove(dir)
    local rc, out = sh(("git clone -q %s %s/src && cd %s/src && "
      .. "luarocks --lua-version 5.4 make --deps-mode=none --tree %s/tree "
      .. "userupd-scm-1.rockspec CURL_INCDIR=/usr/include/x86_64-linux-gnu")
      :format(util.root, dir, dir, dir))
    assert.are.equal(0, rc, out)
    local env = ("env LUA_PATH='%s/tree/share/lua/5.4/?.lua;%s/tree/share/"
      .. "lua/5.4/?/init.lua;;' LUA_CPATH='%s/tree/lib/lua/5.4/?.so;;' ")
      :format(dir, dir, dir)
    rc, out = sh(env .. "lua5.4 -e \"local u = require 'userupd'; "
      .. "assert(require 'userupd.csv'); assert(require 'userupd.cli'); "
      .. "print(u.version, package.searchpath('userupd', package.cpath))\"")
    assert.are.equal(0, rc, out)
    assert.matches(dir .. "/tree/lib/lua/5.4/userupd.so", out, 1, true)
    rc, out = sh(env .. dir .. "/tree/bin/userupd --version")
    assert.are.equal(0, rc, out)
    assert.matches("%d+%.%d+%.%d+", out)
    rc, out = sh(env .. dir .. "/tree/bin/userupd apply nosuchvendor "
                 .. "--input x.csv --map m.lua")
    assert.are.equal(2, rc, out)
    os.execute("rm -rf " .. dir)
  end)
end)
