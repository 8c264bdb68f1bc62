-- The marshal fast paths (issue 22): strings scanned 8 bytes at a time,
-- field names found by their interned string's address, req.headers
-- made on first read.  Each must give the very bytes and tables the
-- plain paths gave.
local userupd = require "userupd"
local cjson = require "cjson"

local function sm()
  return userupd.smartermeasure{ username = "u", password = "p-secret-1" }
end

-- What a JSON string of s must be, written the slow way, byte by byte.
local function quoted(s)
  local out = { '"' }
  for i = 1, #s do
    local b = s:byte(i)
    local ch = s:sub(i, i)
    if ch == '"' then out[#out + 1] = '\\"'
    elseif ch == "\\" then out[#out + 1] = "\\\\"
    elseif ch == "\n" then out[#out + 1] = "\\n"
    elseif ch == "\r" then out[#out + 1] = "\\r"
    elseif ch == "\t" then out[#out + 1] = "\\t"
    elseif ch == "\b" then out[#out + 1] = "\\b"
    elseif ch == "\f" then out[#out + 1] = "\\f"
    elseif b < 32 then out[#out + 1] = string.format("\\u%04x", b)
    else out[#out + 1] = ch end
  end
  out[#out + 1] = '"'
  return table.concat(out)
end

describe("marshal fast paths", function()
  it("escapes a byte that needs it at every place in a string", function()
    local c = sm()
    local specials = { '"', "\\", "\n", "\0", "\31", "\127", "é", "\t" }
    for len = 1, 40 do
      for pos = 1, len do
        for _, sp in ipairs(specials) do
          local s = string.rep("a", pos - 1) .. sp .. string.rep("b", len - pos)
          local body = assert(c:encode(1, { LastName = s }))
          assert.are.equal('{"LastName":' .. quoted(s) .. "}", body)
        end
      end
    end
  end)

  it("refuses invalid UTF-8 at any place, naming the byte", function()
    local c = sm()
    for pos = 1, 24 do
      local s = string.rep("x", pos - 1) .. "\255" .. string.rep("y", 9)
      local body, err = c:encode(1, { FirstName = s })
      assert.is_nil(body)
      assert.are.equal("FirstName: invalid UTF-8 at byte " .. pos, err.message)
    end
  end)

  it("finds names built at run time, cross-vendor ones, and refuses " ..
     "unknown and doubled ones", function()
    local c = sm()
    local f = { [("First") .. ("Name")] = "A", [table.concat{ "e", "mail" }] = "b@x.org" }
    assert.are.equal('{"FirstName":"A","Email":"b@x.org"}', c:encode(1, f))
    local long = string.rep("FirstName", 6)                -- a long string
    local body, err = c:encode(1, { [long] = "A" })
    assert.is_nil(body)
    assert.matches("unknown field", err.message)
    body, err = c:encode(1, { FirstName = "A", first_name = "B" })
    assert.is_nil(body)
    assert.matches("given twice", err.message)
    body, err = c:encode(1, { FirstName = 5 })
    assert.is_nil(body)
    assert.are.equal("FirstName: expected string, got number", err.message)
  end)

  it("gives the same names to a second client of the vendor", function()
    local a, b = sm(), sm()
    local f = { FirstName = "A", external_id = "X-1", EthnicityID = 3 }
    assert.are.equal(a:encode(7, f), b:encode(7, f))
    a:close()
    assert.are.equal('{"FirstName":"A","InternalID":"X-1","EthnicityID":3}',
                     b:encode(7, f))
  end)

  it("makes req.headers on first read, a table of each request's own",
     function()
    local c = sm()
    local r1 = assert(c:prepare(1, { FirstName = "A" }))
    local r2 = assert(c:prepare(2, { FirstName = "B" }))
    assert.are.equal("table", type(r1.headers))
    assert.matches("^Basic ", r1.headers.Authorization)
    r1.headers["X-Mine"] = "1"
    assert.are.equal(r1.headers, r1.headers)              -- kept once made
    assert.is_nil(r2.headers["X-Mine"])
    assert.is_nil(c:prepare(3, { FirstName = "C" }).headers["X-Mine"])
    local names = {}
    for k in pairs(r2.headers) do names[#names + 1] = k end
    assert.is_true(#names >= 2)
    assert.are.equal("PUT", r2.method)
    assert.matches("/v3/users/2$", r2.url)
    assert.are.same({ FirstName = "B" }, cjson.decode(r2.body))
    assert.is_nil(r2.nothing)
    assert.is_nil(r2[1])
    local shown = tostring(c:prepare(4, { FirstName = "D" }))
    assert.matches("\nAuthorization: ", shown, 1, true)
    assert.is_nil(shown:find("p-secret-1", 1, true))
  end)

  -- The rule (redact.c, issue 21): a run of 8 bytes or more of a secret
  -- of 12 or more, starting at a letter or digit and holding a byte that
  -- is no letter, is hidden, ASCII case ignored.
  it("hides every piece of a secret wherever it stands in a shown text " ..
     "(the redaction's quick checks)", function()
    local PW = "Tr0ub4dor-Horse-77"
    local c = userupd.smartermeasure{ username = "someone", password = PW }
    local seed = 22
    local function rand(n)                      -- a small LCG: same every run
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    end
    local filler = "abcdefghij0123456789-_ ABCXYZ"
    for _ = 1, 300 do
      local parts = {}
      for _ = 1, 1 + rand(4) do
        local len = 8 + rand(#PW - 7)
        local at = 1 + rand(#PW - len + 1)
        local piece = PW:sub(at, at + len - 1)
        if rand(2) == 0 then piece = piece:upper() end
        local pad = {}
        for _ = 1, rand(12) do
          local k = 1 + rand(#filler)
          pad[#pad + 1] = filler:sub(k, k)
        end
        parts[#parts + 1] = table.concat(pad) .. " " .. piece
      end
      local text = table.concat(parts, " ")
      local shown = tostring(assert(c:prepare(5, { AgeRange = text })))
      local low = shown:lower()
      for i = 1, #PW - 7 do
        local piece = PW:sub(i, i + 7)
        if piece:find("^%w") and piece:find("[^%a]") then   -- the rule
          assert.is_nil(low:find(piece:lower(), 1, true),
                        ("piece %q shown in %s"):format(piece, shown))
        end
      end
      assert.matches("AgeRange", shown, 1, true)
    end
  end)

  -- A Blackbaud client whose logins hand out tokens in turn; the updates
  -- numbered in expired answer 401, the others 400 with answer(logins)
  -- as the body.  Returns the client and a function giving the logins.
  local function token_client(tokens, expired, answer)
    local logins, updates = 0, 0
    local bb = userupd.blackbaud{ username = "u", password = "pw-secret-99",
      base_url = "http://127.0.0.1:1", rate = 0, retries = 1,
      sleep = function() end,
      transport = function(req)
        if req.url:find("/api/authentication/login", 1, true) then
          logins = logins + 1
          return 200, '{"Token":"' .. tokens[logins] .. '"}', {}
        end
        updates = updates + 1
        if expired[updates] then return 401, '{"Error":"expired"}', {} end
        return 400, answer(logins), {}
      end }
    return bb, function() return logins end
  end

  it("hides a new login token at once, though the views are kept " ..
     "between calls", function()
    local tokens = { "tok1-AAAA7777-1111", "tok2-BBBB8888-2222" }
    local bb, logins = token_client(tokens, { [2] = true }, function()
      return '{"ErrorType":"Bad","Error":"token ' .. tokens[1] .. " and " ..
             tokens[2] .. ' seen, ' .. tokens[2]:sub(3, 14) .. '..."}'
    end)
    local _, err1 = bb:update(1, { FirstName = "A" })       -- token 1
    assert.is_nil(err1.message:find(tokens[1], 1, true))
    local _, err2 = bb:update(1, { FirstName = "B" })       -- 401, token 2
    assert.are.equal(2, logins())
    -- the token now in use (the one before it is hidden until replaced:
    -- request.c token_forms)
    assert.is_nil(err2.message:lower():find(tokens[2]:lower(), 1, true),
                  err2.message)
    assert.is_nil(err2.message:find(tokens[2]:sub(3, 14), 1, true), err2.message)
    assert.matches("***", err2.message, 1, true)
  end)

  it("hides the token before a re-login too: an answer to a request " ..
     "sent with it may come after the new one", function()
    local tokens = { "old1-CCCC5555-3333", "new2-DDDD6666-4444",
                     "new3-EEEE7777-5555" }
    local bb, logins = token_client(tokens, { [1] = true, [3] = true },
      function(n)
        local last = tokens[n - 1]
        return '{"ErrorType":"Bad","Error":"token ' .. last .. " is gone, " ..
               last:sub(2, 13) .. '... (now ' .. tokens[n] .. ')"}'
      end)
    local _, err = bb:update(1, { FirstName = "A" })    -- 401, re-login
    assert.are.equal(2, logins())
    assert.is_nil(err.message:find(tokens[1], 1, true), err.message)
    assert.is_nil(err.message:find(tokens[1]:sub(2, 13), 1, true),
                  err.message)
    assert.is_nil(err.message:find(tokens[2], 1, true), err.message)
    assert.matches("***", err.message, 1, true)
    -- a second re-login: the one before it (token 2) stays hidden
    _, err = bb:update(1, { FirstName = "B" })
    assert.are.equal(3, logins())
    assert.is_nil(err.message:find(tokens[2], 1, true), err.message)
    assert.is_nil(err.message:find(tokens[2]:sub(2, 13), 1, true),
                  err.message)
    assert.is_nil(err.message:find(tokens[3], 1, true), err.message)
  end)
end)
