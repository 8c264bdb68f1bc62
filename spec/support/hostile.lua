-- A scripted hostile HTTP server on 127.0.0.1, run as a child process
-- (LuaSocket), for answers the sandbox cannot give: a connection closed
-- in the middle of the headers, a megabyte of headers, Retry-After values
-- no sane server sends.
--
--   local hostile = require "support.hostile"
--   local srv = hostile.start(32310, { "HTTP/1.1 503 ...", "HTTP/1.1 200 ..." })
--   ... srv.url ...; srv:requests() -> how many requests it read
--   srv:stop()                          -- kills the child by its PID
--
-- Each connection reads one request and gets the next raw answer of the
-- list (the last one repeats), written as given, then the connection is
-- closed.  The child exits on its own after 20 s idle or 60 s in all, so a
-- spec that dies cannot leave it running.
local util = require "support.util"

local M = {}

local SERVER = [=[
local socket = require "socket"
local port, script, log = tonumber(arg[1]), arg[2], arg[3]
local answers = dofile(script)
local srv = assert(socket.bind("127.0.0.1", port))
srv:settimeout(0.2)
io.stdout:write("ready\n")
io.stdout:flush()
local start, idle, n = os.time(), os.time(), 0
local function read_request(c)
  local len = 0
  while true do
    local line = c:receive("*l")
    if not line then return false end
    if line == "" then break end
    local v = line:lower():match("^content%-length:%s*(%d+)")
    if v then len = tonumber(v) end
  end
  if len > 0 then c:receive(len) end
  return true
end
while os.time() - idle < 20 and os.time() - start < 60 do
  local c = srv:accept()
  if c then
    idle = os.time()
    c:settimeout(5)
    if read_request(c) then
      n = n + 1
      local f = io.open(log, "a")
      f:write("request\n")
      f:close()
      c:send(answers[math.min(n, #answers)])
    end
    c:close()
  end
end
]=]

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local Server = {}
Server.__index = Server

function Server:requests()
  local f = io.open(self.log, "rb")
  if not f then return 0 end
  local s = f:read("*a")
  f:close()
  return select(2, s:gsub("request\n", ""))
end

function Server:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    self.pipe:close()
    self.pid = nil
  end
  os.remove(self.script)
  os.remove(self.log)
  os.remove(self.code)
end

-- start(port, answers) -> server; answers are raw HTTP answer strings.
function M.start(port, answers)
  local base = os.tmpname()
  local self = setmetatable({ script = base .. ".answers.lua",
    log = base .. ".log", code = base .. ".server.lua", port = port,
    url = "http://127.0.0.1:" .. port }, Server)
  os.remove(base)
  local parts = {}
  for i, a in ipairs(answers) do parts[i] = ("%q"):format(a) end
  write(self.script, "return {" .. table.concat(parts, ",\n") .. "}\n")
  write(self.code, SERVER)
  self.pipe = assert(io.popen(("sh -c 'echo $$; exec %s %s %d %s %s'")
    :format(util.lua(), self.code, port, self.script, self.log), "r"))
  self.pid = tonumber(self.pipe:read("*l"))
  assert(self.pipe:read("*l") == "ready", "hostile server did not start")
  return self
end

-- A raw answer: status line, header lines, body (Content-Length added
-- unless headers already hold one or nolength is set).
function M.answer(status, headers, body, nolength)
  local t = { "HTTP/1.1 " .. status .. "\r\n" }
  for _, h in ipairs(headers or {}) do t[#t + 1] = h .. "\r\n" end
  body = body or ""
  if not nolength then
    t[#t + 1] = "Content-Length: " .. #body .. "\r\n"
  end
  t[#t + 1] = "Connection: close\r\n\r\n" .. body
  return table.concat(t)
end

return M
