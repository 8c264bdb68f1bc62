-- /_slow/<ms>/smartermeasure/...: the canned SmarterMeasure answer of
-- /_fast/ (same bytes), sent <ms> milliseconds after the request arrived.
-- A stand-in for a real vendor's latency in the HTTPS benchmark: no
-- validation, no state, only a timer and the body read.
local M = {}

-- luacheck: push ignore 631 (the answer is one line, as the vendor sends it)
local ANSWER = ([==[
{"UserId":"10000001","FirstName":"Alice","LastName":"Carter","Email":"alice.carter@example.com","InternalId":"STU-001","AccessCode":"Xk9mPqRt","HowManyCourses":[],"AgeRange":[],"Gender":[],"CompletionPercentage":"0","DateTimeStarted":"2026-03-20T18:40:08Z","DateTimeLastUpdated":"2026-06-09T20:47:42Z","DateTimeCompleted":[],"Uri":"/users/10000001","CustomData":[{"QuestionId":"611","ParameterId":"coid","Response":[]},{"QuestionId":"612","ParameterId":"dcc","Response":[]},{"QuestionId":"1972","ParameterId":"custom_canvas_user_id","Response":[]},{"QuestionId":"2172","ParameterId":"SessionSid","Response":[]}]}
]==]):gsub("%s+$", "")
-- luacheck: pop

function M.handle(ms)
  ms = tonumber(ms) or 0
  if ms > 10000 then ms = 10000 end
  ngx.req.read_body()                  -- a client may wait for it to drain
  if ms > 0 then ngx.sleep(ms / 1000) end
  ngx.header["Content-Type"] = "application/json"
  ngx.header["X-Request-Id"] = ngx.var.request_id
  ngx.print(ANSWER)
end

return M
