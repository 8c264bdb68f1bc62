-- Every vendor, tested from its descriptor alone (userupd.vendors: the
-- options, the id kind, field_info and null_list): the same checks run for
-- each vendor the module has, so a sixth vendor is tested by adding its
-- descriptor (and its seed under spec/fixtures/seeds/).  What is truly one
-- vendor's own (its URL and auth placement, Metadata, FieldsToNull merging,
-- Salesforce ids ...) stays in spec/unit/vendors/<vendor>_spec.lua.
local userupd = require "userupd"
local util = require "support.util"

local UUID = "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"
local GUID = "2ebc64a36a0d400d0123456789abcdef"

-- Ids by the descriptor's id kind: one accepted, several refused.
local IDS = {
  integer = { good = 1234599, bad = { "../x", 0, -1, 1.5, "0123", {} } },
  uuid = { good = UUID, bad = { "not-a-uuid", "12345", UUID .. "0" } },
  guid = { good = GUID, bad = { "2ebc64a36a0d400d", "zz" .. GUID:sub(3) } },
}

-- Constructor options the descriptor cannot express: Blackbaud takes a
-- token or a username and password, so neither is marked required; the
-- host options (school, subdomain) are required unless base_url is given.
local CONSTRUCT = {
  blackbaud = { school = "acme", token = "MKblackbaudtoken9z" },
  thoughtindustries = { subdomain = "acme" },
}

-- Seeds a vendor's example requests are checked against; false: the seed
-- masks its values and the vendor's own spec checks it.
local SEEDS = {
  blackbaud = { "blackbaud.json", "blackbaud_curl.json" },
  questionpro = { "questionpro.json", "questionpro_php.json" },
  formsonfire = false,
}

-- A value of each field type, and one of another type.
local function sample(info, vendor)
  local t = info.type
  if t == "string" then return "Ann" end
  if t == "integer" then return 7 end
  if t == "number" then return 1.5 end
  if t == "boolean" then return info.replaces == nil end
  if t == "enum" then return info.choices:match("^[^|]+") end
  if t == "date" then return "2008-02-29" end
  if t == "uuid" or t == "uuid or Salesforce id" then return UUID end
  if t == "string list" then return { "a" } end
  if t == "uuid list" then return { UUID } end
  if t == "object" or t == "key/value list" then return { k = "v" } end
  if t == "field names" then return {} end
  error(vendor .. ": no sample for field type " .. tostring(t))
end

local WRONG = {
  string = true, integer = "x", number = "x", boolean = "yes",
  enum = "not-one-of-them", date = "29/02/2008", uuid = "nope",
  ["string list"] = "x", ["uuid list"] = { "nope" }, object = "x",
  ["key/value list"] = "x", ["field names"] = { "NoSuchField" },
  ["uuid or Salesforce id"] = "nope",
}

local function sorted(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- Options that build a client: every required one, secrets as markers.
local function options(vendor, extra)
  local d = userupd.vendors[vendor]
  local o = {}
  for name, spec in pairs(CONSTRUCT[vendor] or {}) do o[name] = spec end
  for name, spec in pairs(d.options) do
    if spec.required then
      o[name] = spec.type == "integer" and 12345 or
        (spec.secret and ("MK" .. vendor .. name .. "9z") or "acme")
    end
  end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- The markers of every secret option in o.
local function secrets(vendor, o)
  local list = {}
  for name, spec in pairs(userupd.vendors[vendor].options) do
    if spec.secret and type(o[name]) == "string" then
      list[#list + 1] = o[name]
    end
  end
  return list
end

-- The first field of a type the vendor has, by descriptor order.
local function first_field(vendor, pred)
  local d = userupd.vendors[vendor]
  for _, name in ipairs(d.fields) do
    if pred(name, d.field_info[name]) then return name end
  end
end

local function refused(err, field, text)
  assert.is_table(err, "not refused")
  assert.are.equal("invalid", err.kind)
  assert.are.equal(field, err.field:sub(1, #field), err.message)
  if text then assert.matches(text, err.message, 1, true) end
end

describe("the generated vendor spec", function()
  it("covers every vendor the module has, the five at least", function()
    local names = sorted(userupd.vendors)
    for _, v in ipairs({ "blackbaud", "formsonfire", "questionpro",
                         "smartermeasure", "thoughtindustries" }) do
      assert.is_table(userupd.vendors[v], v)
    end
    assert.is_true(#names >= 5)
  end)
end)

for _, vendor in ipairs(sorted(userupd.vendors)) do
  local d = userupd.vendors[vendor]
  local ids = assert(IDS[d.id], vendor .. ": unknown id kind " .. d.id)
  local id = ids.good

  describe(vendor, function()
    local c = userupd[vendor](options(vendor))

    it("describes every field it takes", function()
      assert.is_true(#d.fields > 0)
      local listed = {}
      for _, name in ipairs(d.fields) do
        assert.is_table(d.field_info[name], name)
        assert.is_string(d.field_info[name].type, name)
        listed[name] = true
      end
      assert.are.same(sorted(listed), sorted(d.field_info))
    end)

    it("reproduces the seed's example requests byte for byte", function()
      local seeds = SEEDS[vendor]
      if seeds == false then return end
      for _, file in ipairs(seeds or { vendor .. ".json" }) do
        local seed = util.fixture("seeds/" .. file)
        local fields = userupd.json_decode(seed)
        local req = assert(c:prepare(id, fields))
        -- the lists the vendor requires follow the seed's members as []
        local want = userupd.json_decode(seed)
        for _, name in ipairs(d.fields) do
          if d.field_info[name].required_list and want[name] == nil then
            want[name] = {}
          end
        end
        local min = util.minify(seed)
        assert.are.equal(min:sub(1, -2), req.body:sub(1, #min - 1), file)
        assert.is_true(util.same(want, userupd.json_decode(req.body)), file)
      end
    end)

    it("writes every field with a value of its type, in descriptor order",
       function()
      local fields, cleared = {}, nil
      for _, name in ipairs(d.fields) do
        fields[name] = sample(d.field_info[name], vendor)
      end
      for _, name in ipairs(d.fields) do     -- FieldsToNull: clear one
        if d.field_info[name].type == "field names" then
          cleared = first_field(vendor, function(_, i)
            return i.type == "string" and not i.no_null
          end)
          fields[cleared], fields[name] = nil, { cleared }
        end
      end
      local req = assert(c:prepare(id, fields))
      local at = 0
      for _, name in ipairs(d.fields) do
        if name ~= cleared then
          local pos = req.body:find('"' .. name .. '":', 1, true)
          assert.is_number(pos, name .. " missing from " .. req.body)
          assert.is_true(pos > at, name .. " out of the descriptor's order")
          at = pos
        end
      end
    end)

    it("refuses a value of another type in every field", function()
      for _, name in ipairs(d.fields) do
        local info = d.field_info[name]
        local bad = WRONG[info.type]
        if info.replaces then bad = "yes" end
        local req, err = c:prepare(id, { [name] = bad })
        assert.is_nil(req, name)
        refused(err, name)
      end
    end)

    it("refuses a value outside each enum's set, naming the set", function()
      for _, name in ipairs(d.fields) do
        local info = d.field_info[name]
        if info.choices then
          for choice in info.choices:gmatch("[^|]+") do
            assert.truthy(c:prepare(id, { [name] = choice }), choice)
          end
          local _, err = c:prepare(id, { [name] = "not-" .. info.choices })
          refused(err, name, info.choices)
        end
      end
    end)

    it("maps each cross-vendor name to its own, and refuses the others",
       function()
      local has = {}
      for _, name in ipairs(d.fields) do
        local info = d.field_info[name]
        if info.cross then
          has[info.cross] = true
          local v = sample(info, vendor)
          assert.are.equal(assert(c:prepare(id, { [name] = v })).body,
                           assert(c:prepare(id, { [info.cross] = v })).body)
          if name ~= info.cross then       -- Thought Industries' email
            local _, err = c:prepare(id, { [name] = v, [info.cross] = v })
            refused(err, name, "given twice")
          end
        end
      end
      for _, cross in ipairs({ "first_name", "last_name", "email",
                               "external_id" }) do
        if not has[cross] then
          local _, err = c:prepare(id, { [cross] = "x" })
          refused(err, cross, vendor .. " has no such field")
        end
      end
    end)

    it("suggests the field a misspelt name meant", function()
      local name = first_field(vendor, function(n, i)
        return i.type == "string" and #n >= 5 and not n:find("%d")
      end)
      assert.is_string(name)
      local typo = name:sub(1, 1) .. name:sub(3, 3) .. name:sub(2, 2) ..
                   name:sub(4)
      local _, err = c:prepare(id, { [typo] = "x" })
      refused(err, typo, "did you mean '" .. name .. "'")
    end)

    it("checks the id (" .. d.id .. ")", function()
      assert.truthy(c:prepare(id, {}))
      for _, bad in ipairs(ids.bad) do
        local req, err = c:prepare(bad, {})
        assert.is_nil(req, tostring(bad))
        refused(err, "id")
      end
    end)

    it("clears a field only as documented: " ..
       (d.null_list or "refused without send_null"), function()
      local name = first_field(vendor, function(_, i)
        return i.type == "string" and not i.secret and not i.no_null
      end)
      local req, err = c:prepare(id, { [name] = userupd.null })
      if d.null_list then
        assert.matches('"' .. d.null_list .. '":["' .. name .. '"]',
                       assert(req, err).body, 1, true)
        return
      end
      assert.is_nil(req)
      refused(err, name, "documents no way to clear a field")
      assert.matches("send_null = true", err.message, 1, true)
      local opted = userupd[vendor](options(vendor, { send_null = true }))
      req = assert(opted:prepare(id, { [name] = userupd.null }))
      assert.matches('"' .. name .. '":null', req.body, 1, true)
      assert.are.equal("true", req.headers["X-Userupd-Send-Null"])
      assert.is_nil(c:prepare(id, {}).headers["X-Userupd-Send-Null"])
    end)

    it("sends each required list as [] when absent; refuses null where "
       .. "the descriptor says never", function()
      local body = assert(c:prepare(id, {})).body
      for _, name in ipairs(d.fields) do
        local info = d.field_info[name]
        if info.required_list then
          assert.matches('"' .. name .. '":[]', body, 1, true)
        end
        if info.no_null then
          local _, err = c:prepare(id, { [name] = userupd.null })
          refused(err, name)
          if info.type:find("list") then
            assert.matches("cannot be cleared with userupd.null; give {} " ..
                           "for an empty list", err.message, 1, true)
          end
        end
      end
    end)

    it("refuses each replace flag unless every list it replaces is given",
       function()
      for _, name in ipairs(d.fields) do
        local lists = d.field_info[name].replaces
        if lists then
          local all = { [name] = true }
          for list in lists:gmatch("[^|]+") do all[list] = {} end
          assert.truthy(c:prepare(id, all))
          for list in lists:gmatch("[^|]+") do
            local fields = {}
            for k, v in pairs(all) do fields[k] = v end
            fields[list] = nil
            local _, err = c:prepare(id, fields)
            refused(err, name, "would wipe it")
          end
          assert.truthy(c:prepare(id, { [name] = false }))
        end
      end
    end)

    it("requires its required options and checks their choices", function()
      for _, name in ipairs(sorted(d.options)) do
        local spec = d.options[name]
        if spec.required then
          local o = options(vendor)
          o[name] = nil
          local ok, err = pcall(userupd[vendor], o)
          assert.is_false(ok, name)
          assert.matches("'" .. name .. "'", err, 1, true)
        end
        if spec.choices then
          for choice in spec.choices:gmatch("[^|]+") do
            userupd[vendor](options(vendor, { [name] = choice })):close()
          end
          local ok, err = pcall(userupd[vendor],
                                options(vendor, { [name] = "mars" }))
          assert.is_false(ok, name)
          assert.matches(spec.choices, err, 1, true)
        end
      end
    end)

    it("never shows a secret option or secret field in tostring", function()
      local o = options(vendor)
      local marks = secrets(vendor, o)
      assert.is_true(#marks > 0, "a vendor without a credential")
      local fields = {}
      for _, name in ipairs(d.fields) do
        if d.field_info[name].secret then
          fields[name] = "MKfield" .. name .. "9z"
          marks[#marks + 1] = fields[name]
        end
      end
      local shown = tostring(c) .. "\n" ..
                    tostring(assert(c:prepare(id, fields)))
      for _, m in ipairs(marks) do
        assert.is_nil(shown:find(m, 1, true), m)
      end
      for name in pairs(fields) do
        assert.matches('"' .. name .. '":"***"', shown, 1, true)
      end
    end)
  end)
end
