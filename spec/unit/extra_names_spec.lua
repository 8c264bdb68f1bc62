-- extra may not take another spelling of a member userupd writes or
-- checks (issue 21 item 6): a vendor may match names without case (Forms
-- On Fire's "ID" next to the checked "Id"; Blackbaud's "fieldsToNull" next
-- to a typed Prefix; QuestionPro's "Password", a secret).  Every field of
-- every vendor's descriptor, in other cases, plus the id, the clear list
-- and the credentials userupd writes into the body.
local userupd = require "userupd"

local ID = { questionpro = 1, smartermeasure = 1, blackbaud = 1,
             thoughtindustries = "2ebc64a3-6a0d-400d-0123-4567890abc01",
             formsonfire = "2ebc64a36a0d400d0123456789abcd01" }

local function client(vendor)
  local o = { base_url = "https://127.0.0.1:1" }
  if vendor == "blackbaud" then o.token = "static-token" end
  for name, info in pairs(userupd.vendors[vendor].options) do
    if info.required then
      o[name] = info.type == "integer" and 7 or "v-" .. name
    end
  end
  return userupd[vendor](o)
end

local function spellings(name)
  local out, seen = {}, { [name] = true }
  for _, s in ipairs{ name:upper(), name:lower(),
                      name:sub(1, 1):upper() .. name:sub(2),
                      name:sub(1, 1):lower() .. name:sub(2) } do
    if not seen[s] then seen[s] = true; out[#out + 1] = s end
  end
  return out
end

local function refused(vendor, name)
  local c = client(vendor)
  local body, err = c:encode(ID[vendor], {}, { extra = { [name] = "x" } })
  assert.is_nil(body, vendor .. " took extra." .. name)
  assert.are.equal("invalid", err.kind)
  assert.are.equal(("extra." .. name):sub(1, 30), err.field:sub(1, 30))
  assert.matches("compared without case", err.message, 1, true)
  local req = c:prepare(ID[vendor], {}, { extra = { [name] = "x" } })
  assert.is_nil(req)
end

describe("extra names", function()
  for vendor, info in pairs(userupd.vendors) do
    for _, field in ipairs(info.fields) do
      it(("%s: %s in another case is refused"):format(vendor, field),
         function()
        for _, s in ipairs(spellings(field)) do refused(vendor, s) end
        refused(vendor, field)
      end)
    end
  end

  it("refuses the members userupd writes itself, in any case", function()
    for _, case in ipairs{
      { "formsonfire", "ID" }, { "formsonfire", "id" },
      { "formsonfire", "companyID" }, { "formsonfire", "INTEGRATIONKEY" },
      { "blackbaud", "fieldsToNull" }, { "blackbaud", "FIELDSTONULL" },
      { "questionpro", "Password" }, { "questionpro", "PASSWORD" },
      { "questionpro", "first_name" }, { "questionpro", "First_Name" },
    } do
      refused(case[1], case[2])
    end
  end)

  -- An id member in extra could point the write at another user wherever
  -- a vendor reads the body's id (QuestionPro answers with userID,
  -- SmarterMeasure UserId, Thought Industries id): every vendor, every
  -- usual spelling.
  it("refuses a member that names the user's id, for every vendor",
     function()
    for vendor in pairs(userupd.vendors) do
      for _, name in ipairs{ "id", "ID", "Id", "userID", "UserId", "USERID",
                             "user_id", "User-Id", "uid", "UID" } do
        local c = client(vendor)
        local body, err = c:encode(ID[vendor], {},
                                   { extra = { [name] = "2" } })
        assert.is_nil(body, vendor .. " took extra." .. name)
        assert.are.equal("invalid", err.kind)
        assert.is_truthy(err.message:find("user's id", 1, true) or
                         err.message:find("(the id)", 1, true), err.message)
      end
    end
  end)

  it("still takes id-like names that are not the user's id", function()
    local c = client("questionpro")
    local body = assert(c:encode(1, {}, { extra = { surveyID = 5,
                                                    userIdentity = "x" } }))
    assert.matches('"surveyID":5', body, 1, true)
    assert.matches('"userIdentity":"x"', body, 1, true)
  end)

  it("still takes names the vendor documents nowhere", function()
    local c = client("blackbaud")
    local body = assert(c:encode(1, { Prefix = "Mr." },
                                 { extra = { IsDeceased = false } }))
    assert.matches('"IsDeceased":false', body, 1, true)
  end)
end)
