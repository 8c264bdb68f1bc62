-- tools/gencli.lua MODULE_DIR: makes the man page userupd.1 and the
-- completion scripts completions/userupd.bash and completions/_userupd
-- from the command's own parser (lua/userupd/cli.lua), so they name every
-- command and flag it has.  The man page is help2man's reading of
-- `userupd --help` and `--version`, plus a COMMANDS section holding each
-- command's --help, and the sections of docs/cli.md listed in DOC_SECTIONS.
-- Run by `make` (Lua 5.4) when the CLI changes; the outputs are committed,
-- so LuaRocks builds need none of this.
-- usage: lua5.4 tools/gencli.lua build/5.4
local moddir = assert(arg[1], "usage: lua5.4 tools/gencli.lua MODULE_DIR")

local root = io.popen("pwd"):read("*l")
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" ..
  package.path
package.cpath = root .. "/" .. moddir .. "/?.so;" .. package.cpath

local function q(s) return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'" end

local function write(path, s)
  local f = assert(io.open(path .. ".tmp", "wb"))
  f:write(s)
  f:close()
  assert(os.rename(path .. ".tmp", path))
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local parser = require("userupd.cli").parser()
os.execute("mkdir -p completions")
write("completions/userupd.bash", parser:get_bash_complete())
write("completions/_userupd", parser:get_zsh_complete())

-- roff text: a backslash is \e, a line may not start with . or '
local function roff(s)
  return (s:gsub("\\", "\\e"):gsub("\n([.'])", "\n\\&%1"):gsub("^([.'])",
                                                              "\\&%1"))
end

-- Headings of docs/cli.md copied into the man page, when the page has them.
local DOC_SECTIONS = { "Exit status", "Exit codes", "Environment", "Files" }

-- One "## heading" section of a markdown page, as roff: code blocks kept
-- as they are, backticks and emphasis marks dropped.
local function doc_section(md, heading)
  local body = md:match("\n## " .. heading:gsub("%p", "%%%0") ..
                        "[^\n]*\n(.-)\n## ")
    or md:match("\n## " .. heading:gsub("%p", "%%%0") .. "[^\n]*\n(.*)$")
  if not body then return nil end
  local out, code = {}, false
  for line in (body .. "\n"):gmatch("(.-)\n") do
    if line:match("^```") then
      code = not code
      out[#out + 1] = code and ".nf" or ".fi"
    elseif code then
      out[#out + 1] = roff(line)
    elseif line == "" then
      out[#out + 1] = ".PP"
    else
      out[#out + 1] = roff((line:gsub("`", ""):gsub("%*%*", "")))
    end
  end
  return table.concat(out, "\n")
end

local function include_file()
  local parts = { "[COMMANDS]" }
  for _, command in ipairs(parser._commands) do
    local name = command._name
    local help = command:get_help()
    parts[#parts + 1] = (".SS \"userupd %s\"\n.nf\n%s\n.fi"):format(name,
                                                                   roff(help))
  end
  local md = read("docs/cli.md") or ""
  for _, heading in ipairs(DOC_SECTIONS) do
    local text = doc_section(md, heading)
    if text then
      parts[#parts + 1] = "[" .. heading:upper() .. "]\n" .. text
    end
  end
  parts[#parts + 1] = "[SEE ALSO]\nThe guide and the reference: docs/ in " ..
    "the source tree (docs/cli.md for this command).  Shell completion: " ..
    "userupd \\-\\-completion bash|zsh|fish."
  return table.concat(parts, "\n") .. "\n"
end

-- help2man runs the command; this wrapper runs the checkout's.
local tmp = os.tmpname()
write(tmp .. ".h2m", include_file())
write(tmp .. ".sh", ("#!/bin/sh\nLUA_PATH=%s LUA_CPATH=%s exec lua5.4 " ..
  "%s \"$@\"\n"):format(q(package.path), q(package.cpath),
                        q(root .. "/bin/userupd")))
os.execute("chmod 755 " .. q(tmp .. ".sh"))
local ok = os.execute(("help2man --no-info --no-discard-stderr --section 1 "
  .. "--name %s --include %s --output userupd.1.tmp %s"):format(
  q("update users at a SaaS vendor from a CSV or JSONL file"),
  q(tmp .. ".h2m"), q(tmp .. ".sh")))
os.remove(tmp)
os.remove(tmp .. ".h2m")
os.remove(tmp .. ".sh")
assert(ok == true or ok == 0, "help2man failed")
-- help2man names the program after the wrapper; it is userupd
local page = read("userupd.1.tmp")
os.remove("userupd.1.tmp")
page = page:gsub(tmp:match("[^/]*$"):gsub("%p", "%%%0") .. "%.sh", "userupd")
write("userupd.1", page)
