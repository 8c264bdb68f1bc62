-- The call loop for clients with a Lua `transport` (OpenResty cosockets, a
-- host's own event loop).  It runs in Lua because such a transport may
-- yield, and a yield cannot cross a C call on Lua 5.1 and LuaJIT.  All the
-- decisions stay in C: this loop only moves requests to the transport and
-- answers back, and waits where C says to.
local methods = ...
local update_c, get_c = methods.update, methods.get

local function drive(c, op, id, fields)
  local transport, sleep = c:_hooks()
  local t0 = c:_now()
  local attempts, relogged = 0, false
  local req, err, info
  while true do
    if c:_needs_login() then
      local lreq = c:_login_request()
      local ok, lerr, linfo = c:_login_answer(transport(lreq))
      if not ok then return nil, lerr, linfo end
      req = nil
    end
    if not req then
      req, err, info = c:_request(op, id, fields)
      if not req then return nil, err, info end
    end
    local wait = c:_pace()
    if wait > 0 then sleep(wait) end
    attempts = attempts + 1
    local status, body, headers = transport(req)
    local verdict, a, b, d = c:_verdict(op, attempts, t0, relogged, status,
                                        body, headers)
    if verdict == "retry" then
      sleep(a)
    elseif verdict == "relogin" then
      relogged, req = true, nil
    else
      return a, b, d
    end
  end
end

function methods.update(c, id, fields, ...)
  if c:_hooks() then return drive(c, "update", id, fields) end
  return update_c(c, id, fields, ...)
end

function methods.get(c, id, ...)
  if c:_hooks() then return drive(c, "get", id) end
  return get_c(c, id, ...)
end
