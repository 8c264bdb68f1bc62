-- fuzz/make_corpus.lua [SHARED_DIR]: (re)writes the committed seed corpus
-- under fuzz/corpus/<target>/ from the vendor documentation seeds
-- (SHARED_DIR/seeds, default ../shared/seeds beside the repository), the
-- vendors' error envelopes (as shared/vendors.md describes them) and hand-
-- written edge cases.  Run from the repository root:
--   lua5.4 fuzz/make_corpus.lua ../shared
-- The files it writes are committed; fuzz/run only reads them.  The fz-*
-- files beside them are inputs the fuzzers found (libFuzzer -merge=1 of a
-- long run, the 300 smallest kept); this script leaves them alone.
local shared = arg[1] or "../shared"

local function write(target, name, data)
  os.execute("mkdir -p fuzz/corpus/" .. target)
  local f = assert(io.open("fuzz/corpus/" .. target .. "/" .. name, "wb"))
  f:write(data)
  f:close()
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function u16(n) return string.char((n >> 8) & 255, n & 255) end
local function u64(n) return string.pack(">i8", n) end
local function f64(d) return string.pack(">d", d) end

-- JSON-looking blocks of a documentation page: from a line starting with
-- '{' or '[' to where its brackets balance (strings skipped).
local function json_blocks(text)
  local out = {}
  local pos = 1
  while true do
    local s = text:find("\n%s*[%[{]", pos)
    if not s then break end
    s = text:find("[%[{]", s)
    local depth, i, instr = 0, s, false
    while i <= #text do
      local c = text:sub(i, i)
      if instr then
        if c == "\\" then i = i + 1 elseif c == '"' then instr = false end
      elseif c == '"' then instr = true
      elseif c == "{" or c == "[" then depth = depth + 1
      elseif c == "}" or c == "]" then
        depth = depth - 1
        if depth == 0 then break end
      end
      i = i + 1
    end
    local block = text:sub(s, i)
    if #block > 2 and #block < 8192 then out[#out + 1] = block end
    pos = i + 1
  end
  return out
end

---------------------------------------------------------------------------
-- Bodies: documentation examples, error envelopes, edge cases
---------------------------------------------------------------------------

local doc_bodies = {}
for _, name in ipairs({ "000_2ad9f6aa059c8f41.txt", "001_42129622da5332f8.txt",
                        "002_4d0bc8836af0bc21.txt", "003_4c1c74fddecc1775.txt",
                        "004_848bef6b9880367e.txt" }) do
  local text = read(shared .. "/seeds/" .. name)
  if text then
    for i, b in ipairs(json_blocks(text)) do
      doc_bodies[#doc_bodies + 1] = { name:sub(1, 3) .. "_" .. i, b }
    end
  else
    io.stderr:write("make_corpus: no " .. shared .. "/seeds/" .. name .. "\n")
  end
end

-- vendor index (fuzz_reply order), status, headers, body
local envelopes = {
  { 0, 400, "", '{"RestException":{"Code":"InvalidInput","Status":400,"ExtendedDetails":["EthnicityID must be an integer"]}}' },
  { 0, 403, "", '{"RestException":{"Code":"AuthenticationFailed","Status":403,"ExtendedDetails":"bad login for Pw-SM-4417"}}' },
  { 0, 404, "", '{"RestException":{"Code":"ResourceNotFound","Status":404}}' },
  { 0, 200, "X-Request-Id: 4f6c9d2e-1b3a-4c5d-8e7f-a1b2c3d4e5f6", '{"UserId":"10000001","FirstName":"Alice","HowManyCourses":[]}' },
  { 1, 429, "Retry-After: 17\nX-RateLimit-Remaining: 0\nX-RateLimit-Reset: 1767225600",
    '{"error":"rate_limit_exceeded","message":"Too many requests","retryAfter":17}' },
  { 1, 422, "", '{"error":"validation","message":"email is invalid"}' },
  { 1, 200, "X-RateLimit-Remaining: 59", '{"data":{"APIUpdateUser":{"id":"3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b","email":"a@example.org"}}}' },
  { 1, 200, "", '{"data":{"UserById":{"id":"3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"}}}' },
  { 1, 401, "", '{"error":"unauthorized","message":"Bearer Key-TI-9051 is not valid"}' },
  { 2, 401, "", '{"Error":"Invalid token Tok-BB-3380","ErrorType":"UNAUTHORIZED_ACCESS"}' },
  { 2, 200, "", '{"Token":"abc123","UserId":1574489}' },
  { 2, 200, "", '{"FirstName":"Ann","LastName":"Lee","Id":1574489}' },
  { 2, 500, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT", '{"Error":"Object reference not set","ErrorType":"ERROR"}' },
  { 3, 200, "", '{"User":{"Id":"2ebc64a36a0d400d0123456789abcdef","Status":"Active"},"ResponseStatus":{"ErrorCode":"InvalidIntegrationKey","Message":"Ik-FF-7262 is not valid"}}' },
  { 3, 200, "", '{"User":{"Id":"2ebc64a36a0d400d0123456789abcdef","Type":"Standard"}}' },
  { 3, 401, "", '{"ResponseStatus":{"ErrorCode":"Unauthorized","Message":"bad CompanyId"}}' },
  { 4, 400, "", '{"response":{"error":{"docs":"https://www.questionpro.com/api/error-codes.html","name":"","httpStatusCode":400,"id":"1002","message":"Invalid apiKey Key-QP-1848","resourceUrl":"/a/api/v2/users/1"}},"requestID":"req-77"}' },
  { 4, 429, "Retry-After: 60", '{"response":{"error":{"httpStatusCode":429,"id":1013,"message":"API call limit exceeded"}}}' },
  { 4, 200, "Request-Id: r-1", '{"response":{"userID":1234599,"firstName":"Ada"},"requestID":"a1b2"}' },
  { 4, 404, "", '{"response":{"error":{"id":1004,"name":"NotFound","message":"User not found"}}}' },
}

local edge_bodies = {
  "[]", "{}", "null", "true", "false", "0", "-0", "-0.0", "1e400", "-1e400",
  "0.1", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308",
  "9223372036854775807", "-9223372036854775808", "9223372036854775808",
  "-9223372036854775809", "123456789012345678901234567890",
  "0." .. string.rep("1", 70) .. "e5", "1E+2", "1e-2", "01", "1.", ".5", "+1",
  '"\\ud83d\\ude00"', '"\\ud800"', '"\\udc00"', '"\\ud800\\u0041"', '"\\u0000"',
  '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"',
  '"\xed\xa0\x80"', '"\xc0\xaf"', '"\x01"', '"abc', '"\\x"',
  '{"a":1,"a":2}', '{"a":[1,{"b":null}],"c":"d"}', '[1,2,3,]', '{"a"}',
  ' \t\r\n[ 1 , 2 ] \n', '[1] x', string.rep("[", 300) .. string.rep("]", 300),
  string.rep('{"a":', 20) .. "1" .. string.rep("}", 20),
  "[" .. string.rep("1,", 99) .. "1]",
  "{" .. table.concat((function()
    local t = {}
    for i = 1, 40 do t[i] = ('"k%02d":%d'):format(i, i) end
    return t
  end)(), ",") .. "}",
}

---------------------------------------------------------------------------
-- fuzz_json_decoder: depth byte + text
---------------------------------------------------------------------------

for i, b in ipairs(doc_bodies) do write("fuzz_json_decoder", "doc_" .. b[1], "\1" .. b[2]) end
for i, e in ipairs(envelopes) do write("fuzz_json_decoder", ("env_%02d"):format(i), "\1" .. e[4]) end
for i, b in ipairs(edge_bodies) do
  write("fuzz_json_decoder", ("edge_%02d"):format(i), string.char(i % 3) .. b)
end

---------------------------------------------------------------------------
-- fuzz_json_writer: records (see fuzz_json_writer.c)
---------------------------------------------------------------------------

local function wstr(s) return "\0" .. u16(#s) .. s end
local function wdbl(d) return "\1" .. f64(d) end
local function wint(n) return "\2" .. u64(n) end
local function wdec(m, e) return "\3" .. string.pack(">i4", m) .. string.char(e) end

write("fuzz_json_writer", "strings", wstr("hello") .. wstr("caf\xc3\xa9") ..
  wstr('quote " back \\ nl \n tab \t nul \0 ctl \x1f') .. wstr("\xf0\x9f\x98\x80") .. wstr(""))
write("fuzz_json_writer", "bad_utf8", wstr("\xed\xa0\x80") .. wstr("\xc0\xaf") ..
  wstr("\xf4\x90\x80\x80") .. wstr("ok") .. wstr("\xe2\x82"))
write("fuzz_json_writer", "doubles", wdbl(0.1) .. wdbl(-0.0) .. wdbl(1e300) ..
  wdbl(5e-324) .. wdbl(1 / 0) .. wdbl(0 / 0) .. wdbl(2 ^ 53) .. wdbl(123456789012345.0))
write("fuzz_json_writer", "integers", wint(0) .. wint(math.mininteger) ..
  wint(math.maxinteger) .. wint(-1) .. wint(9007199254740993))
write("fuzz_json_writer", "decimals", wdec(1, 1) .. wdec(-25, 7) .. wdec(2147483647, 23) ..
  wdec(3, 0) .. wdec(-2147483648, 12))

---------------------------------------------------------------------------
-- fuzz_reply: vendor, flags, status, [curl], headers, body
---------------------------------------------------------------------------

local function reply(vendor, flags, status, headers, body, cc, msg)
  local s = string.char(vendor, flags) .. u16(status - 100)
  if flags & 0x10 ~= 0 then s = s .. string.char(cc - 1) .. string.char(#msg) .. msg end
  return s .. u16(#headers) .. headers .. body
end

for i, e in ipairs(envelopes) do
  write("fuzz_reply", ("env_%02d"):format(i), reply(e[1], 0, e[2], e[3], e[4]))
  write("fuzz_reply", ("get_%02d"):format(i), reply(e[1], 1, e[2], e[3], e[4]))
end
for i, b in ipairs(doc_bodies) do
  local vendor = tonumber(b[1]:sub(1, 3)) % 5
  write("fuzz_reply", "doc_" .. b[1], reply(vendor, 0, 200, "", b[2]))
end
write("fuzz_reply", "no_content", reply(1, 0, 204, "", ""))
write("fuzz_reply", "empty_200", reply(4, 0, 200, "", ""))
write("fuzz_reply", "not_json", reply(0, 0, 200, "Content-Type: text/html", "<html>oops</html>"))
write("fuzz_reply", "overflow", reply(3, 0x20, 200, "", '{"User":{'))
write("fuzz_reply", "timeout", reply(4, 0x10, 100, "", "", 28, "Operation timed out after 30000 ms"))
write("fuzz_reply", "refused", reply(2, 0x12, 100, "", "", 7, "Failed to connect to 127.0.0.1"))
write("fuzz_reply", "headers", reply(1, 0, 503,
  "Retry-After: 1e999\nRetry-After: -5\nX-RateLimit-Reset: nan\nX-RateLimit-Remaining: 0\n" ..
  "x-request-id:" .. string.rep("r", 120) .. "\nRetry-After:\nRequest-Id:   \t\n: \nHTTP/2 200",
  '{"error":"unavailable"}'))

---------------------------------------------------------------------------
-- fuzz_marshal: generator bytes (see fuzz_marshal.c); a few plain starts,
-- the rest comes from fuzzing and `fuzz/run` -merge.
---------------------------------------------------------------------------

for v = 0, 4 do
  -- vendor, id op 1 (small integer 1), 3 entries of "a field name, typed value"
  write("fuzz_marshal", "typed_" .. v, string.char(v, 1, 0, 1, 3,
    0, 0, 0x80, 1, 1, 1, 0x80, 2, 2, 2, 0x80, 3))
  write("fuzz_marshal", "mixed_" .. v, string.char(v, 4, 0, 6) ..
    string.char(7, 7, 4, 1, 2, 3, 4, 0, 5, 0, 6, 9, 1, 4, 0, 10, 0))
end
print("corpus written under fuzz/corpus/")
