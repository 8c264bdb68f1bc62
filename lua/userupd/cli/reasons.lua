-- userupd.cli.reasons: refused rows grouped by reason, so a systematic
-- mistake is one paragraph, not 1,724 identical lines (docs/cli.md).
--
--   local g = reasons.new(counts)          -- counts: userupd.cli.summary
--   g:row(text, reason)   -- one refused row: printed for the first
--                         -- reasons.SHOW rows of its reason, counted after
--   g:hint(text)          -- a hint about the whole file: printed once,
--                         -- repeated under the summary (g:tail)
--   g:flush()             -- "... and 1,721 more: <reason>" lines
--   g:table(out)          -- the by-reason table under the summary
--   reasons.key(msg)      -- a message without the row's own values
--   reasons.limit(spec)   -- parses --max-invalid ("N" or "N%")
--   g:over(limit)         -- the run must stop: the message why, or nil
local util = require "userupd.cli.util"

local reasons = {}

-- Rows printed per reason before the rest are only counted.
reasons.SHOW = 3
-- Reasons listed in the summary's table; the rest are counted together.
reasons.TABLE = 10
-- --max-invalid's default, and the rows read before a percentage counts
-- (so the first rows of a file decide only once there are enough).
reasons.DEFAULT_LIMIT = "50%"
reasons.MIN_ROWS = 20

-- The reason of a message: the same text for every row with the same
-- mistake.  Quoted values ("12a") become "..." (column names stay), so do
-- numbers of three or more digits (ids) and byte offsets, and line numbers
-- ("line 12") go.
function reasons.key(msg)
  msg = tostring(msg)
  msg = msg:gsub('()"[^"\n]*"', function(at)      -- a column name stays
    if msg:sub(at - 7, at - 1) ~= "column " then return '"..."' end
  end)
  msg = msg:gsub("%(byte %d+%)", "(byte N)")
  msg = msg:gsub("%f[%w]line %d+:? ?", "")
  msg = msg:gsub("%f[%w]%d%d%d+%f[^%w]", "N")
  return msg
end

local Group = {}
Group.__index = Group

function reasons.new(counts)
  return setmetatable({ counts = counts, shown = {}, hints = {},
                        hinted = {} }, Group)
end

-- One refused row.  text: its full line (printed while its reason has been
-- printed fewer than SHOW times); reason: its group (reasons.key of the
-- message when nil).
function Group:row(text, reason)
  local refused = self.counts.refused
  if refused then                   -- a map's message may quote a secret
    text = refused:redact_last(text)
    reason = reason and refused:redact_last(reason)
  end
  reason = util.one_line(reason or reasons.key(text))
  self.counts:reason(reason)
  local n = (self.shown[reason] or 0) + 1
  self.shown[reason] = n
  if n <= reasons.SHOW then util.err_line(text) end
end

function Group:hint(text)
  if self.hinted[text] then return end
  self.hinted[text] = true
  self.hints[#self.hints + 1] = text
  util.err_line("hint: " .. text)
end

-- After the last row: how many more each reason had.
function Group:flush()
  for _, reason in ipairs(self.counts:reason_list()) do
    local more = (self.counts.by_reason[reason] or 0) - reasons.SHOW
    if more > 0 then
      util.err_line(("... and %s more: %s"):format(util.thousands(more),
                                                   reason))
    end
  end
end

-- The summary's by-reason table (most rows first) and the hints again,
-- written with out (a line at a time).
function Group:table(out)
  local list = self.counts:reason_list()
  if #list > 0 then out("  by reason:") end
  for i, reason in ipairs(list) do
    if i > reasons.TABLE then
      local rest = 0
      for k = i, #list do rest = rest + self.counts.by_reason[list[k]] end
      out(("    %7s  (%d other reasons)"):format(util.thousands(rest),
                                                 #list - i + 1))
      break
    end
    out(("    %7s  %s"):format(util.thousands(self.counts.by_reason[reason]),
                             reason))
  end
  for _, h in ipairs(self.hints) do out("  hint: " .. h) end
end

-- --max-invalid: "N" (rows) or "N%" (of the rows read, once MIN_ROWS were
-- read).  A table { count = N } or { percent = P }, or nil and why.
function reasons.limit(spec)
  spec = tostring(spec)
  local p = spec:match("^(%d+%.?%d*)%%$")
  if p and tonumber(p) <= 100 then return { percent = tonumber(p) } end
  local n = spec:match("^%d+$")
  if n then return { count = tonumber(n) } end
  return nil, ("expected a number of rows or a percentage (50%%), got '%s'")
    :format(spec)
end

-- Why the run must stop now that `read` rows were read, or nil.
function Group:over(limit, read)
  local bad = self.counts.invalid
  if not limit or bad == 0 then return nil end
  local over
  if limit.count then
    over = bad > limit.count
  else
    over = read >= reasons.MIN_ROWS and 100 * bad > limit.percent * read
  end
  if not over then return nil end
  local top = self.counts:reason_list()[1]
  local why = ("%s of the %s rows read are invalid (--max-invalid %s)")
    :format(util.thousands(bad), util.thousands(read),
            limit.count and tostring(limit.count) or
              (("%g%%"):format(limit.percent)))
  if top then
    why = why .. (", most for: %s"):format(top)
  end
  return why
end

return reasons
