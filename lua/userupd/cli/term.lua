-- userupd.cli.term: what kind of progress stderr can take, and fitting a
-- line to the terminal's width.
--
--   term.mode(args, env, userupd) -> "redraw" | "lines" | "off"
--     redraw: a terminal that understands \r and erase-line: one line,
--             redrawn in place;
--     lines:  a file, a pipe, or TERM=dumb: a plain line every
--             --progress-every seconds (default 30), never a control code;
--     off:    --no-progress, or --progress-every 0 without a terminal.
--   term.width(env, userupd) -> columns (COLUMNS, else the terminal's,
--             else 80)
--   term.fit(parts, width) -> the parts that fit, joined
--
-- NO_COLOR (no-color.org) is honoured by never writing colour at all.
local term = {}

-- The default seconds between plain progress lines (docs/cli.md).
term.EVERY = 30

-- env: a function like os.getenv (tests pass their own).
local function is_dumb(env)
  local t = env("TERM")
  return t == nil or t == "" or t == "dumb"
end

function term.mode(args, env, userupd)
  env = env or os.getenv
  if args.no_progress then return "off" end
  local tty = userupd and userupd.isatty and userupd.isatty(2)
  if tty and not is_dumb(env) then return "redraw" end
  if args.progress_every == 0 and not args.progress then return "off" end
  return "lines"
end

function term.width(env, userupd)
  env = env or os.getenv
  local cols = tonumber(env("COLUMNS") or "")
  if cols and cols >= 10 then return math.floor(cols) end
  local w = userupd and userupd.term_width and userupd.term_width(2)
  return w or 80
end

-- parts: a list of { text, keep } where keep is a priority (higher stays
-- longer).  Drops the lowest-priority parts until the line is shorter than
-- width (the last column stays free: writing into it wraps some
-- terminals), keeping the order of the rest; a single part still too long
-- is cut.
function term.fit(parts, width, sep)
  sep = sep or "  "
  local live = {}
  for i, p in ipairs(parts) do live[i] = p end
  local function joined()
    local t = {}
    for _, p in ipairs(live) do t[#t + 1] = p[1] end
    return table.concat(t, sep)
  end
  local line = joined()
  while #line > width - 1 and #live > 1 do
    local low = 1
    for i, p in ipairs(live) do
      if p[2] <= live[low][2] then low = i end
    end
    table.remove(live, low)
    line = joined()
  end
  if #line > width - 1 then line = line:sub(1, math.max(width - 1, 1)) end
  return line
end

return term
