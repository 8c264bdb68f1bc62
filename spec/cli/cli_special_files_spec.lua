-- An output path that is not a regular file (/dev/null in a cron line, a
-- pipe) is never damaged: `userupd failures --output` writes into it
-- without truncating or chmod'ing it (as root, a chmod of /dev/null to
-- 0600 breaks every other program), and `apply --metrics-file`, which
-- renames PATH.tmp over PATH, refuses it as a usage error before any row
-- (renamed over, /dev/null became a regular file).  A pipe stands in for
-- the device; as root a copy of /dev/null's device node is tried too.
local cli = require "support.clirun"
local sandbox = require "support.sandbox"

local MAP = "return function(r) return tonumber(r.id), " ..
            "{ firstName = r.first } end"

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

local function kind(path)                    -- "fifo:644", "character...:666"
  return (sh("stat -c '%F:%a' " .. cli.q(path) .. " 2>/dev/null")
          :gsub("%s+$", ""))
end

-- Special files to try: a pipe always, a device node when root.
local function specials()
  local list = {}
  local fifo = cli.tmp(".fifo")
  sh("mkfifo -m 644 " .. cli.q(fifo))
  list[#list + 1] = fifo
  if sh("id -u"):match("^0") then
    local dev = cli.tmp(".dev")
    sh("mknod -m 666 " .. cli.q(dev) .. " c 1 3 2>/dev/null")
    if kind(dev):find("character") then list[#list + 1] = dev end
  end
  return list
end

describe("special files as outputs", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("--metrics-file that is not a regular file: usage error, untouched",
  function()
    for _, path in ipairs(specials()) do
      local before = kind(path)
      local r = cli.run{ "apply", "questionpro",
        "--input", cli.write(cli.tmp(".csv"), "id,first\n7501,Ann\n"),
        "--map", cli.write(cli.tmp(".lua"), MAP),
        "--base-url", sandbox.url(), "--metrics-file", path,
        env = { USERUPD_QUESTIONPRO_API_KEY = "special-key" } }
      assert.are.equal(2, r.rc, r.err)
      assert.matches("not a regular file", r.err, 1, true)
      assert.are.equal(before, kind(path))
      os.remove(path .. ".tmp")
    end
  end)

  it("failures --output into one: written, neither truncated nor chmod'ed",
  function()
    local journal = cli.tmp(".db")
    cli.run{ "apply", "questionpro",
      "--input", cli.write(cli.tmp(".csv"), "id,first\nN/A,Ann\n"),
      "--map", cli.write(cli.tmp(".lua"), "return function(r) return " ..
                         "tonumber(r.id) or r.id, { firstName = r.first } end"),
      "--journal", journal,
      "--base-url", sandbox.url(),
      env = { USERUPD_QUESTIONPRO_API_KEY = "special-key" } }
    for _, path in ipairs(specials()) do
      local before = kind(path)
      local got = cli.tmp(".got")
      if before:find("fifo") then                  -- a reader for the pipe
        sh("(timeout 20 cat " .. cli.q(path) .. " > " .. cli.q(got) ..
           " &)")
      end
      local r = cli.run{ "failures", "--journal", journal, "--output", path }
      assert.are.equal(0, r.rc, r.err)
      assert.are.equal(before, kind(path))
      if before:find("fifo") then
        for _ = 1, 100 do
          if (cli.slurp(got) or ""):find("N/A", 1, true) then break end
          sh("sleep 0.05")
        end
        assert.matches("N/A", cli.slurp(got) or "", 1, true)
      end
    end
  end)
end)
