-- New cases of issue 21 item 8 (a secret echoed by the vendor): vendors
-- often echo a value cut or masked ("password Tr0ub4dor-Ho... is too
-- weak", "invalid key API-KEY-abcdef***").  A long piece of a secret is
-- most of it: no 8 consecutive characters of a password or credential of
-- 12 or more reach err.message, whatever part of it the vendor quoted.
-- Scripted answers from a Lua transport.
local userupd = require "userupd"

local PW = "Tr0ub4dor-Horse-77"
local KEY = "API-KEY-abcdef123456"

local function pieces_absent(text, secret)
  local low = text:lower()
  for i = 1, #secret - 7 do
    local piece = secret:sub(i, i + 7):lower()
    assert.is_nil(low:find(piece, 1, true),
                  ("piece %q of a secret in: %s"):format(piece, text))
  end
end

local function echoed(quote)
  local c = userupd.questionpro{ api_key = KEY, rate = 0, retries = 0,
    transport = function()
      return 400, '{"response":{"error":{"id":1002,"message":"' ..
                  quote .. '"}}}', {}
    end }
  local user, err = c:update(100, { firstName = "A", password = PW })
  assert.is_nil(user)
  return err
end

describe("a secret echoed in part", function()
  local cases = {
    { "the password's first 12 characters", "password " ..
      PW:sub(1, 12) .. "... is too weak", PW },
    { "the password without its first 2", "password " .. PW:sub(3) ..
      " is too weak", PW },
    { "10 characters from the password's middle", "password *" ..
      PW:sub(5, 14) .. "* is too weak", PW },
    { "the key's first 14 characters", "invalid key " .. KEY:sub(1, 14) ..
      "***", KEY },
    { "the key's last 10 characters", "invalid key ..." .. KEY:sub(-10),
      KEY },
  }
  for _, case in ipairs(cases) do
    it(case[1] .. " is hidden", function()
      local err = echoed(case[2])
      pieces_absent(tostring(err.message), case[3])
      pieces_absent(tostring(err), case[3])
    end)
  end

  it("an ordinary message is left as it is", function()
    local err = echoed("firstName is too long")
    assert.matches("firstName is too long", err.message, 1, true)
  end)
end)
