-- userupd.progress: the one progress renderer, for the library's terminal
-- bar and for the command line: one line on stderr, redrawn in place.
--
--   [=========>          ] 812/2,000  41%  5.0/s  ETA 3:58  ok 800 failed 2
--
-- The library: client:update_many(source, { progress = true }) (or left
-- nil while stderr is a terminal) draws through progress.callback(), which
-- turns the run's on_progress stats into this line.  The command line
-- makes its own: progress.new{...}, then p:draw(counts), p:set_wait(secs,
-- why), p:finish(counts).
--
-- The total comes from counting the file first; the ETA from the pace
-- measured so far, or the vendor's pace before there is one.  Error lines
-- go above it (util.err_line clears and redraws it), and the last line
-- drawn uses the same counts as the summary.
local util = require "userupd.cli.util"
local term = require "userupd.cli.term"

local Progress = {}
Progress.__index = Progress

local progress = {}

-- opts: total (or nil), approx, pace (requests per second, 0 for none),
-- mode ("redraw", "lines" or "off": userupd.cli.term.mode), width (the
-- terminal's columns, for redraw), every (seconds between plain lines).
-- forced (--progress): a plain last line even for a short run.  enabled =
-- true is the old name of mode "redraw".
function progress.new(opts)
  local mode = opts.mode or (opts.enabled and "redraw" or "off")
  local self = setmetatable({ total = opts.total, approx = opts.approx,
    pace = opts.pace or 0, mode = mode, enabled = mode ~= "off",
    width = opts.width or 80, every = opts.every or 30, t0 = util.now(),
    shown = false, last = -1, events = 0, wait = nil,
    forced = opts.forced }, Progress)
  self.next_line = self.t0 + self.every
  if mode == "redraw" then
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

-- A wait longer than a second shows with its reason until it is over:
-- set_wait(seconds, "Retry-After from QuestionPro"), set_wait(nil).
function Progress:set_wait(secs, why)
  local now = util.now()
  self.wait = nil
  if secs and secs > 1 then self.wait = { till = now + secs, why = why } end
  if self.mode == "lines" and self.wait and now >= (self.quiet_till or 0)
  then                                   -- a log line, at most one in 5 s
    self.quiet_till = now + 5
    util.log_event("wait", ("waiting %d s: %s"):format(
      math.floor(secs + 0.5), why), { seconds = secs })
  elseif self.mode == "redraw" and self.counts then
    self:draw(self.counts, false, true)
  end
end

-- The parts of the line, each { text, keep }: on a narrow terminal the
-- lowest keep goes first (userupd.cli.term.fit).  The row count and a
-- wait stay longest, then the ETA, the failures, the rate, ok, the rest
-- of the counts, and the bar goes first.
function Progress:parts(c, now)
  local seen, total = seen_of(c), self.total
  local rate, pace = self:rates(c, now)
  local parts = {}
  if total and total > 0 then
    parts[1] = { bar(seen / total), 1 }
    parts[2] = { ("%s/%s%s %3d%%"):format(util.thousands(seen),
      self.approx and "~" or "", util.thousands(total),
      math.floor(100 * math.min(seen / total, 1))), 9 }
  else
    parts[1] = { util.thousands(seen) .. " rows", 9 }
  end
  parts[#parts + 1] = { rate and ("%.1f/s"):format(rate) or "-.-/s", 4 }
  local left = total and total - seen
  parts[#parts + 1] = { (left and pace > 0) and
    ("ETA " .. clock(math.max(left, 0) / pace)) or "ETA --:--", 6 }
  parts[#parts + 1] = { ("ok %s"):format(util.thousands(c.ok)), 3 }
  for _, k in ipairs({ "failed", "invalid", "unchanged", "skipped",
                       "duplicate" }) do
    if c[k] > 0 then
      parts[#parts + 1] = { ("%s %s"):format(k, util.thousands(c[k])),
                            k == "failed" and 5 or 2 }
    end
  end
  local w = self.wait
  if w and w.till > now then
    parts[#parts + 1] = { ("waiting %d s: %s"):format(
      math.ceil(w.till - now), w.why), 8 }
  end
  return parts
end

-- The text of the line for counts c (every part, whatever the width).
function Progress:line(c, now)
  local t = {}
  for i, p in ipairs(self:parts(c, now)) do t[i] = p[1] end
  return table.concat(t, "  ")
end

-- The plain line of a run without a terminal, every `every` seconds:
-- rows done, rate and ETA, for a log file (no control codes).
function Progress:plain(c, now)
  util.log_event("progress", "progress: " .. self:line(c, now):gsub(
    "^%[[=> ]*%]%s*", ""), { done = seen_of(c), total = self.total,
    ok = c.ok, failed = c.failed, invalid = c.invalid })
end

function Progress:draw(c, final, force)
  if self.mode == "off" then return end
  local now = util.now()
  self.counts = c
  if self.mode == "lines" then
    if final or now >= self.next_line then
      self.next_line = now + self.every
      self:plain(c, now)
    end
    return
  end
  self.events = self.events + 1
  if not (final or force) and math.floor(now * 5) == self.last and
     self.events % 64 ~= 0 then
    return
  end
  self.last = math.floor(now * 5)
  io.stderr:write("\r\027[K", term.fit(self:parts(c, now), self.width),
                  final and "\n" or "")
  io.stderr:flush()
  self.shown = not final
end

-- Clears the line before an error line, redraws it after.
function Progress:around(after)
  if not after then
    if self.shown then io.stderr:write("\r\027[K") end
  elseif self.shown and self.counts then
    io.stderr:write(term.fit(self:parts(self.counts, util.now()),
                             self.width))
    io.stderr:flush()
  end
end

-- The last line (the same counts as the summary); stops the hook.
function Progress:finish(c)
  if self.mode == "lines" and not self.forced and
     self.t0 + self.every > util.now() then
    self.mode = "off"                    -- a short run: the summary says it
  end
  if self.mode ~= "off" then
    if self.total and self.approx then self.total = seen_of(c) end
    self:draw(c, true)
  end
  util.around_err = nil
end

-- The counts of update_many's on_progress stats, as draw takes them.
local function counts_of(stats)
  return { ok = stats.ok or 0, failed = stats.failed or 0,
           invalid = stats.invalid or 0, unchanged = stats.unchanged or 0,
           skipped = stats.skipped or 0, duplicate = stats.duplicate or 0 }
end

-- A function for update_many's opts.on_progress that draws the bar on
-- stderr: a line redrawn in place on a terminal, nothing otherwise
-- (opts.mode: "redraw", "lines" or "off", as progress.new).  The module's
-- userupd.isatty and userupd.term_width say what stderr is.
function progress.callback(opts)
  opts = opts or {}
  local ok, uu = pcall(require, "userupd")
  uu = ok and type(uu) == "table" and uu or nil
  local mode = opts.mode or "redraw"
  local width = opts.width or term.width(os.getenv, uu)
  local p
  return function(stats)
    p = p or progress.new{ total = stats.total, mode = mode,
                           width = width, every = opts.every }
    if stats.waiting then
      p.wait = { till = util.now() + (stats.wait or 0),
                 why = stats.waiting }
    else
      p.wait = nil
    end
    if stats.final then
      p:finish(counts_of(stats))
    else
      p:draw(counts_of(stats))
    end
  end
end

-- "2,000 rows at QuestionPro's 5/s: about 7 min" before a long run.
function progress.estimate(total, pace, title, journal)
  if not total or not pace or pace <= 0 then return nil end
  local secs = total / pace
  if secs < 20 then return nil end
  return ("%s rows at %s %s/s: about %s%s"):format(util.thousands(total),
    util.possessive(title), (("%g"):format(pace)), util.duration(secs),
    journal and ", less for rows the journal shows unchanged"
    or "")
end

return progress
