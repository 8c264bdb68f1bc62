-- userupd.cli.progress: one progress line on stderr, redrawn in place.
--
--   [=========>          ] 812/2,000  41%  5.0/s  ETA 3:58  ok 800 failed 2
--
-- The total comes from counting the file first; the ETA from the pace
-- measured so far, or the vendor's pace before there is one.  Error lines
-- go above it (util.err_line clears and redraws it), and the last line
-- drawn uses the same counts as the summary.
local util = require "userupd.cli.util"

local Progress = {}
Progress.__index = Progress

local progress = {}

-- opts: total (or nil), approx, pace (requests per second, 0 for none),
-- enabled.
function progress.new(opts)
  local self = setmetatable({ total = opts.total, approx = opts.approx,
    pace = opts.pace or 0, enabled = opts.enabled, t0 = util.now(),
    shown = false, last = -1, events = 0 }, Progress)
  if self.enabled then
    util.around_err = function(after) self:around(after) end
  end
  return self
end

local function seen_of(c)
  return c.ok + c.failed + c.invalid + c.unchanged + c.skipped + c.duplicate
end

local function bar(frac)
  local n = math.floor(20 * math.min(frac, 1))
  return "[" .. ("="):rep(n) .. (n < 20 and ">" or "") ..
         (" "):rep(math.max(19 - n, 0)) .. "]"
end

local function clock(secs)
  local floor = math.floor
  secs = floor(secs + 0.5)
  if secs >= 3600 then
    return ("%d:%02d:%02d"):format(floor(secs / 3600), floor(secs / 60) % 60,
                                   secs % 60)
  end
  return ("%d:%02d"):format(floor(secs / 60), secs % 60)
end

-- Requests per second so far, and the pace the ETA assumes.
function Progress:rates(c, now)
  local el = now - self.t0
  local sent = c.ok + c.failed
  local rate = el >= 1 and sent / el or nil
  local pace = (rate and el >= 3 and sent >= 3) and rate or self.pace
  return rate, pace
end

-- The text of the line for counts c.
function Progress:line(c, now)
  local seen, total = seen_of(c), self.total
  local rate, pace = self:rates(c, now)
  local parts = {}
  if total and total > 0 then
    parts[1] = ("%s %s/%s%s %3d%%"):format(bar(seen / total),
      util.thousands(seen), self.approx and "~" or "", util.thousands(total),
      math.floor(100 * math.min(seen / total, 1)))
  else
    parts[1] = util.thousands(seen) .. " rows"
  end
  parts[2] = rate and ("%.1f/s"):format(rate) or "-.-/s"
  local left = total and total - seen
  parts[3] = (left and pace > 0) and ("ETA " .. clock(math.max(left, 0) / pace))
             or "ETA --:--"
  parts[4] = ("ok %d"):format(c.ok)
  for _, k in ipairs({ "failed", "invalid", "unchanged", "skipped",
                       "duplicate" }) do
    if c[k] > 0 then parts[#parts + 1] = ("%s %d"):format(k, c[k]) end
  end
  return table.concat(parts, "  ")
end

function Progress:draw(c, final)
  if not self.enabled then return end
  local now = util.now()
  self.events = self.events + 1
  if not final and math.floor(now * 5) == self.last and self.events % 64 ~= 0
  then return end
  self.last = math.floor(now * 5)
  self.counts = c
  io.stderr:write("\r\027[K", self:line(c, now), final and "\n" or "")
  io.stderr:flush()
  self.shown = not final
end

-- Clears the line before an error line, redraws it after.
function Progress:around(after)
  if not after then
    if self.shown then io.stderr:write("\r\027[K") end
  elseif self.shown and self.counts then
    io.stderr:write(self:line(self.counts, util.now()))
    io.stderr:flush()
  end
end

-- The last line (the same counts as the summary); stops the hook.
function Progress:finish(c)
  if self.enabled then
    if self.total and self.approx then self.total = seen_of(c) end
    self:draw(c, true)
  end
  util.around_err = nil
end

-- "2,000 rows at QuestionPro's 5/s: about 7 min" before a long run.
function progress.estimate(total, pace, title, journal)
  if not total or not pace or pace <= 0 then return nil end
  local secs = total / pace
  if secs < 20 then return nil end
  return ("%s rows at %s's %s/s: about %s%s"):format(util.thousands(total),
    title, (("%g"):format(pace)), util.duration(secs),
    journal and ", less for rows the journal shows unchanged"
    or "")
end

return progress
