-- err.vendor_code (and tostring(err)) is not redacted: reply.c push_failure
-- redacts msg but passes code to uu_push_error as it came from the body.
local u = require "userupd"
local KEY = "Key-TI-9051"
local c = u.thoughtindustries{ subdomain = "acme", api_key = KEY, retries = 0,
  transport = function(req)
    return 401, '{"error":"invalid key ' .. KEY .. '","message":"bad key ' .. KEY .. '"}', {}
  end }
local _, err = c:update("3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b", { email = "a@example.org" })
print("message:     ", err.message)
print("vendor_code: ", err.vendor_code)
print("tostring:    ", tostring(err))
assert(not tostring(err):find(KEY, 1, true), "tostring(err) shows the api key")
