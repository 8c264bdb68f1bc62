-- userupd.transport.ngx: an HTTP/1.1 transport over nginx cosockets, so a
-- userupd client can run inside OpenResty / ngx_lua without blocking the
-- worker (libcurl would).
--
--   local userupd = require "userupd"
--   local ngxt = require "userupd.transport.ngx"
--   local c = userupd.questionpro(ngxt.options{ api_key = key })
--   local user, err, info = c:update(1234599, { firstName = "Ada" })
--
-- M.request(req) is the transport: req = { method, url, headers, body,
-- timeout, connect_timeout, max_response } (seconds, bytes), and it returns
-- status, body, headers (lower-case names) or nil, message.  M.sleep is
-- ngx.sleep.  Both need a context where cosockets work (content, access,
-- rewrite, timer phases; not init_by_lua or header/body filters).
--
-- TLS: the certificate is always verified (sslhandshake with verify on),
-- against the CA bundle nginx's `lua_ssl_trusted_certificate` directive
-- names.  Without that directive ngx_lua trusts no CA at all and every
-- https call fails ("unable to get local issuer certificate").  Use
--   lua_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
--   lua_ssl_verify_depth 5;          # the default, 1, is too short for
--                                    # most public chains
-- The client's own `ca_file` option is not used on this path.  Host names
-- are checked against the certificate's DNS names; nginx cannot match an IP
-- address SAN, so an https URL with an IP literal fails verification: use a
-- host name.
--
-- Names: nginx resolves host names only with a `resolver` directive in its
-- configuration (e.g. `resolver 127.0.0.53 ipv6=off;`).  "localhost" is
-- connected to 127.0.0.1 directly (while TLS still checks "localhost").
--
-- Connections are kept alive in a per-worker pool per scheme + host + port
-- (M.keepalive_timeout, M.pool_size) unless the answer said
-- `Connection: close`, the body ran until close, or anything failed.
--
-- Messages never carry the request's path, query, headers or body: they
-- hold credentials (QuestionPro's apiKey sits in the query string).  Their
-- wording follows the contract the C core reads: "timeout", "refused",
-- "certificate"/"handshake" (not retried), anything else (closed, reset)
-- a dropped connection.

local ngx = ngx
local tcp = ngx.socket.tcp
local concat, tonumber, type, pairs = table.concat, tonumber, type, pairs
local floor = math.floor

local M = {}

M.keepalive_timeout = 20      -- seconds an idle pooled connection is kept
M.pool_size = 32              -- idle connections kept per pool, per worker
M.max_header_bytes = 64 * 1024
M.max_header_lines = 200

-- TLS sessions to resume, per pool name (per worker).
local sessions = {}

---------------------------------------------------------------------------
-- URL

-- scheme, host (no brackets), port, target (path + query), authority
-- (for the Host header) -- or nil, message.  The message never quotes the
-- URL: its query may hold a key.
local function parse_url(url)
  if type(url) ~= "string" then return nil, "no URL" end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "malformed URL" end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then
    return nil, "unsupported URL scheme " .. scheme
  end
  local authority, target = rest:match("^([^/?#]*)(.*)$")
  target = target:gsub("#.*$", "")
  if target == "" then
    target = "/"
  elseif target:sub(1, 1) == "?" then
    target = "/" .. target
  end
  if authority:find("@", 1, true) then
    return nil, "user info in URLs is not supported"
  end
  local host, port
  if authority:sub(1, 1) == "[" then             -- [v6 literal]:port
    host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$")
  else
    host, port = authority:match("^([^:]+):?(%d*)$")
  end
  if not host or host == "" then return nil, "malformed URL host" end
  local nport = port ~= "" and tonumber(port) or
                (scheme == "https" and 443 or 80)
  if not nport or nport < 1 or nport > 65535 then
    return nil, "malformed URL port"
  end
  return scheme, host:lower(), nport, target, authority
end

---------------------------------------------------------------------------
-- Reading

-- Sets the send and read timeouts to what is left until the deadline (the
-- request's timeout covers the whole exchange, as libcurl's does); false
-- once it has passed.
local function arm(sock, connect_ms, deadline)
  ngx.update_time()
  local left = floor((deadline - ngx.now()) * 1000)
  if left <= 0 then return false end
  sock:settimeouts(connect_ms, left, left)
  return true
end

-- One CRLF-terminated line (without the CRLF), at most max bytes; on
-- failure nil, message, and how many bytes had arrived.
local function read_line(sock, max, what)
  local reader = sock:receiveuntil("\r\n")
  local parts, n = {}, 0
  -- every round takes at least one byte or ends, and at most max + 1 bytes
  -- are taken: bounded.
  while true do
    local data, err, partial = reader(256)
    if err then return nil, err, n + #(partial or "") end
    if not data then break end
    n = n + #data
    if n > max then return nil, what .. " too long" end
    parts[#parts + 1] = data
  end
  return concat(parts)
end

-- Status and headers.  Header names are lower-cased; repeated headers are
-- joined with ", ".  On failure: nil, message, and true when not a byte of
-- the answer had arrived.
local function read_head(sock, deadline, connect_ms)
  local status, line, err, closes, got
  local headers = {}
  -- 1xx interim answers (100 Continue) come before the real one: skip a
  -- few of them.
  for round = 1, 5 do
    if not arm(sock, connect_ms, deadline) then return nil, "timeout" end
    line, err, got = read_line(sock, 8192, "status line")
    if not line then return nil, err, round == 1 and got == 0 end
    local version, code = line:match("^HTTP/(%d%.%d) (%d%d%d)")
    if not code then return nil, "malformed answer (no HTTP status line)" end
    status = tonumber(code)
    closes = version == "1.0"
    headers = {}
    local total = #line
    for i = 1, M.max_header_lines + 1 do
      if i > M.max_header_lines then return nil, "too many header lines" end
      if not arm(sock, connect_ms, deadline) then return nil, "timeout" end
      line, err = read_line(sock, M.max_header_bytes, "header line")
      if not line then return nil, err end
      if line == "" then break end
      total = total + #line
      if total > M.max_header_bytes then return nil, "headers too long" end
      local name, value = line:match("^([^:%s]+):[ \t]*(.-)[ \t]*$")
      if name then
        name = name:lower()
        local old = headers[name]
        headers[name] = old and (old .. ", " .. value) or value
      end
    end
    if status >= 200 then break end
  end
  if status < 200 then return nil, "malformed answer (only 1xx)" end
  local conn = (headers["connection"] or ""):lower()
  if conn:find("close", 1, true) then
    closes = true
  elseif conn:find("keep-alive", 1, true) then
    closes = false
  end
  return status, headers, closes
end

-- Exactly n bytes, or fewer when the connection ends (then an error).
local function read_exact(sock, n, deadline, connect_ms)
  if n == 0 then return "" end
  if not arm(sock, connect_ms, deadline) then return nil, "timeout" end
  local data, err = sock:receive(n)
  if not data then return nil, err end
  return data
end

-- The body, and whether the connection can be reused.  A body over
-- max_response is cut at max_response + 1 bytes (the core then reports
-- "larger than max_response"), and the connection is dropped.
local function read_body(sock, method, status, headers, max, deadline,
                         connect_ms)
  if method == "HEAD" or status == 204 or status == 304 then
    return "", true
  end
  local te = (headers["transfer-encoding"] or ""):lower()
  if te ~= "" and te ~= "identity" then
    if not te:find("chunked", 1, true) then
      return nil, "unsupported transfer encoding"
    end
    local parts, got = {}, 0
    -- each round reads one chunk of at least one byte, and stops past
    -- max + 1 bytes: bounded.
    while true do
      if not arm(sock, connect_ms, deadline) then return nil, "timeout" end
      local line, err = read_line(sock, 1024, "chunk size line")
      if not line then return nil, err end
      local size = tonumber(line:match("^%s*(%x+)"), 16)
      if not size then return nil, "malformed chunk size" end
      if size == 0 then break end
      local want = size
      if got + want > max + 1 then want = max + 1 - got end
      local data
      data, err = read_exact(sock, want, deadline, connect_ms)
      if not data then return nil, err end
      parts[#parts + 1] = data
      got = got + #data
      if got > max then return concat(parts), false end
      data, err = read_exact(sock, 2, deadline, connect_ms)
      if not data then return nil, err end
      if data ~= "\r\n" then return nil, "malformed chunk" end
    end
    -- trailers, up to the empty line
    for _ = 1, M.max_header_lines do
      if not arm(sock, connect_ms, deadline) then return nil, "timeout" end
      local line, err = read_line(sock, M.max_header_bytes, "trailer line")
      if not line then return nil, err end
      if line == "" then return concat(parts), true end
    end
    return nil, "too many trailer lines"
  end
  local cl = headers["content-length"]
  if cl then
    local len = tonumber(cl:match("^%s*(%d+)%s*$"))
    if not len then return nil, "malformed Content-Length" end
    if len > max then
      local data, err = read_exact(sock, max + 1, deadline, connect_ms)
      if not data then return nil, err end
      return data, false
    end
    local data, err = read_exact(sock, len, deadline, connect_ms)
    if not data then return nil, err end
    return data, true
  end
  -- neither: the body runs until the server closes
  local parts, got = {}, 0
  -- each round takes at least one byte or ends; at most max + 1 bytes
  -- in all: bounded.
  while got <= max do
    if not arm(sock, connect_ms, deadline) then return nil, "timeout" end
    local data, err = sock:receiveany(max + 1 - got)
    if not data then
      if err == "closed" then break end
      return nil, err
    end
    parts[#parts + 1] = data
    got = got + #data
  end
  return concat(parts), false
end

---------------------------------------------------------------------------
-- The transport

local function fail(sock, msg)
  if sock then sock:close() end
  return nil, msg
end

local function header_ok(s)
  return type(s) == "string" and not s:find("[\r\n%z]")
end

-- One exchange on one connection: status, body, headers, or nil, message,
-- nil, stale (true when a reused connection died before any answer).
local function exchange(conn, request, method, max)
  local where, connect_ms, deadline = conn.where, conn.connect_ms,
                                      conn.deadline
  local sock, err = tcp()
  if not sock then return nil, "cannot create a socket: " .. tostring(err) end
  if not arm(sock, connect_ms, deadline) then
    return fail(sock, "timeout before connecting")
  end
  local ok
  ok, err = sock:connect(conn.addr, conn.port, { pool = conn.pool })
  if not ok then
    -- ngx_lua says "connection refused", "timeout", "... could not be
    -- resolved": all words the core understands.
    return fail(sock, "connect to " .. where .. ": " .. tostring(err))
  end
  local reused = (sock:getreusedtimes() or 0) > 0
  if conn.https and not reused then
    -- pcall: when the host name check fails before the handshake had to
    -- wait (seen with an IP literal on loopback), resty.core 0.1.25 raises
    -- "assertion failed!" instead of returning the error.
    local done, session
    done, session, err = pcall(sock.sslhandshake, sock, sessions[conn.pool],
                               conn.host, true)
    if not done then
      return fail(sock, "TLS handshake with " .. where .. " failed: " ..
                  "certificate verify failed (host name mismatch?)")
    end
    if not session then
      err = tostring(err)
      if err:find("timeout", 1, true) then
        return fail(sock, "TLS setup with " .. where .. ": timeout")
      elseif err:find("closed", 1, true) or err:find("reset", 1, true) then
        -- a dropped connection, worth a retry
        return fail(sock, "TLS setup with " .. where ..
                    ": connection " .. err)
      end
      -- verification and protocol failures: not retried
      return fail(sock, "TLS handshake with " .. where .. " failed: " .. err)
    end
    if type(session) == "userdata" or type(session) == "cdata" then
      sessions[conn.pool] = session
    end
  end

  if not arm(sock, connect_ms, deadline) then
    return fail(sock, "timeout before sending")
  end
  local sent
  sent, err = sock:send(request)
  if not sent then
    local _, msg = fail(sock, "send to " .. where .. ": " .. tostring(err))
    return nil, msg, nil, reused and err ~= "timeout"
  end

  local status, headers, closes = read_head(sock, deadline, connect_ms)
  if not status then
    local _, msg = fail(sock, "receive from " .. where .. ": " ..
                              tostring(headers))
    return nil, msg, nil, reused and closes == true and headers ~= "timeout"
  end
  local data, reusable = read_body(sock, method, status, headers, max,
                                   deadline, connect_ms)
  if not data then
    return fail(sock, "receive from " .. where .. ": " .. tostring(reusable))
  end
  if reusable and not closes then
    local kept = sock:setkeepalive(floor(M.keepalive_timeout * 1000),
                                   M.pool_size)
    if not kept then sock:close() end
  else
    sock:close()
  end
  return status, data, headers
end

function M.request(req)
  local scheme, host, port, target, authority = parse_url(req.url)
  if not scheme then return nil, host end
  local where = (host:find(":", 1, true) and "[" .. host .. "]" or host) ..
                ":" .. port
  local timeout = tonumber(req.timeout) or 30
  local connect_ms = floor((tonumber(req.connect_timeout) or 10) * 1000)
  if connect_ms < 1 then connect_ms = 1 end
  local max = tonumber(req.max_response) or 8 * 1024 * 1024
  local body = req.body
  local method = req.method or "GET"
  if body ~= nil and type(body) ~= "string" then
    error("userupd.transport.ngx: req.body must be a string or nil", 2)
  end

  -- The request head; the core builds the headers, but make sure none
  -- could split the request.
  local lines = { method .. " " .. target .. " HTTP/1.1" }
  local has_host = false
  for name, value in pairs(req.headers or {}) do
    value = tostring(value)
    if not header_ok(name) or not header_ok(value) or name:find("[:%s]") then
      error("userupd.transport.ngx: header '" ..
            tostring(name):gsub("[%c]", "?") .. "' is not valid", 2)
    end
    local lname = name:lower()
    if lname == "host" then has_host = true end
    if lname ~= "content-length" and lname ~= "connection" and
       lname ~= "transfer-encoding" then
      lines[#lines + 1] = name .. ": " .. value
    end
  end
  if not has_host then
    local default = scheme == "https" and 443 or 80
    local h = authority:match("^(.-):%d*$") or authority
    if port ~= default then h = h .. ":" .. port end
    lines[#lines + 1] = "Host: " .. h
  end
  if body then
    lines[#lines + 1] = "Content-Length: " .. #body
  elseif method == "PUT" or method == "POST" or method == "PATCH" then
    lines[#lines + 1] = "Content-Length: 0"
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = body or ""
  local request = concat(lines, "\r\n")

  ngx.update_time()
  local deadline = ngx.now() + timeout
  local pool = scheme .. "://" .. where
  local addr = host == "localhost" and "127.0.0.1" or host
  if addr:find(":", 1, true) then addr = "[" .. addr .. "]" end
  local conn = { addr = addr, port = port, host = host, where = where,
                 pool = pool, https = scheme == "https",
                 connect_ms = connect_ms, deadline = deadline }
  -- A pooled connection the server has meanwhile closed fails before a
  -- byte of the answer arrives: then try once more, as libcurl does.  Any
  -- other failure goes back to the core, which decides about retries.
  local status, data, headers, stale
  for _ = 1, 2 do
    status, data, headers, stale = exchange(conn, request, method, max)
    if not stale then break end
  end
  return status, data, headers
end

M.sleep = function(seconds) return ngx.sleep(seconds) end

-- options{...} -> the same table with transport and sleep filled in (those
-- already given are kept).
function M.options(t)
  t = t or {}
  if t.transport == nil then t.transport = M.request end
  if t.sleep == nil then t.sleep = M.sleep end
  return t
end

return M
