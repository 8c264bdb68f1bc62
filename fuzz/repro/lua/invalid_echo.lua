-- An invalid value is quoted unredacted: the integration key, given as the
-- id by mistake, shows in err.message and tostring(err).
local u = require "userupd"
local c = u.formsonfire{ company_id = 1, integration_key = "Ik-FF-7262" }
local r, err = c:prepare("Ik-FF-7262", {})
print(tostring(err))
assert(not tostring(err):find("Ik-FF-7262", 1, true), "secret quoted back")
