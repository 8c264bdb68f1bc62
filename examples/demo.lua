-- examples/demo.lua: a 300-user roster migrated into all five vendors.
--
--   make demo            (starts the sandbox, exports its settings, runs this)
--
-- By hand, from the repository root:
--
--   spec/sandbox/ctl start
--   eval "$(spec/sandbox/ctl env)"    # USERUPD_<VENDOR>_* credentials + base URLs
--   LUA_PATH='./lua/?.lua;;' LUA_CPATH='./?.so;;' lua5.4 examples/demo.lua
--
-- For each vendor it runs, and prints so you can copy and rerun it,
--
--   bin/userupd apply <vendor> --input examples/roster.csv
--           --map examples/map.lua --journal build/demo/<vendor>.db --rate 200
--
-- with the credentials and the sandbox's URL coming from the environment,
-- then reads three users back from the sandbox to show the change landed.
-- The journals stay in build/demo/ (a rerun of a printed command skips
-- what already succeeded; `bin/userupd failures --journal ...` lists the
-- rest).  Exits non-zero if anything other than the roster's three
-- deliberately bad rows went wrong.

local cli = require "userupd.cli"
local csv = require "userupd.csv"
local userupd = require "userupd"

local SANDBOX = arg[1] or os.getenv("USERUPD_SANDBOX_URL")
local JOURNALS = "build/demo"
local ROSTER, MAP = "examples/roster.csv", "examples/map.lua"
local VENDORS = { "smartermeasure", "thoughtindustries", "blackbaud",
                  "formsonfire", "questionpro" }

-- The roster's bad rows: line 42 has Gender "X" (SmarterMeasure takes M or
-- F), line 124 department "12a" (QuestionPro wants an integer), line 206 a
-- truncated UUID (Thought Industries' id).  Each is invalid for one vendor.
local EXPECTED_INVALID = { smartermeasure = 1, thoughtindustries = 1,
                           blackbaud = 0, formsonfire = 0, questionpro = 1 }

-- Users to read back: plain, a comma in the name, a quote in the name.
local SHOW = { S240001 = true, S240007 = true, S240012 = true }

-- Where each vendor's user object keeps the name and the email.
local KEYS = {
  first = { "FirstName", "firstName" },
  last = { "LastName", "lastName" },
  email = { "Email", "email", "emailAddress" },
}

local problems = 0

local function problem(fmt, ...)
  problems = problems + 1
  io.stderr:write("demo: ", fmt:format(...), "\n")
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- GET through the curl binary; returns the decoded JSON or nil, why.
local function get_json(url)
  local p = assert(io.popen("curl -sS -m 5 " .. shell_quote(url) ..
                            " 2>&1"))
  local body = p:read("*a")
  p:close()
  local value = userupd.json_decode(body)
  if type(value) ~= "table" then return nil, body end
  return value
end

local function check_counts(vendor, code, counts)
  local want_invalid = EXPECTED_INVALID[vendor]
  if not counts then
    return problem("%s: the run stopped (exit %s)", vendor, tostring(code))
  end
  if counts.failed ~= 0 then problem("%s: %d failed", vendor, counts.failed) end
  if counts.invalid ~= want_invalid then
    problem("%s: %d invalid, expected %d", vendor, counts.invalid, want_invalid)
  end
  if code ~= (want_invalid > 0 and 1 or 0) then
    problem("%s: exit status %s", vendor, tostring(code))
  end
end

local function apply(vendor)
  local journal = ("%s/%s.db"):format(JOURNALS, vendor)
  for _, suffix in ipairs({ "", "-wal", "-shm" }) do os.remove(journal .. suffix) end
  local argv = { "apply", vendor, "--input", ROSTER, "--map", MAP,
                 "--journal", journal,
                 -- The sandbox has no rate limit; the vendors' real
                 -- budgets (1/s for Thought Industries) would make the
                 -- demo take minutes.
                 "--rate", "200" }
  print(("\n== %s\n$ bin/userupd %s"):format(vendor, table.concat(argv, " ")))
  io.stdout:flush()
  local code, counts = cli.run(argv)
  check_counts(vendor, code, counts)
end

local function first_of(user, keys)
  for _, key in ipairs(keys) do
    if user[key] ~= nil then return tostring(user[key]) end
  end
  return "?"
end

-- Reads one user back and compares it with the roster row.
local function show_user(vendor, id, row)
  local url = ("%s/_sandbox/user/%s/%s"):format(SANDBOX, vendor, tostring(id))
  local user, why = get_json(url)
  if not user then return problem("%s %s: no user read back: %s", vendor, id, why) end
  local first, last = first_of(user, KEYS.first), first_of(user, KEYS.last)
  local email = first_of(user, KEYS.email)
  print(("  %-34s %s %s <%s>"):format(tostring(id), first, last, email))
  if first ~= row.first_name or last ~= row.last_name or email ~= row.email then
    problem("%s %s: read back %s %s <%s>, sent %s %s <%s>", vendor, id, first,
            last, email, row.first_name, row.last_name, row.email)
  end
end

local function read_back(vendor)
  local map = dofile(MAP)
  local reader = assert(csv.open(ROSTER))
  print("  read back from the sandbox:")
  for row in reader:rows() do
    if row and SHOW[row.sis_id] then show_user(vendor, (map(row, vendor)), row) end
  end
  reader:close()
end

-- The sandbox's settings must be in the environment, as a user's would.
local function check_environment()
  local missing = {}
  for _, var in ipairs({ "USERUPD_SANDBOX_URL", "USERUPD_QUESTIONPRO_API_KEY",
                         "USERUPD_QUESTIONPRO_BASE_URL" }) do
    if not os.getenv(var) then missing[#missing + 1] = var end
  end
  if #missing == 0 then return true end
  io.stderr:write("demo: ", table.concat(missing, ", "), " not set; run ",
                  "`make demo`, or first: eval \"$(spec/sandbox/ctl env)\"\n")
  return false
end

local function main()
  if not check_environment() then return 2 end
  if not get_json(SANDBOX .. "/_sandbox/ping") then
    io.stderr:write("demo: the sandbox does not answer at ", SANDBOX,
                    "; start it with spec/sandbox/ctl start\n")
    return 2
  end
  os.execute("mkdir -p " .. JOURNALS)
  print(("Migrating %s into five vendors on the sandbox at %s.\n"):format(
    ROSTER, SANDBOX))
  print("Credentials and the sandbox URL come from USERUPD_<VENDOR>_<OPTION>")
  print("variables. To rerun any command below yourself, from this directory:\n")
  print("  spec/sandbox/ctl start")
  print("  eval \"$(spec/sandbox/ctl env)\"")
  print("  export LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./?.so;;'")
  for _, vendor in ipairs(VENDORS) do
    apply(vendor)
    read_back(vendor)
  end
  if problems > 0 then
    print(("\ndemo: %d unexpected result(s), see above"):format(problems))
    return 1
  end
  print("\ndemo: all five vendors updated; the invalid rows above are the " ..
        "roster's deliberately bad ones")
  print(("Journals are in %s/: `bin/userupd failures --journal %s/" ..
         "questionpro.db` lists the bad row;"):format(JOURNALS, JOURNALS))
  print("rerunning a command above sends nothing new (every user already " ..
        "succeeded with that payload).")
  return 0
end

os.exit(main())
