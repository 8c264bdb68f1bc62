-- Helpers shared by the specs: fixtures, JSON text, deep comparison.
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/support/util%.lua$")
M.spec_dir = here or "spec"
M.root = M.spec_dir:match("^(.*)/spec$") or "."

function M.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- A file's bytes, or nil when it does not exist (pid files, logs).
function M.read_if(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- A fresh path for a journal (nothing there yet).
function M.tmpdb()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".db"
end

-- Removes a journal and the files SQLite and the writer lock keep by it.
function M.remove_db(db)
  for _, s in ipairs({ "", "-wal", "-shm", ".lock" }) do os.remove(db .. s) end
end

-- The sqlite3 shell's output (stderr too) for sql run on db.
function M.sqlite(db, sql)
  local p = assert(io.popen(("sqlite3 %s %s 2>&1"):format(M.q(db), M.q(sql))))
  local out = p:read("*a")
  p:close()
  return out
end

function M.write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- A shell word: s in single quotes.
function M.q(s) return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'" end

-- Whether process pid still runs.
function M.alive(pid)
  local r = os.execute(("kill -0 %d 2>/dev/null"):format(pid))
  return r == true or r == 0
end

function M.fixture(name)
  return M.read(M.spec_dir .. "/fixtures/" .. name)
end

-- JSON text without the whitespace between tokens (strings untouched).
function M.minify(s)
  local out, i, n, instr = {}, 1, #s, false
  while i <= n do
    local ch = s:sub(i, i)
    if instr then
      out[#out + 1] = ch
      if ch == "\\" then
        out[#out + 1] = s:sub(i + 1, i + 1)
        i = i + 1
      elseif ch == '"' then
        instr = false
      end
    elseif ch == '"' then
      instr = true
      out[#out + 1] = ch
    elseif not ch:match("%s") then
      out[#out + 1] = ch
    end
    i = i + 1
  end
  return table.concat(out)
end

-- Deep equality of decoded JSON values (tables compared key by key).
function M.same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then
    return a == b
  end
  for k, v in pairs(a) do
    if not M.same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- The Lua that runs this spec, for child processes.
function M.lua()
  local i = -1
  while arg and arg[i - 1] do i = i - 1 end
  return arg and arg[i] or "lua5.4"
end

return M
