-- The generated parts of the documentation are current: docs/reference.md's
-- table of every vendor's constructor options and USERUPD_* variables, and
-- the OpenResty example's `env` list (tools/docs.lua builds both from the
-- module's own option lists).  When this fails after adding an option:
--   make && LUA_CPATH='./?.so;;' lua5.4 tools/docs.lua --write
local util = require "support.util"
local userupd = require "userupd"

local docs = assert(loadfile(util.root .. "/tools/docs.lua"))("tools.docs")

local function between(text, tag)
  local _, e = text:find("[^\n]*" .. tag .. ":begin[^\n]*\n")
  local c = text:find("[^\n]*" .. tag .. ":end", e)
  assert(e and c, "no " .. tag .. ":begin/end markers")
  return text:sub(e + 1, c - 1)
end

local HINT = "; run: make && LUA_CPATH='./?.so;;' lua5.4 tools/docs.lua --write"

describe("generated documentation", function()
  it("docs/reference.md lists every option of every vendor with its variable", function()
    local readme = util.read(util.root .. "/docs/reference.md")
    assert.are.equal(docs.options(), between(readme, "options"),
                     "docs/reference.md's options table is out of date" .. HINT)
    for vendor, spec in pairs(userupd.vendors) do
      for name in pairs(spec.options) do
        assert.truthy(readme:find("`" .. name .. "`", 1, true), name)
      end
      assert.truthy(vendor)
    end
  end)

  it("the OpenResty example declares every USERUPD_* variable", function()
    local conf = util.read(util.root .. "/examples/openresty/nginx.conf")
    assert.are.equal(docs.env(), between(conf, "env"),
                     "examples/openresty/nginx.conf's env list is out of date"
                     .. HINT)
    local declared = {}
    for var in conf:gmatch("\nenv (USERUPD_[%w_]+);") do declared[var] = true end
    for vendor, spec in pairs(userupd.vendors) do
      for name in pairs(spec.options) do
        local var = ("USERUPD_%s_%s"):format(vendor:upper(), name:upper())
        assert.is_true(declared[var], var .. " is not declared")
      end
    end
  end)

  it("every vendor is in the tables", function()
    local out = docs.options()
    for vendor in pairs(userupd.vendors) do
      assert.truthy(out:find("| " .. vendor .. " |", 1, true), vendor)
    end
  end)
end)
