-- tools/layout on a copy of the tree: it passes on the real one and fails
-- on each kind of problem planted in the copy (an upward call, a call into
-- Lua outside the named places, comma packing, a 701-line file); and its
-- list of places where Lua runs (tools/lua_places.lua) is the audit table
-- of docs/reentrancy.md, row for row.
local util = require "support.util"

local ROOT = util.root
local q = util.q

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo rc=$?")
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("rc=(%d+)%s*$")), out
end

-- A fresh copy of what tools/layout reads.
local function copy_tree()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sh(("mkdir -p %s/tools && cd %s && cp -R lua_userupd.c src lua %s/ "
             .. "&& cp tools/layout tools/lua_places.lua %s/tools/")
            :format(q(dir), q(ROOT), q(dir), q(dir))) == 0)
  return dir
end

local function layout(dir)
  return sh(("lua5.4 %s/tools/layout"):format(q(dir)))
end

-- The problems the unplanted tree has (none, when the tree is clean): a
-- planted one is judged by what it adds.
local baseline
local function new_problems(dir)
  if baseline == nil then
    local clean = copy_tree()
    local _, out = layout(clean)
    sh("rm -rf " .. q(clean))
    baseline = {}
    for l in out:gmatch("[^\n]+") do baseline[l] = true end
  end
  local rc, out = layout(dir)
  local added = {}
  for l in out:gmatch("[^\n]+") do
    if not baseline[l] and not l:match("^tools/layout: ") and
       not l:match("^rc=") then
      added[#added + 1] = l
    end
  end
  return rc, table.concat(added, "\n"), #added
end

-- The line of the first line of path holding s.
local function line_of(path, s)
  local n = 0
  for l in (util.read(path) .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    if l:find(s, 1, true) then return n end
  end
end

local function append(path, s)
  local f = assert(io.open(path, "ab"))
  f:write(s)
  f:close()
end

describe("tools/layout", function()
  local dir
  before_each(function() dir = copy_tree() end)
  after_each(function() sh("rm -rf " .. q(dir)) end)

  it("passes on the real tree", function()
    local rc, out = layout(dir)
    assert.are.equal(0, rc, out)
    assert.matches("0 problem%(s%)", out)
  end)

  it("fails on a call from a room to a room above", function()
    append(dir .. "/src/base/compat.c",
      "\nint uu_planted_up(void);\nint uu_planted_up(void)\n{\n"
      .. "  return uu_update_many(NULL);\n}\n")
    local rc, out = new_problems(dir)
    assert.are.equal(1, rc, out)
    assert.matches("src/base/compat.c %(base%) uses uu_update_many of "
                   .. "src/loops/many.c %(loops%), a room above", out)
  end)

  it("fails on a lua_call outside the named places", function()
    append(dir .. "/src/loops/many.c",
      "\nint uu_planted_call(lua_State *L);\nint uu_planted_call(lua_State *L)\n{\n"
      .. "  lua_call(L, 0, 0);\n  return 0;\n}\n")
    local rc, out, n = new_problems(dir)
    assert.are.equal(1, rc, out)
    assert.are.equal(1, n, out)
    assert.matches("src/loops/many.c:%d+: lua_call in uu_planted_call", out)
  end)

  it("fails on lua_getglobal and lua_pcall below the binding too", function()
    append(dir .. "/src/wire/values.c",
      "\nint uu_planted_glob(lua_State *L);\nint uu_planted_glob(lua_State *L)\n{\n"
      .. "  lua_getglobal(L, \"x\");\n  return lua_pcall(L, 0, 0, 0);\n}\n")
    local rc, out = new_problems(dir)
    assert.are.equal(1, rc, out)
    assert.matches("lua_getglobal in uu_planted_glob", out)
    assert.matches("lua_pcall in uu_planted_glob", out)
  end)

  it("lets the binding call Lua", function()
    append(dir .. "/src/binding/client.c",
      "\nint uu_planted_ok(lua_State *L);\nint uu_planted_ok(lua_State *L)\n{\n"
      .. "  lua_call(L, 0, 0);\n  return 0;\n}\n")
    local _, out, n = new_problems(dir)
    assert.are.equal(0, n, out)
  end)

  it("fails on statements packed with the comma operator", function()
    local path = dir .. "/src/base/fnv.c"
    append(path,
      "\nint uu_planted_pack(int *a, int *b);\nint uu_planted_pack(int *a, int *b)\n{\n"
      .. "  if (a == b)\n    return *a = 1, -1;\n  *a = 2, *b = 3;\n"
      .. "  uu_hash(\"\", 0), uu_hash(\",\", 0);\n"
      .. "  {\n    int i, n = 2;\n    for (i = 0, n = 1; i < n; i++, n--)\n"
      .. "      ;\n  }\n  return 0;\n}\n")
    local rc, out, n = new_problems(dir)
    assert.are.equal(1, rc, out)
    -- the return and the two calls; `*a = 2, *b = 3` starts with '*', which
    -- the check does not read; declarations and the for header keep theirs
    assert.are.equal(2, n, out)
    assert.matches(("src/base/fnv.c:%d: statements packed"):format(
      line_of(path, "return *a = 1, -1;")), out)
    assert.matches(("src/base/fnv.c:%d: statements packed"):format(
      line_of(path, "uu_hash(\"\", 0), uu_hash")), out)
  end)

  it("fails on a .c file of 701 lines", function()
    local path = dir .. "/src/base/planted.c"
    local t = { "/* planted */" }
    for i = 2, 701 do t[i] = "" end
    util.write(path, table.concat(t, "\n") .. "\n")
    local rc, out, n = new_problems(dir)
    assert.are.equal(1, rc, out)
    assert.are.equal(1, n, out)
    assert.matches("src/base/planted.c: 701 lines %(max 700%)", out)
    util.write(path, table.concat(t, "\n", 1, 700) .. "\n")
    rc, out, n = new_problems(dir)
    assert.are.equal(0, n, out .. " rc=" .. rc)
  end)
end)

-- The first cell of each row of docs/reentrancy.md's "Every place" table,
-- plain: "`shared_budget` store `take`" -> "shared_budget store take".
local function doc_rows()
  local text = util.read(ROOT .. "/docs/reentrancy.md")
  local tab = assert(text:match("\n### Every place\n(.-)\n\n"),
                     "docs/reentrancy.md has no 'Every place' table")
  local rows = {}
  tab = assert(tab:match("\n|%-[^\n]*(.*)$"), "no header separator")
  for cell in tab:gmatch("\n| ([^|]-) |") do
    local name = cell:gsub("`", ""):gsub("%b()", ""):gsub("%s+", " ")
    name = name:gsub("^%s+", ""):gsub("%s+$", "")
    if not name:match("^%-") and not name:match("^__") then
      rows[name] = true                  -- metamethods are not called by C
    end
  end
  return rows
end

describe("tools/lua_places.lua and docs/reentrancy.md", function()
  local places = dofile(ROOT .. "/tools/lua_places.lua")

  it("name the same places where user Lua runs", function()
    local docs, listed = doc_rows(), {}
    for _, p in ipairs(places) do
      for _, row in ipairs(p[3] or {}) do listed[row] = true end
    end
    for row in pairs(docs) do
      assert.is_true(listed[row] ~= nil, ("docs/reentrancy.md lists '%s', "
        .. "tools/lua_places.lua has no place for it"):format(row))
    end
    for row in pairs(listed) do
      assert.is_true(docs[row] ~= nil, ("tools/lua_places.lua names '%s', "
        .. "docs/reentrancy.md has no row for it"):format(row))
    end
  end)

  it("lists only functions that exist, each with its rows or a reason",
     function()
    for _, p in ipairs(places) do
      local file, fn = p[1], p[2]
      assert.is_true((p[3] ~= nil) ~= (p.own ~= nil), file .. ":" .. fn)
      if file:match("%.c$") then
        local src = util.read(ROOT .. "/" .. file)
        assert.is_truthy(src:find("\n[%w_ %*]-%f[%w_]" .. fn .. "%(")
                         or src:find("^[%w_ %*]-%f[%w_]" .. fn .. "%("),
                         file .. " has no function " .. fn)
      end
    end
  end)
end)
