-- A key "" gives an invalid error without err.field (reply.c set_str skips
-- empty strings; marshal.c unknown_field names the field "").
local u = require "userupd"
local c = u.blackbaud{ school = "acme", token = "t" }
local r, err = c:prepare(2, { [""] = "x" })
print(r, err.kind, err.field, tostring(err))
assert(err.field ~= nil, "invalid error without field")
