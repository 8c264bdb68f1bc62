-- A tiny HTTP proxy for specs: lua tiny_proxy.lua PORT LOG SECONDS
-- Listens on 127.0.0.1:PORT, appends each request line and its headers to
-- LOG, relays CONNECT tunnels (bytes both ways, never read), answers any
-- other request 502 without forwarding it, and exits after SECONDS.
local socket = require "socket"

local port, logpath, life = tonumber(arg[1]), arg[2], tonumber(arg[3]) or 30
local server = assert(socket.bind("127.0.0.1", port))
server:settimeout(0.05)
local deadline = socket.gettime() + life
local pairs_ = {}                        -- tunnel ends: sock -> other

local function log(text)
  local f = assert(io.open(logpath, "ab"))
  f:write(text, "\n")
  f:close()
end

local function head(c)
  c:settimeout(5)
  local lines = {}
  repeat
    local line = c:receive("*l")
    if not line then return nil end
    lines[#lines + 1] = line
  until line == ""
  return lines
end

local function serve(c)
  local lines = head(c)
  if not lines then c:close() return end
  log(table.concat(lines, "\n"))
  local host, p = lines[1]:match("^CONNECT ([^:]+):(%d+) ")
  if not host then
    c:send("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n" ..
           "Connection: close\r\n\r\n")
    c:close()
    return
  end
  local up = socket.tcp()
  up:settimeout(5)
  if not up:connect(host, tonumber(p)) then
    c:send("HTTP/1.1 502 Bad Gateway\r\n\r\n")
    c:close()
    return
  end
  c:send("HTTP/1.1 200 Connection established\r\n\r\n")
  c:settimeout(0)
  up:settimeout(0)
  pairs_[c], pairs_[up] = up, c
end

local function relay()
  local socks = {}
  for s in pairs(pairs_) do socks[#socks + 1] = s end
  if #socks == 0 then return end
  local ready = socket.select(socks, nil, 0.02)
  for _, s in ipairs(ready) do
    local other = pairs_[s]
    local data, err, part = s:receive(65536)
    data = data or part
    if data and #data > 0 and other then other:send(data) end
    if err == "closed" then
      s:close()
      if other then other:close() end
      pairs_[s] = nil
      if other then pairs_[other] = nil end
    end
  end
end

while socket.gettime() < deadline do
  local c = server:accept()
  if c then serve(c) end
  relay()
end
