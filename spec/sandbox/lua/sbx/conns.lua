-- Connections as the server sees them (admin GET /_sandbox/stats): how
-- many distinct connections carried requests, how many TLS handshakes
-- were full and how many resumed a session, how many requests came over
-- HTTP/2.  Counted in log_by_lua, per request, from nginx's own variables:
-- $connection (its serial number; HTTP/2 streams share their connection's),
-- $ssl_session_reused ("r" when the handshake resumed a session) and
-- $server_protocol.  One worker, so serial numbers are unique.
local stats = ngx.shared.sbx_stats

local M = {}

function M.note()
  local var = ngx.var
  if stats:add("conn:" .. var.connection, true) then   -- its first request
    stats:incr("connections", 1, 0)
    if var.https == "on" then
      stats:incr(var.ssl_session_reused == "r" and "tls_resumed" or "tls_full", 1, 0)
    end
  end
  if var.server_protocol == "HTTP/2.0" then stats:incr("h2_requests", 1, 0) end
end

-- The counters, for state.stats().
function M.counts()
  return {
    connections = stats:get("connections") or 0,
    tls_full = stats:get("tls_full") or 0,
    tls_resumed = stats:get("tls_resumed") or 0,
    h2_requests = stats:get("h2_requests") or 0,
  }
end

return M
