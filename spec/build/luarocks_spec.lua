-- Installed the way Lua people install: the release rockspec lints, names
-- the one version the module and the command report, and installs from a
-- fresh clone into a private tree with no flags but the tree (and
-- --deps-mode=none: no network here; Debian's lua-argparse is used), from
-- the -dev-1 rockspec; the release is `make dist`'s tarball and rockspec,
-- packed by `luarocks pack` and installed from the packed rock; and
-- `make install`.
-- Everything installed is run from another directory with LUA_PATH and
-- LUA_CPATH unset, so nothing can come from the checkout.
local util = require "support.util"

local function q(s) return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'" end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, out
end

-- The checkout, as an absolute path (ROOT may be ".").
local ROOT = io.popen("cd " .. q(util.root) .. " && pwd"):read("*l")

-- The Lua running the spec: the installs are checked for it (LuaJIT uses
-- the 5.1 tree, as OpenResty does).
local LV = jit and "5.1" or _VERSION:match("%d+%.%d+")
local LUA = jit and "luajit" or "lua" .. LV
local MAKE_LUA = jit and "jit" or LV     -- the Makefile's LUA_VERSION

-- A shell with no Lua paths of ours, in a directory of its own.
local CLEAN = "env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 "
  .. "-u LUA_PATH_5_3 -u LUA_CPATH_5_3 -u LUA_PATH_5_2 -u LUA_CPATH_5_2 "

local function version()
  local h = util.read(ROOT .. "/src/userupd.h")
  return assert(h:match('#define UU_VERSION "([^"]+)"'))
end

local VERSION = version()
local ROCKSPEC = ("userupd-%s-1.rockspec"):format(VERSION)

local function rockspec_table(file)
  local env = {}
  local chunk = assert(loadfile(file or ROOT .. "/" .. ROCKSPEC, "t", env))
  if setfenv then setfenv(chunk, env) end
  chunk()
  return env
end

-- Runs the installed command and module of a tree (or prefix) whose Lua
-- LV files are in the usual places; returns nothing, asserts.
local function check_tree(tree, work)
  local rc, out = sh(("cd %s && %s%s/bin/userupd --version"):format(
    q(work), CLEAN, q(tree)))
  assert.are.equal(0, rc, out)
  assert.are.equal("userupd " .. VERSION .. "\n", out:gsub("rc=%d+%s*$", ""))
  -- a dry run through the installed command: CSV, mapping, module
  rc, out = sh(("cd %s && %s USERUPD_QUESTIONPRO_API_KEY=k-123 %s/bin/userupd "
    .. "apply questionpro --input %s/examples/roster.csv --map %s/examples/"
    .. "map.lua --dry-run --show-requests"):format(q(work), CLEAN, q(tree), q(ROOT),
    q(ROOT)))
  assert.are.equal(1, rc, out)        -- the roster has one row bad for QP
  assert.matches("PUT https://api.questionpro.com/a/api/v2/users/", out, 1,
                 true)
  assert.not_matches("k-123", out, 1, true)
  rc, out = sh(("cd %s && %s LUA_PATH=%s LUA_CPATH=%s %s -e %s"):format(
    q(work), CLEAN, q(tree .. "/share/lua/" .. LV .. "/?.lua;;"),
    q(tree .. "/lib/lua/" .. LV .. "/?.so;;"), LUA, q("local u = require 'userupd'; "
      .. "assert(require 'userupd.csv'); assert(require 'userupd.cli'); "
      .. "local function find(name, path) "   -- package.searchpath: 5.2+
      .. "  for p in path:gmatch('[^;]+') do "
      .. "    local f = p:gsub('%?', (name:gsub('%.', '/'))) "
      .. "    if io.open(f) then return f end end end "
      .. "assert(find('userupd.transport.ngx', package.path)); "
      .. "print(u._VERSION, find('userupd', package.cpath))")))
  assert.are.equal(0, rc, out)
  assert.matches(VERSION .. "\t" .. tree .. "/lib/lua/" .. LV .. "/userupd.so",
                 out, 1, true)
end

-- The man page and completion scripts under base (PREFIX/share for make
-- install, the rock's conf/ directory for LuaRocks): the page renders.
local function check_docs(base)
  local rc, out = sh("MANWIDTH=100 man " .. q(base .. "/man/man1/userupd.1")
                     .. " | col -b")
  assert.are.equal(0, rc, out)
  assert.matches("userupd apply", out, 1, true)
  assert.matches("_userupd()",
    util.read(base .. "/bash-completion/completions/userupd"), 1, true)
  assert.matches("#compdef userupd",
    util.read(base .. "/zsh/site-functions/_userupd"), 1, true)
end

describe("luarocks", function()
  local dir, work

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    work = dir .. "/elsewhere"
    assert(os.execute("mkdir -p " .. q(work)))
    local rc, out = sh(("git clone -q %s %s/src"):format(q(ROOT), q(dir)))
    assert.are.equal(0, rc, out)
  end)

  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("lints the release rockspec", function()
    local rc, out = sh("luarocks lint " .. q(ROOT .. "/" .. ROCKSPEC))
    assert.are.equal(0, rc, out)
  end)

  it("has one version: rockspec, _VERSION, the module's version", function()
    local spec = rockspec_table()
    assert.are.equal(VERSION .. "-1", spec.version)
    -- published by url (make dist adds the md5), in a directory of the
    -- version's own
    assert.matches("^https://[%w.-]+/.*/v" .. VERSION:gsub("%.", "%%.")
                   .. "/userupd%-" .. VERSION:gsub("%.", "%%.") .. "%.tar%.gz$",
                   spec.source.url)
    assert.are.equal("userupd-" .. VERSION, spec.source.dir)
    local userupd = require "userupd"
    assert.are.equal(VERSION, userupd._VERSION)
    assert.are.equal(VERSION, userupd.version)
  end)

  it("names a homepage, a maintainer and the license its LICENSE holds",
     function()
    local spec = rockspec_table()
    assert.matches("^https://", spec.description.homepage)
    assert.matches("<[^@>]+@[^>]+>$", spec.description.maintainer)
    assert.are.equal("MIT", spec.description.license)
    assert.matches("^MIT License\n", util.read(ROOT .. "/LICENSE"))
    local changes = util.read(ROOT .. "/CHANGELOG.md")
    for _, part in ipairs{ "Lua API", "CLI", "Exit codes", "Journal schema",
                           "migrates forward", "## " .. VERSION } do
      assert.matches(part, changes, 1, true)
    end
  end)

  it("the -dev-1 rockspec lints and builds what the release one does",
     function()
    local rc, out = sh("luarocks lint " .. q(ROOT .. "/userupd-dev-1.rockspec"))
    assert.are.equal(0, rc, out)
    local dev = rockspec_table(ROOT .. "/userupd-dev-1.rockspec")
    assert.are.equal("dev-1", dev.version)
    assert.matches("^git%+https://", dev.source.url)
    local body = "\ndescription = {.*$"
    assert.are.equal(util.read(ROOT .. "/" .. ROCKSPEC):match(body),
      util.read(ROOT .. "/userupd-dev-1.rockspec"):match(body),
      "userupd-dev-1.rockspec is behind " .. ROCKSPEC .. ": make dev-rockspec")
  end)

  it("declares argparse and every C file the Makefile builds", function()
    local spec = rockspec_table()
    local deps = table.concat(spec.dependencies, " ")
    assert.matches("argparse", deps, 1, true)
    local listed = {}
    for _, f in ipairs(spec.build.modules.userupd.sources) do
      listed[f] = true
    end
    local _, out = sh("cd " .. q(ROOT) .. " && ls lua_userupd.c src/*/*.c")
    for f in out:gmatch("[^\n]+%.c") do
      assert.is_true(listed[f], f .. " is missing from " .. ROCKSPEC)
      listed[f] = nil
    end
    assert.are.same({}, listed)
    -- and every Lua module under lua/, by its module name
    local modules = {}
    for name, file in pairs(spec.build.modules) do
      if type(file) == "string" then modules[file] = name end
    end
    _, out = sh("cd " .. q(ROOT) .. " && find lua -name '*.lua' | sort")
    for f in out:gmatch("[^\n]+%.lua") do
      local name = f:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/", ".")
      assert.are.equal(name, modules[f], f .. " is missing from " .. ROCKSPEC)
      modules[f] = nil
    end
    assert.are.same({}, modules)
  end)

  it("luarocks make from a fresh clone with no flags but the tree (Lua "
     .. LV .. ")", function()
    local rc, out = sh(("cd %s/src && %sluarocks --lua-version %s make "
      .. "--deps-mode=none --tree %s/tree userupd-dev-1.rockspec"):format(
      q(dir), CLEAN, LV, q(dir)))
    assert.are.equal(0, rc, out)
    check_tree(dir .. "/tree", work)
    check_docs(("%s/tree/lib/luarocks/rocks-%s/userupd/dev-1/conf"):format(
      dir, LV))
  end)

  -- These two build once more each, for the Lua running the spec (LuaJIT:
  -- the 5.1 tree, as OpenResty's).
  it("make dist, luarocks pack, install the packed rock offline",
     function()
    local url = "file://" .. dir .. "/src/dist"
    local rc, out = sh(("cd %s/src && make -s dist DIST_URL=%s"):format(
      q(dir), q(url)))
    assert.are.equal(0, rc, out)
    local tarball = ("%s/src/dist/userupd-%s.tar.gz"):format(dir, VERSION)
    local release = dir .. "/src/dist/" .. ROCKSPEC
    local spec = rockspec_table(release)
    assert.are.equal(url .. "/userupd-" .. VERSION .. ".tar.gz",
                     spec.source.url)
    local _, sum = sh("md5sum " .. q(tarball))
    assert.are.equal(sum:match("^(%x+)"), spec.source.md5)
    -- the tarball holds the tracked files, nothing built
    _, out = sh("tar tzf " .. q(tarball))
    assert.matches("userupd-" .. VERSION .. "/LICENSE\n", out, 1, true)
    assert.matches("userupd-" .. VERSION .. "/src/base/keyed_hash.c\n", out,
                   1, true)
    assert.not_matches("%.so\n", out)
    -- luarocks pack fetches the url, checks the md5, writes the rock
    rc, out = sh(("cd %s && %sluarocks --lua-version %s pack %s"):format(
      q(work), CLEAN, LV, q(release)))
    assert.are.equal(0, rc, out)
    rc, out = sh(("cd %s && %sluarocks --lua-version %s install "
      .. "--deps-mode=none --tree %s/rocktree ./userupd-%s-1.src.rock")
      :format(q(work), CLEAN, LV, q(dir), VERSION))
    assert.are.equal(0, rc, out)
    check_tree(dir .. "/rocktree", work)
    check_docs(("%s/rocktree/lib/luarocks/rocks-%s/userupd/%s-1/conf")
      :format(dir, LV, VERSION))
  end)

  it("make install PREFIX=... LUA_VERSION=" .. MAKE_LUA .. " puts it where "
     .. "Lua looks", function()
    local rc, out = sh(("cd %s/src && make -s install PREFIX=%s/prefix "
      .. "LUA_VERSION=%s"):format(q(dir), q(dir), MAKE_LUA))
    assert.are.equal(0, rc, out)
    check_tree(dir .. "/prefix", work)
    check_docs(dir .. "/prefix/share")
  end)
end)
