-- A record's own secret fields (QuestionPro password, Forms On Fire
-- Password) are secrets too (issue 21 item 8): a vendor that echoes the
-- value without its key ("password X is too weak") must not get it into
-- err.message, err.request_id, the journal or `failures`, through any
-- call loop (update, update_many, submit/poll, a Lua transport).
local userupd = require "userupd"
local sandbox = require "support.sandbox"

local GUID = "2ebc64a36a0d400d0123456789abcd01"

-- Passwords of the kinds a probe tries: plain, with JSON escapes, with
-- UTF-8, short (a whole token only), one that is also a common word.
local passwords = {
  "Tr0ub4dor-Horse-77",
  'quo"te\\back/slash-2024',
  "pässwörd-Ünïcode-9",
  "Xy7",
}

local cases = {
  { vendor = "questionpro", field = "password", id = 1001,
    make = function() return userupd.questionpro{ api_key = "rs-key",
      base_url = sandbox.url(), rate = 0, retries = 0 } end,
    fields = function(pw) return { firstName = "A", password = pw } end },
  { vendor = "formsonfire", field = "Password", id = GUID,
    make = function() return userupd.formsonfire{ company_id = 7,
      integration_key = "rs-key", base_url = sandbox.url(), rate = 0,
      retries = 0 } end,
    fields = function(pw) return { FirstName = "A", Password = pw } end },
}

local function no_secret(pw, ...)
  for i = 1, select("#", ...) do
    local s = select(i, ...)
    if s ~= nil then
      assert.is_nil(tostring(s):find(pw, 1, true),
                    "the password leaked: " .. tostring(s))
    end
  end
end

local function tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

describe("a record's own secret echoed by the vendor", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)

  for _, cs in ipairs(cases) do
    for _, pw in ipairs(passwords) do
      local label = cs.vendor .. " " .. pw
      it("update hides it in err.message and request_id: " .. label,
         function()
        sandbox.fault{ fault = "echo-field:name=" .. cs.field }
        local c = cs.make()
        local user, err = c:update(cs.id, cs.fields(pw))
        assert.is_nil(user)
        assert.are.equal("rejected", err.kind)
        assert.matches("is too weak", err.message, 1, true)
        assert.matches("***", err.message, 1, true)
        no_secret(pw, err.message, err.request_id, tostring(err))
      end)
    end

    it("update_many keeps it out of the journal and failures: "
       .. cs.vendor, function()
      local pw = passwords[1]
      sandbox.fault{ fault = "echo-field:name=" .. cs.field }
      local c = cs.make()
      local path = tmpdb()
      local seen
      local s = c:update_many({ { cs.id, cs.fields(pw) } },
        { journal = path, progress = false,
          on_result = function(_, _, err) seen = err end })
      assert.are.equal(1, s.failed)
      no_secret(pw, seen.message, seen.request_id)
      local rows = assert(c:failures(path))
      assert.are.equal(1, #rows)
      for _, v in pairs(rows[1]) do no_secret(pw, v) end
      local f = assert(io.open(path, "rb"))
      local bytes = f:read("*a")
      f:close()
      no_secret(pw, bytes)
      os.remove(path)
    end)

    it("submit/poll hides it: " .. cs.vendor, function()
      local pw = passwords[1]
      sandbox.fault{ fault = "echo-field:name=" .. cs.field }
      local c = cs.make()
      local got
      c:submit(cs.id, cs.fields(pw), function(_, err) got = err end)
      for _ = 1, 200 do
        if userupd.poll(0.05) == 0 then break end
      end
      assert.is_table(got)
      assert.matches("is too weak", got.message, 1, true)
      no_secret(pw, got.message, got.request_id)
    end)
  end

  it("a Lua transport's answer hides it too", function()
    local pw = passwords[1]
    local c = userupd.questionpro{ api_key = "rs-key",
      base_url = "http://127.0.0.1:1", retries = 0,
      transport = function()
        return 400, '{"response":{"error":{"httpStatusCode":400,'
          .. '"message":"password ' .. pw .. ' is too weak"}}}', {}
      end }
    local _, err = c:update(1001, { password = pw })
    assert.matches("password *** is too weak", err.message, 1, true)
    no_secret(pw, err.message)
  end)

  -- A piece of a secret (8 bytes or more of one of 12 or more) is hidden
  -- too: cut short, from its middle, the client's key as well.
  for _, case in ipairs{
    { "its first 12", function(pw) return pw:sub(1, 12) .. "..." end },
    { "all but its first 2", function(pw) return pw:sub(3) end },
    { "10 of its middle", function(pw) return pw:sub(4, 13) end },
  } do
    it("hides " .. case[1] .. " as echoed", function()
      local pw = "Tr0ub4dor-Horse-77"
      local echo = case[2](pw)
      local c = userupd.questionpro{ api_key = "API-KEY-abcdef0123456789",
        base_url = "http://127.0.0.1:1", retries = 0,
        transport = function()
          return 400, '{"response":{"error":{"httpStatusCode":400,'
            .. '"message":"password ' .. echo .. ' is too weak; key '
            .. 'API-KEY-abcdef0 refused"}}}', {}
        end }
      local _, err = c:update(1001, { password = pw })
      no_secret(echo, err.message, tostring(err))
      no_secret("API-KEY-abcdef0", err.message)
      assert.matches("password ***", err.message, 1, true)
      assert.matches("key *** refused", err.message, 1, true)
    end)
  end

  it("hides it %-encoded too, as a URL or form echo has it", function()
    local pw = "pässwörd Ünïcode/9"
    local enc = "p%C3%A4ssw%C3%B6rd%20%C3%9Cn%C3%AFcode%2F9"
    local c = userupd.questionpro{ api_key = "rs-key",
      base_url = "http://127.0.0.1:1", retries = 0,
      transport = function()
        return 400, '{"response":{"error":{"httpStatusCode":400,'
          .. '"message":"rejected ?password=' .. enc .. '"}}}', {}
      end }
    local _, err = c:update(1001, { password = pw })
    assert.matches("?password=***", err.message, 1, true)
    no_secret(enc, err.message)
  end)
end)
