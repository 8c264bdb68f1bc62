-- spec/unit/cli_input_spec.lua: userupd.cli.input's check that a CSV file
-- which yielded no rows really holds no more than a header (issue 21
-- item 4: a file read as zero rows is an error, not a success).
local input = require "userupd.cli.input"

local scratch = {}
local function file(content)
  local path = os.tmpname()
  local fh = assert(io.open(path, "wb"))
  fh:write(content)
  fh:close()
  scratch[#scratch + 1] = path
  return path
end

describe("input.no_rows_problem", function()
  it("accepts a header alone, with or without blank lines", function()
    assert.is_nil(input.no_rows_problem(file("id,name\n")))
    assert.is_nil(input.no_rows_problem(file("id,name")))
    assert.is_nil(input.no_rows_problem(file("id,name\r\n\r\n  \n")))
  end)

  it("accepts a header whose quoted name spans lines", function()
    assert.is_nil(input.no_rows_problem(file('id,"first\nname"\n')))
  end)

  it("names lines after the header, whatever their line ends", function()
    assert.equal("the file has 2 lines after its header but no row was " ..
                 "read from them; check its line ends and --sep",
                 input.no_rows_problem(file("id,name\r1,Ada\r2,Bob\r")))
    assert.matches("has 1 lines after",
                   input.no_rows_problem(file("id,name\n1,Ada")), 1, true)
  end)

  it("has nothing to say about standard input", function()
    assert.is_nil(input.no_rows_problem("-"))
  end)
end)

teardown(function()
  for _, path in ipairs(scratch) do os.remove(path) end
end)
