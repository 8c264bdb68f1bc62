-- 19-digit string ids: src/wire/marshal.c num() overflows int (UB) on the last
-- 10 digits; run under tools/asan's build to see UBSan stop it.
local u = require "userupd"
local c = u.questionpro{ api_key = "k" }
print(c:prepare("9223372036854775808", {}))
print(c:prepare("1000000002147483648", {}))
