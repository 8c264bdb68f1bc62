-- Secret scrubbing, one case per form (issue 12, item 5 a-f), each with a
-- scripted answer from a Lua transport, so the exact bytes and offsets are
-- known.  spec/net/secrets_spec.lua runs the same channels against a hostile
-- echo server over libcurl.
local userupd = require "userupd"

local TI_ID = "3f2b9c1e-8d4a-4e6f-9a1b-2c3d4e5f6a7b"

local function b64(s)
  local t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    for k = 3, 0, -1 do
      local idx = math.floor(v / 64 ^ k) % 64
      out[#out + 1] = t:sub(idx + 1, idx + 1)
    end
    if not c then out[#out] = "=" end
    if not b then out[#out - 1] = "=" end
  end
  return table.concat(out)
end

local function urlenc(s)
  return (s:gsub("[^%w%-%._~]", function(ch)
    return ("%%%02X"):format(ch:byte())
  end))
end

-- Every text a call hands back: message, code, request ids, tostring.
local function shown(user, err, info)
  local t = { tostring(user) }
  if err then
    t[#t + 1] = tostring(err.message)
    t[#t + 1] = tostring(err.vendor_code)
    t[#t + 1] = tostring(err.request_id)
    t[#t + 1] = tostring(err)
  end
  if info then t[#t + 1] = tostring(info.request_id) end
  return table.concat(t, "\n")
end

-- Fails naming the first 6-byte piece of secret (any case) found in text.
local function no_piece(text, secret)
  local low = text:lower()
  for i = 1, #secret - 5 do
    local piece = secret:sub(i, i + 5):lower()
    assert.is_nil(low:find(piece, 1, true),
                  ("piece %q of a secret in: %s"):format(piece, text))
  end
end

local function answering(status, body, headers)
  return function() return status, body, headers or {} end
end

describe("secret scrubbing", function()
  it("a. hides the base64 of the Basic credentials on its own", function()
    local pair = b64("MKa5user:MKa5pass")
    local c = userupd.smartermeasure{ username = "MKa5user",
      password = "MKa5pass", rate = 0, retries = 0,
      transport = answering(403, '{"RestException":{"Code":"Auth",' ..
        '"ExtendedDetails":"credentials ' .. pair .. ' refused"}}') }
    local text = shown(c:update(1, { FirstName = "A" }))
    assert.matches("credentials *** refused", text, 1, true)
    no_piece(text, pair)
  end)

  it("b. redacts before cutting the message (511) and the code (63)",
     function()
    local key = "MKb5TruncKey99"
    for off = 490, 511 do               -- the key straddles byte 511
      local c = userupd.thoughtindustries{ subdomain = "acme", api_key = key, rate = 0,
        retries = 0, transport = answering(400, '{"error":"' ..
          ("c"):rep(off - 460) .. " " .. key .. '","message":"' ..
          ("m"):rep(off - 1) .. " " .. key .. " tail" .. '"}') }
      local _, err = c:update(TI_ID, { firstName = "A" })
      assert.is_true(#err.message <= 511)
      assert.is_true(#err.vendor_code <= 63)
      no_piece(shown(nil, err), key)
    end
  end)

  it("b. hides a piece of a secret where a request id was cut (95)",
     function()
    local key = "MKb6HeaderKey77"
    for off = 80, 95 do
      local c = userupd.thoughtindustries{ subdomain = "acme", api_key = key, rate = 0,
        retries = 0, transport = answering(400, '{"error":"x"}',
          { ["X-Request-Id"] = ("r"):rep(off - 1) .. " " .. key .. "zz" }) }
      local _, err, info = c:update(TI_ID, { firstName = "A" })
      no_piece(shown(nil, err, info), key)
      assert.matches("^rrrr", info.request_id)
    end
  end)

  it("c. hides the login token in its URL-encoded and JSON forms",
     function()
    local token = "MKc5+Tok/en=="
    local c
    c = userupd.blackbaud{ school = "acme", username = "MKc5user", password = "MKc5pass",
      rate = 0, retries = 0, transport = function(req)
        if req.url:find("/authentication/login", 1, true) then
          return 200, '{"Token":"' .. token .. '"}', {}
        end
        return 400, '{"Error":"no such url ' .. req.url .. ' lower ' ..
          req.url:lower() .. '","ErrorType":"' .. urlenc(token) .. '"}', {}
      end }
    local text = shown(c:update(1574489, { FirstName = "A" }))
    assert.matches("t=***", text, 1, true)
    no_piece(text, urlenc(token))
    no_piece(text, token)
    text = tostring(c:prepare(1574489, { FirstName = "A" }))
    no_piece(text, urlenc(token))
  end)

  it("d. scrubs err.request_id and info.request_id", function()
    local pair = b64("MKd5user:MKd5pass")
    local sm = userupd.smartermeasure{ username = "MKd5user",
      password = "MKd5pass", rate = 0, retries = 0,
      transport = answering(400, '{"RestException":{"Code":"x"}}',
                            { ["X-Request-Id"] = "Basic " .. pair }) }
    local _, err, info = sm:update(1, { FirstName = "A" })
    assert.are.equal("***", err.request_id)
    assert.are.equal("***", info.request_id)
    local qp = userupd.questionpro{ api_key = "MKd6qpKey1", rate = 0,
      retries = 0, transport = answering(400,
        '{"requestID":"id-MKd6qpKey1","response":{"error":{"id":1}}}') }
    _, err, info = qp:update(1, { firstName = "A" })
    no_piece(shown(nil, err, info), "MKd6qpKey1")
    assert.are.equal("id-***", info.request_id)
  end)

  it("e. never shows the proxy password, nor Proxy-Authorization",
     function()
    local pw = "MKe5Pr0xy+pw"
    local proxy = "http://pxu:" .. urlenc(pw) .. "@127.0.0.1:9"
    local c = userupd.questionpro{ api_key = "k", rate = 0, retries = 0,
      proxy = proxy, transport = function()
        return nil, "proxy " .. proxy .. " (" .. pw .. ") refused: " ..
          b64("pxu:" .. pw), "refused"
      end }
    local text = shown(c:update(1, { firstName = "A" }))
    no_piece(text, pw)
    no_piece(text, urlenc(pw))
    no_piece(text, b64("pxu:" .. pw))
  end)

  it("f. matches without regard to case; short secrets whole only",
     function()
    local c = userupd.thoughtindustries{ subdomain = "acme", api_key = "MKf5CaseKey+1", rate = 0,
      retries = 0, transport = answering(401,
        '{"error":"x","message":"KEY MKF5CASEKEY+1 / mkf5casekey%2b1"}') }
    local text = shown(c:update(TI_ID, { firstName = "A" }))
    assert.matches("KEY *** / ***", text, 1, true)
    local short = userupd.thoughtindustries{ subdomain = "acme", api_key = "app", rate = 0,
      retries = 0, transport = answering(401,
        '{"error":"x","message":"application APP app."}') }
    text = shown(short:update(TI_ID, { firstName = "A" }))
    assert.matches("application *** ***.", text, 1, true)
  end)
end)
