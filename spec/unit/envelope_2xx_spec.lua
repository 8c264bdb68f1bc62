-- New cases of issue 21 item 2: a 2xx whose body is the vendor's error
-- envelope and holds no user is never a success, whatever shape the
-- envelope's members take (a string where an object was expected, an
-- object with only a status, an empty one).  Scripted answers from a Lua
-- transport, through update and get, with 200 and 201.
local userupd = require "userupd"

local TI_ID = "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"
local FF_ID = "2ebc64a36a0d400d0123456789abcdef"

local VENDORS = {
  questionpro = { opts = { api_key = "env-key" }, id = 100,
                  fields = { firstName = "A" } },
  smartermeasure = { opts = { username = "u", password = "env-pass" },
                     id = 100, fields = { FirstName = "A" } },
  blackbaud = { opts = { token = "env-token", school = "s" }, id = 100,
                fields = { FirstName = "A" } },
  formsonfire = { opts = { company_id = 1, integration_key = "env-key" },
                  id = FF_ID, fields = { FirstName = "A" } },
  thoughtindustries = { opts = { api_key = "env-key", subdomain = "acme" },
                        id = TI_ID, fields = { firstName = "A" } },
}

-- { vendor, body, kind expected (nil: any failure) }
local CASES = {
  { "questionpro", '{"response":{"error":"API key is invalid"}}' },
  { "questionpro", '{"response":{"error":{"httpStatusCode":503}}}', "http" },
  { "questionpro", '{"response":{"error":{"httpStatusCode":404}}}',
    "not_found" },
  { "questionpro", '{"response":{"error":{"docs":"x"}}}' },
  { "questionpro", '{"response":{"error":[]}}' },
  { "smartermeasure", '{"RestException":"Unauthorized"}' },
  { "smartermeasure", '{"RestException":{}}' },
  { "smartermeasure", '{"RestException":{"Status":503}}', "http" },
  { "blackbaud", '{"Error":{"Message":"bad"}}' },
  { "formsonfire", '{"ResponseStatus":{"ErrorCode":"","Message":"",' ..
                   '"Errors":[{"ErrorCode":"NotEmpty","Message":"bad"}]},' ..
                   '"User":null}' },
}

local function client(vendor, status, body)
  local v = VENDORS[vendor]
  local o = { rate = 0, retries = 0,
              transport = function() return status, body, {} end }
  for k, x in pairs(v.opts) do o[k] = x end
  return userupd[vendor](o), v
end

describe("an error envelope in a 2xx, in any shape", function()
  for _, case in ipairs(CASES) do
    local vendor, body, kind = case[1], case[2], case[3]
    for _, status in ipairs{ 200, 201 } do
      it(("%s %d %s is not a user"):format(vendor, status, body), function()
        local c, v = client(vendor, status, body)
        local user, err = c:update(v.id, v.fields)
        assert.is_nil(user, "update took the envelope as a user")
        assert.is_table(err)
        if kind then assert.are.equal(kind, err.kind, tostring(err)) end
        c, v = client(vendor, status, body)
        user, err = c:get(v.id)
        assert.is_nil(user, "get took the envelope as a user")
        assert.is_table(err)
      end)
    end
  end
end)
