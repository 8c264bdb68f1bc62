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
-- status, body, headers (lower-case names) or nil, message, kind; then, for
-- the client's on_attempt hook, a table telling how the exchange went:
-- reused (the connection came from the pool) and the seconds from the start
-- until the connection was made (connect), TLS was set up (tls), the first
-- byte of the answer came (first_byte) and the end (total), as libcurl
-- counts them; there is no dns (nginx resolves inside connect).  M.sleep is
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
-- The client's own `ca_file` option cannot be honoured on this path, so a
-- client given one is refused (below).  Host names
-- are checked against the certificate's DNS names; nginx cannot match an IP
-- address SAN, so an https URL with an IP literal fails verification: use a
-- host name.
--
-- Names: nginx resolves host names only with a `resolver` directive in its
-- configuration (e.g. `resolver 127.0.0.53 ipv6=off;`).  "localhost" is
-- connected to 127.0.0.1 directly (while TLS still checks "localhost").
--
-- The client's connection options come in the request (req.proxy,
-- req.ca_file, req.http_version).  Cosockets cannot go through an HTTP
-- proxy, verify against a CA file of their own, or speak HTTP/2, so this
-- transport refuses a request carrying a proxy, a ca_file or an
-- http_version other than "1.1" (kind "url", not retried), and
-- M.options{...} refuses such options when the client is made: never a
-- silent drop.
--
-- Connections are kept alive in a per-worker pool per scheme + host + port
-- (M.keepalive_timeout, M.pool_size) unless the answer said
-- `Connection: close`, the body ran until close, or anything failed.
--
-- Messages never carry the request's path, query, headers or body: they
-- hold credentials (QuestionPro's apiKey sits in the query string).  The
-- core reads the kind, never the message: "timeout", "refused", "resolve",
-- "closed" (dropped or reset: all retried), "tls", "protocol" (a malformed
-- answer) and "url" (none retried).

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
-- Failures: nil, message, kind, with kind from the core's fixed list
-- (timeout refused resolve tls closed protocol url).

-- What a cosocket error amounts to.  ngx_lua's words are "timeout",
-- "connection refused", "... could not be resolved ...", "closed" and
-- system errors ("connection reset by peer").
local function sock_kind(err)
  err = tostring(err)
  if err == "timeout" then return "timeout" end
  if err:find("refused", 1, true) then return "refused" end
  if err:find("resolve", 1, true) then return "resolve" end
  return "closed"
end

local function timeout() return nil, "timeout", "timeout" end

-- Notes in conn.transfer the seconds since the exchange began, as step.
local function mark(conn, step)
  ngx.update_time()
  conn.transfer[step] = ngx.now() - conn.t0
end

---------------------------------------------------------------------------
-- Reading.  conn carries connect_ms and the deadline of the exchange.

-- Sets the send and read timeouts to what is left until the deadline (the
-- request's timeout covers the whole exchange, as libcurl's does); false
-- once it has passed.
local function arm(sock, conn)
  ngx.update_time()
  local left = floor((conn.deadline - ngx.now()) * 1000)
  if left <= 0 then return false end
  sock:settimeouts(conn.connect_ms, left, left)
  return true
end

-- One CRLF-terminated line (without the CRLF), at most max bytes; on
-- failure nil, message, kind, and how many bytes had arrived.
local function read_line(sock, conn, max, what)
  if not arm(sock, conn) then return timeout() end
  local reader = sock:receiveuntil("\r\n")
  local parts, n = {}, 0
  -- every round takes at least one byte or ends, and at most max + 1 bytes
  -- are taken: bounded.
  while true do
    local data, err, partial = reader(256)
    if err then return nil, err, sock_kind(err), n + #(partial or "") end
    if not data then break end
    n = n + #data
    if n > max then return nil, what .. " too long", "protocol" end
    parts[#parts + 1] = data
  end
  return concat(parts)
end

-- The header lines up to the empty one into a table (names lower-cased,
-- repeats joined with ", "); total counts the bytes so far.
local function read_header_lines(sock, conn, total)
  local headers = {}
  for _ = 1, M.max_header_lines do
    local line, err, kind = read_line(sock, conn, M.max_header_bytes,
                                      "header line")
    if not line then return nil, err, kind end
    if line == "" then return headers end
    total = total + #line
    if total > M.max_header_bytes then
      return nil, "headers too long", "protocol"
    end
    local name, value = line:match("^([^:%s]+):[ \t]*(.-)[ \t]*$")
    if name then
      name = name:lower()
      local old = headers[name]
      headers[name] = old and (old .. ", " .. value) or value
    end
  end
  return nil, "too many header lines", "protocol"
end

-- Whether the server will close after this answer.
local function closes_after(version, headers)
  local conn = (headers["connection"] or ""):lower()
  if conn:find("close", 1, true) then return true end
  if conn:find("keep-alive", 1, true) then return false end
  return version == "1.0"
end

-- Status, headers and whether the server closes.  On failure: nil,
-- message, kind, and true when not a byte of the answer had arrived.
local function read_head(sock, conn)
  -- 1xx interim answers (100 Continue) come before the real one: skip a
  -- few of them.
  for round = 1, 5 do
    local line, err, kind, got = read_line(sock, conn, 8192, "status line")
    if not line then return nil, err, kind, round == 1 and got == 0 end
    local version, code = line:match("^HTTP/(%d%.%d) (%d%d%d)")
    if not code then
      return nil, "malformed answer (no HTTP status line)", "protocol"
    end
    local headers
    headers, err, kind = read_header_lines(sock, conn, #line)
    if not headers then return nil, err, kind end
    if tonumber(code) >= 200 then
      return tonumber(code), headers, closes_after(version, headers)
    end
  end
  return nil, "malformed answer (only 1xx)", "protocol"
end

-- Exactly n bytes, or fewer when the connection ends (then an error).
local function read_exact(sock, conn, n)
  if n == 0 then return "" end
  if not arm(sock, conn) then return timeout() end
  local data, err = sock:receive(n)
  if not data then return nil, err, sock_kind(err) end
  return data
end

-- Chunk trailers, up to the empty line.
local function read_trailers(sock, conn)
  for _ = 1, M.max_header_lines do
    local line, err, kind = read_line(sock, conn, M.max_header_bytes,
                                      "trailer line")
    if not line then return nil, err, kind end
    if line == "" then return true end
  end
  return nil, "too many trailer lines", "protocol"
end

-- One chunk of at most want bytes and its CRLF; got is the body so far.
local function read_chunk(sock, conn, size, got, max)
  local want = size
  if got + want > max + 1 then want = max + 1 - got end
  local data, err, kind = read_exact(sock, conn, want)
  if not data then return nil, err, kind end
  if got + #data > max then return data end
  local crlf
  crlf, err, kind = read_exact(sock, conn, 2)
  if not crlf then return nil, err, kind end
  if crlf ~= "\r\n" then return nil, "malformed chunk", "protocol" end
  return data
end

-- A chunked body: body, reusable.
local function read_chunked(sock, conn, max)
  local parts, got = {}, 0
  -- each round reads one chunk of at least one byte, and stops past
  -- max + 1 bytes: bounded.
  while true do
    local line, err, kind = read_line(sock, conn, 1024, "chunk size line")
    if not line then return nil, err, kind end
    local size = tonumber(line:match("^%s*(%x+)"), 16)
    if not size then return nil, "malformed chunk size", "protocol" end
    if size == 0 then break end
    local data
    data, err, kind = read_chunk(sock, conn, size, got, max)
    if not data then return nil, err, kind end
    parts[#parts + 1] = data
    got = got + #data
    if got > max then return concat(parts), false end
  end
  local ok, err, kind = read_trailers(sock, conn)
  if not ok then return nil, err, kind end
  return concat(parts), true
end

-- A body of Content-Length bytes: body, reusable.
local function read_sized(sock, conn, cl, max)
  local len = tonumber(cl:match("^%s*(%d+)%s*$"))
  if not len then return nil, "malformed Content-Length", "protocol" end
  local data, err, kind = read_exact(sock, conn, len > max and max + 1
                                                            or len)
  if not data then return nil, err, kind end
  return data, len <= max
end

-- A body that runs until the server closes: body, false.
local function read_until_close(sock, conn, max)
  local parts, got = {}, 0
  -- each round takes at least one byte or ends; at most max + 1 bytes
  -- in all: bounded.
  while got <= max do
    if not arm(sock, conn) then return timeout() end
    local data, err = sock:receiveany(max + 1 - got)
    if not data then
      if err == "closed" then break end
      return nil, err, sock_kind(err)
    end
    parts[#parts + 1] = data
    got = got + #data
  end
  return concat(parts), false
end

-- The body, and whether the connection can be reused.  A body over
-- max_response is cut at max_response + 1 bytes (the core then reports
-- "larger than max_response"), and the connection is dropped.
local function read_body(sock, conn, status, headers, max)
  if conn.method == "HEAD" or status == 204 or status == 304 then
    return "", true
  end
  local te = (headers["transfer-encoding"] or ""):lower()
  if te ~= "" and te ~= "identity" then
    if not te:find("chunked", 1, true) then
      return nil, "unsupported transfer encoding", "protocol"
    end
    return read_chunked(sock, conn, max)
  end
  if headers["content-length"] then
    return read_sized(sock, conn, headers["content-length"], max)
  end
  return read_until_close(sock, conn, max)
end

---------------------------------------------------------------------------
-- The transport

local function fail(sock, msg, kind, stale)
  if sock then sock:close() end
  return nil, msg, kind, stale
end

local function header_ok(s)
  return type(s) == "string" and not s:find("[\r\n%z]")
end

-- TLS on a fresh connection, resuming the pool's session: true, or nil,
-- message, kind.
local function handshake(sock, conn)
  local where = conn.where
  -- pcall: when the host name check fails before the handshake had to
  -- wait (seen with an IP literal on loopback), resty.core 0.1.25 raises
  -- "assertion failed!" instead of returning the error.
  local done, session, err = pcall(sock.sslhandshake, sock,
                                   sessions[conn.pool], conn.host, true)
  if not done then
    return nil, "TLS handshake with " .. where .. " failed: " ..
                "certificate verify failed (host name mismatch?)", "tls"
  end
  if not session then
    err = tostring(err)
    if err:find("timeout", 1, true) then
      return nil, "TLS setup with " .. where .. ": timeout", "timeout"
    elseif err:find("closed", 1, true) or err:find("reset", 1, true) then
      -- a dropped connection, worth a retry
      return nil, "TLS setup with " .. where .. ": connection " .. err,
             "closed"
    end
    -- verification and protocol failures: not retried
    return nil, "TLS handshake with " .. where .. " failed: " .. err, "tls"
  end
  if type(session) == "userdata" or type(session) == "cdata" then
    sessions[conn.pool] = session
  end
  return true
end

-- A connected socket (TLS set up), and whether it came from the pool; or
-- nil, message, kind.
local function open(conn)
  local sock, err = tcp()
  if not sock then
    return nil, "cannot create a socket: " .. tostring(err), "closed"
  end
  if not arm(sock, conn) then
    return fail(sock, "timeout before connecting", "timeout")
  end
  local ok, kind
  ok, err = sock:connect(conn.addr, conn.port, { pool = conn.pool })
  if not ok then
    return fail(sock, "connect to " .. conn.where .. ": " .. tostring(err),
                sock_kind(err))
  end
  local reused = (sock:getreusedtimes() or 0) > 0
  conn.transfer.reused = reused
  mark(conn, "connect")
  conn.transfer.tls = 0                  -- none, as libcurl says
  if conn.https and not reused then
    ok, err, kind = handshake(sock, conn)
    if not ok then return fail(sock, err, kind) end
    mark(conn, "tls")
  end
  return sock, reused
end

-- Keeps the connection for the next exchange, or closes it.
local function release(sock, keep)
  if keep and sock:setkeepalive(floor(M.keepalive_timeout * 1000),
                                M.pool_size) then
    return
  end
  sock:close()
end

-- One exchange on one connection: status, body, headers, or nil, message,
-- kind, stale (true when a reused connection died before any answer).
local function exchange(conn, request, max)
  local sock, reused, kind = open(conn)
  if not sock then return nil, reused, kind end
  if not arm(sock, conn) then
    return fail(sock, "timeout before sending", "timeout")
  end
  local sent, err = sock:send(request)
  if not sent then
    return fail(sock, "send to " .. conn.where .. ": " .. tostring(err),
                sock_kind(err), reused and err ~= "timeout")
  end
  local status, headers, closes, fresh = read_head(sock, conn)
  mark(conn, "first_byte")
  if not status then
    return fail(sock, "receive from " .. conn.where .. ": " ..
                tostring(headers), closes, reused and fresh == true and
                closes ~= "timeout")
  end
  local data, reusable
  data, reusable, kind = read_body(sock, conn, status, headers, max)
  if not data then
    return fail(sock, "receive from " .. conn.where .. ": " ..
                tostring(reusable), kind)
  end
  release(sock, reusable and not closes)
  return status, data, headers
end

-- The request head and body as one string.  The core builds the headers,
-- but make sure none could split the request.
local function build_head(req, u)
  local method = req.method or "GET"
  local lines, has_host = { method .. " " .. u.target .. " HTTP/1.1" }, false
  for name, value in pairs(req.headers or {}) do
    value = tostring(value)
    if not header_ok(name) or not header_ok(value) or name:find("[:%s]") then
      error("userupd.transport.ngx: header '" ..
            tostring(name):gsub("[%c]", "?") .. "' is not valid", 3)
    end
    local lname = name:lower()
    if lname == "host" then has_host = true end
    if lname ~= "content-length" and lname ~= "connection" and
       lname ~= "transfer-encoding" then
      lines[#lines + 1] = name .. ": " .. value
    end
  end
  if not has_host then
    local h = u.authority:match("^(.-):%d*$") or u.authority
    if u.port ~= (u.scheme == "https" and 443 or 80) then
      h = h .. ":" .. u.port
    end
    lines[#lines + 1] = "Host: " .. h
  end
  if req.body then
    lines[#lines + 1] = "Content-Length: " .. #req.body
  elseif method == "PUT" or method == "POST" or method == "PATCH" then
    lines[#lines + 1] = "Content-Length: 0"
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = req.body or ""
  return concat(lines, "\r\n")
end

-- Where and how long: what every step of the exchange reads.
local function connection(req, u)
  local where = (u.host:find(":", 1, true) and "[" .. u.host .. "]"
                 or u.host) .. ":" .. u.port
  local connect_ms = floor((tonumber(req.connect_timeout) or 10) * 1000)
  local addr = u.host == "localhost" and "127.0.0.1" or u.host
  if addr:find(":", 1, true) then addr = "[" .. addr .. "]" end
  ngx.update_time()
  return { addr = addr, port = u.port, host = u.host, where = where,
           t0 = ngx.now(), transfer = {},
           pool = u.scheme .. "://" .. where, https = u.scheme == "https",
           method = req.method or "GET",
           connect_ms = connect_ms < 1 and 1 or connect_ms,
           deadline = ngx.now() + (tonumber(req.timeout) or 30) }
end

-- The client options this transport cannot honour: name, why; or nil.
local function unsupported(t)
  if t.proxy ~= nil then
    return "proxy", "nginx cosockets cannot go through an HTTP proxy " ..
      "(leave proxy out, or use libcurl outside nginx)"
  end
  if t.ca_file ~= nil then
    return "ca_file", "nginx verifies against the CA bundle its " ..
      "lua_ssl_trusted_certificate directive names; put the CA there and " ..
      "leave ca_file out"
  end
  if t.http_version ~= nil and t.http_version ~= "1.1" then
    return "http_version", "this transport speaks HTTP/1.1 only (use " ..
      "\"1.1\" or leave it out)"
  end
end

function M.request(req)
  local name, why = unsupported(req)
  if name then
    return nil, "userupd.transport.ngx cannot honour the client's " ..
      name .. " option: " .. why, "url"
  end
  local u = {}
  u.scheme, u.host, u.port, u.target, u.authority = parse_url(req.url)
  if not u.scheme then return nil, u.host, "url" end
  if req.body ~= nil and type(req.body) ~= "string" then
    error("userupd.transport.ngx: req.body must be a string or nil", 2)
  end
  local request = build_head(req, u)
  local conn = connection(req, u)
  local max = tonumber(req.max_response) or 8 * 1024 * 1024
  -- A pooled connection the server has meanwhile closed fails before a
  -- byte of the answer arrives: then try once more, as libcurl does.  Any
  -- other failure goes back to the core, which decides about retries.
  local status, data, headers, stale
  for _ = 1, 2 do
    conn.transfer = {}
    status, data, headers, stale = exchange(conn, request, max)
    if not stale then break end
  end
  mark(conn, "total")
  return status, data, headers, conn.transfer
end

M.sleep = function(seconds) return ngx.sleep(seconds) end

-- options{...} -> the same table with transport and sleep filled in (those
-- already given are kept); raises for a client option this transport
-- cannot honour.
function M.options(t)
  t = t or {}
  local name, why = unsupported(t)
  if name and (t.transport == nil or t.transport == M.request) then
    error("userupd.transport.ngx: cannot honour the client option " ..
          name .. ": " .. why, 2)
  end
  if t.transport == nil then t.transport = M.request end
  if t.sleep == nil then t.sleep = M.sleep end
  return t
end

return M
