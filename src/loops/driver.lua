-- The call loop for clients with a Lua `transport` (OpenResty cosockets, a
-- host's own event loop): their metatable's update and get.  It runs in Lua
-- because such a transport may yield, and a yield cannot cross a C call on
-- Lua 5.1 and LuaJIT.  All the decisions stay in C: this loop only moves
-- requests to the transport and answers back, and waits where C says to.
-- A transport answers status, body, headers, or fails with nil, message,
-- kind (kind from a fixed list, src/loops/driver.c): either way the three values
-- go to C as they came.  A fourth value, a table, may tell how the transfer
-- went (reused, dns, connect, tls, first_byte, total): on_attempt gets it.
local methods = ...

-- Every hook may close the client (or drop it: the loop holds it, so it
-- stays until the call ends).  After each one the loop looks, and a closed
-- client ends the call with a transport error that says so.
local function closed(c, op, attempts, t0)
  if c:_closed() then return true, c:_closed_error(op, attempts, t0) end
  return false
end

-- Logs in, or waits while another coroutine does: nil, or what the call
-- returns (the login's refusal, or the closed client's error).
local function login(c, transport, sleep, op, t0)
  if c:_login_begin() then               -- first in: this one logs in
    local status, body, headers = transport(c:_login_request())
    local gone, cerr, cinfo = closed(c, op, 0, t0)
    if gone then return { nil, cerr, cinfo } end
    local ok, lerr, linfo = c:_login_answer(status, body, headers)
    if not ok then return { nil, lerr, linfo } end
  else                                   -- another coroutine is: wait
    repeat sleep(0.01) until c:_closed() or not c:_login_busy()
    local gone, cerr, cinfo = closed(c, op, 0, t0)
    if gone then return { nil, cerr, cinfo } end
  end
end

-- Attempt n of req, settled by C: "retry", seconds | "relogin" | "done",
-- user, err, info.  on_attempt hears of it here, in Lua, so that it may
-- yield.  A client closed meanwhile makes it "done", nil, err, info.
local function attempt(c, transport, on_attempt, req, op, n, t0, relogged,
                       gen)
  local status, body, headers, transfer = transport(req)
  local gone, err, info = closed(c, op, n, t0)
  if gone then return "done", nil, err, info end
  local verdict, a, b, d = c:_verdict(op, n, t0, relogged, gen, status,
                                      body, headers, req.body)
  if on_attempt then
    on_attempt(c:_attempt(verdict, verdict == "retry" and a or 0, transfer))
    if verdict ~= "done" then
      gone, err, info = closed(c, op, n, t0)
      if gone then return "done", nil, err, info end
    end
  end
  return verdict, a, b, d
end

-- The wait before the next attempt.  A Lua shared_budget store is asked
-- here, in Lua, so that it may yield (lua-resty-redis inside nginx); C
-- checks its answer.
local function pace(c)
  local store, key, rate, burst, timeout = c:_take()
  if store == nil then return c:_pace() end
  return c:_pace(true, store:take(key, rate, burst, timeout))
end

local function drive(c, op, id, fields, opts)
  local transport, sleep, on_attempt = c:_hooks()
  local t0 = c:_now()
  local attempts, relogged = 0, false
  local req, gen, err, info, gone, stop
  while true do
    if c:_needs_login() then
      stop = login(c, transport, sleep, op, t0)
      if stop then return stop[1], stop[2], stop[3] end
      req = nil
    end
    if not req then
      req, err, info = c:_request(op, id, fields, opts)
      if not req then return nil, err, info end
      gen = c:_token_gen()               -- the token req carries
    end
    local wait = pace(c)
    if wait > 0 then sleep(wait) end
    gone, err, info = closed(c, op, attempts, t0)
    if gone then return nil, err, info end
    attempts = attempts + 1
    local verdict, a, b, d = attempt(c, transport, on_attempt, req, op,
                                     attempts, t0, relogged, gen)
    if verdict == "retry" then
      sleep(a)
      gone, err, info = closed(c, op, attempts, t0)
      if gone then return nil, err, info end
    elseif verdict == "relogin" then
      relogged, req = true, nil
    else
      return a, b, d
    end
  end
end

-- The checks the C methods make, with their wording.
local function check(id, fields, name, pos)
  if id == nil then
    error(("bad argument #1 to '%s' (value expected)"):format(name), 3)
  end
  if pos and type(fields) ~= "table" then
    error(("bad argument #2 to '%s' (table expected, got %s)")
          :format(name, type(fields)), 3)
  end
end

function methods.update(c, id, fields, opts)
  check(id, fields, "update", true)
  return drive(c, "update", id, fields, opts)
end

function methods.get(c, id)
  check(id, nil, "get", false)
  return drive(c, "get", id)
end
