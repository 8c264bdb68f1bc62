-- userupd.cli.utf8check: is a string UTF-8, and if not, does it look like
-- Windows-1252 (what Excel's plain "CSV" export writes)?  Plain Lua, for
-- 5.1 and LuaJIT too.
local byte = string.byte
local utf8check = {}

-- Length of the UTF-8 sequence starting at i, or nil if it is broken.
local function sequence(s, i)
  local c = byte(s, i)
  local n
  local lo, hi = 0x80, 0xBF
  if c < 0x80 then return 1 end
  if c >= 0xC2 and c <= 0xDF then n = 1
  elseif c >= 0xE0 and c <= 0xEF then
    n = 2
    if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
  elseif c >= 0xF0 and c <= 0xF4 then
    n = 3
    if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
  else
    return nil
  end
  for k = 1, n do
    local b = byte(s, i + k)
    if not b or b < (k == 1 and lo or 0x80) or b > (k == 1 and hi or 0xBF) then
      return nil
    end
  end
  return n + 1
end

-- What to do about it: a hint for the whole file, printed once
-- (userupd.cli.reasons), not once a row.
utf8check.HINT = "the file looks like Windows-1252, as Excel's plain " ..
  "\"CSV\" export writes: save it as \"CSV UTF-8\", or convert it with " ..
  "iconv -f WINDOWS-1252 -t UTF-8"

-- true, or false and why ("is not valid UTF-8 ...").
function utf8check.check(s)
  if not s:find("[\128-\255]") then return true end
  local i, n = 1, #s
  while i <= n do
    local len = sequence(s, i)
    if not len then
      return false, ("is not valid UTF-8 (byte %d); %s"):format(i,
                                                            utf8check.HINT)
    end
    i = i + len
  end
  return true
end

return utf8check
