-- Runs bin/userupd in a child process, as an operator does, with a clean
-- USERUPD_* environment (a developer's real credentials can neither leak
-- into nor satisfy a test) and the Lua the spec runs under.
--
--   local cli = require "support.clirun"
--   local r = cli.run{ "apply", "questionpro", ...; env = { K = "v" } }
--   r.rc, r.out, r.err
--   cli.tmp(".csv"), cli.write(path, text), cli.slurp(path), cli.cleanup()
local M = {}

-- the Lua running the spec: runspecs' LUA_CPATH holds the module built for it
M.LUA = jit and "luajit" or ("lua" .. _VERSION:match("5%.%d"))

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
M.q = q

local scratch = {}

function M.tmp(suffix)
  local base = os.tmpname()
  scratch[#scratch + 1] = base
  scratch[#scratch + 1] = base .. suffix
  for _, extra in ipairs({ "-wal", "-shm", ".lock" }) do
    scratch[#scratch + 1] = base .. suffix .. extra
  end
  return base .. suffix
end

function M.write(path, content)
  local fh = assert(io.open(path, "wb"))
  fh:write(content)
  fh:close()
  return path
end

function M.slurp(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local s = fh:read("*a")
  fh:close()
  return s
end

function M.exists(path)
  local fh = io.open(path, "rb")
  if fh then fh:close() end
  return fh ~= nil
end

function M.cleanup()
  for _, p in ipairs(scratch) do os.remove(p) end
  scratch = {}
end

function M.command(argv)
  local words, env = {}, {}
  for i, a in ipairs(argv) do words[i] = q(a) end
  for k, v in pairs(argv.env or {}) do env[#env + 1] = k .. "=" .. q(v) end
  return ("for v in $(env | sed -n 's/^\\(USERUPD_[A-Za-z0-9_]*\\)=.*/\\1/p');" ..
          " do unset \"$v\"; done; exec env %s %s bin/userupd %s")
    :format(table.concat(env, " "), M.LUA, table.concat(words, " "))
end

function M.run(argv)
  local err = M.tmp(".err")
  local p = assert(io.popen("(" .. M.command(argv) .. ") 2>" .. err ..
                            " </dev/null; echo \"::rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("::rc=(%d+)%s*$"))
  return { rc = rc, out = out:gsub("::rc=%d+%s*$", ""),
           err = M.slurp(err) or "" }
end

return M
