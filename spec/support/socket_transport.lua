-- A plain HTTP/1.1 transport over LuaSocket, for the specs of the Lua
-- transport path: a real client on a real socket, like the nginx one.
-- transport(req) -> status, body, headers | nil, message, kind
local socket = require "socket"

local M = {}

-- LuaSocket's error words as the core's failure kinds.
local function kind(err)
  err = tostring(err)
  if err == "timeout" then return "timeout" end
  if err:find("refused", 1, true) then return "refused" end
  if err:find("not found", 1, true) then return "resolve" end
  return "closed"
end

local function read_headers(sock)
  local status_line, err = sock:receive("*l")
  if not status_line then return nil, err end
  local status = tonumber(status_line:match("^HTTP/1%.%d (%d%d%d)"))
  local headers = {}
  while true do
    local line, lerr = sock:receive("*l")
    if not line then return nil, lerr end
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.-)%s*$")
    if k then headers[k:lower()] = v end
  end
  return status, headers
end

local function read_body(sock, headers)
  local len = tonumber(headers["content-length"])
  if len then return sock:receive(len) end
  if (headers["transfer-encoding"] or ""):lower() == "chunked" then
    local parts = {}
    while true do
      local size = tonumber((assert(sock:receive("*l"))), 16)
      if size == 0 then sock:receive("*l"); break end
      parts[#parts + 1] = sock:receive(size)
      sock:receive("*l")
    end
    return table.concat(parts)
  end
  return sock:receive("*a")
end

function M.new(hook)
  return function(req)
    if hook then hook(req) end
    local host, port, path = req.url:match("^http://([^:/]+):?(%d*)(/.*)$")
    local sock = socket.tcp()
    sock:settimeout(req.timeout)
    local ok, err = sock:connect(host, tonumber(port) or 80)
    if not ok then return nil, "connect: " .. tostring(err), kind(err) end
    local lines = { req.method .. " " .. path .. " HTTP/1.1",
                    "Host: " .. host, "Connection: close" }
    for k, v in pairs(req.headers) do lines[#lines + 1] = k .. ": " .. v end
    if req.body then
      lines[#lines + 1] = "Content-Length: " .. #req.body
    end
    sock:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (req.body or ""))
    local status, headers = read_headers(sock)
    if not status then
      sock:close()
      return nil, "receive: " .. tostring(headers), kind(headers)
    end
    local body, berr = read_body(sock, headers)
    sock:close()
    if not body then return nil, "receive: " .. tostring(berr), kind(berr) end
    return status, body, headers
  end
end

return M
