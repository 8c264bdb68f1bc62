-- docs/cli.md shows a plan, a diff and a live preview as they print: this
-- runs the page's two nights on the sandbox and compares each block
-- marked <!-- plan-example NAME --> with what the command printed.
local sandbox = require "support.sandbox"
local cli = require "support.clirun"

local NIGHT1 = [[
student_id,first_name,last_name,email
100001,Ada,Lovelace,ada@district.example
100002,Alan,Turing,alan@district.example
100003,Grace,Hopper,grace@district.example
100004,Edsger,Dijkstra,edsger@district.example
100005,Barbara,Liskov,barbara@district.example
]]

local NIGHT2 = [[
student_id,first_name,last_name,email
100001,Ada,Lovelace,ada@district.example
100002,Alan,Turing,alan.turing@district.example
100003,Grace,Hopper-Murray,grace@district.example
100004,Edsger,Dijkstra,edsger@district.example
100005,Barbara,Liskov,barbara@district.example
100006,Katherine,Johnson,katherine@district.example
]]

-- The page's step-2 map, as printed there.
local MAP = [[
return function(row, vendor)
  return tonumber(row.student_id), {
    firstName = row.first_name,
    lastName = row.last_name,
    emailAddress = row.email,   -- blank cell: nil, so the field is left out
  }
end
]]

-- The block's command (after "$ userupd ") and its output.
local function block(name)
  local text = assert(cli.slurp("docs/cli.md"))
  local b = text:match("<!%-%- plan%-example " .. name ..
                       " %-%->\n```\n(.-)```\n<!%-%- end %-%->")
  assert.truthy(b, "docs/cli.md has no plan-example " .. name)
  local command, output = b:match("^%$ userupd ([^\n]*)\n(.*)$")
  return command, output
end

local function words(s)
  local t = {}
  for w in s:gmatch("%S+") do t[#t + 1] = w end
  return t
end

describe("docs/cli.md's plan, diff and preview", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  it("print as the page shows them", function()
    local dir = cli.tmp(".d")
    os.execute("mkdir -p " .. cli.q(dir))
    local env = { USERUPD_QUESTIONPRO_API_KEY = "k",
                  USERUPD_QUESTIONPRO_BASE_URL = sandbox.url() }
    local function run(command)
      local argv = words(command)
      for i, w in ipairs(argv) do
        if w:find("%.csv$") or w:find("%.lua$") or w:find("%.journal$") then
          argv[i] = dir .. "/" .. w
        end
      end
      argv.env = env
      return cli.run(argv)
    end
    cli.write(dir .. "/students.csv", NIGHT1)
    cli.write(dir .. "/students2.csv", NIGHT2)
    cli.write(dir .. "/map.lua", MAP)
    local r = run("apply questionpro --input students.csv --map map.lua " ..
                  "--journal questionpro.journal --no-progress")
    assert.are.equal(0, r.rc, r.err)
    local command, output = block("diff")
    r = run(command)
    assert.are.equal(0, r.rc, r.err)
    assert.are.equal(output, r.out)
    -- someone edits Alan's first name in the vendor's own UI
    sandbox.http("PUT", "/a/api/v2/users/100002?apiKey=k",
                 { json = { firstName = "Al" } })
    command, output = block("preview")
    r = run(command)
    assert.are.equal(0, r.rc, r.err)
    assert.are.equal(output, r.out)
    os.execute("rm -rf " .. cli.q(dir))
  end)
end)
